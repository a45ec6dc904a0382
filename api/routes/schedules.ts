// /v1/schedules: nightly retrains as Temporal Schedules (Keel's own only: the `keel-` id prefix). Engineers create;
// the owner or ops delete; ops pause, resume, trigger.
import { Type } from '@sinclair/typebox';
import { RunSpecSchema } from '../../workflows/contracts/run-spec.js';
import { actorOf, principalOf, STAFF_READERS } from '../auth/principal.js';
import { KeelError } from '../../errors/keel-error.js';
import { defineRoutes } from '../route-plugin.js';
import {
  changeSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  type SchedulesDeps,
} from '../schedules/schedules-service.js';
import { BODY_LIMITS } from '../body-limits.js';
import { ErrorRef } from '../schemas.js';

const ScheduleId = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$' });

const ScheduleView = Type.Object({
  id: Type.String(),
  cron: Type.Array(Type.String()),
  model: Type.Union([Type.String(), Type.Null()]),
  paused: Type.Boolean(),
  note: Type.Union([Type.String(), Type.Null()]),
  nextRunAt: Type.Array(Type.String()),
  recentRuns: Type.Array(Type.Object({ workflowId: Type.String(), scheduledAt: Type.String() })),
});

const CreateScheduleBody = Type.Object(
  {
    id: ScheduleId,
    cron: Type.String({ minLength: 1, maxLength: 200, description: 'e.g. "0 2 * * *" for 02:00 UTC nightly' }),
    run: RunSpecSchema,
  },
  { additionalProperties: false },
);

export default defineRoutes(async (app, { db, temporal, config }) => {
  const deps = (): SchedulesDeps => {
    if (!temporal) throw new KeelError('TEMPORAL_UNAVAILABLE', 'Temporal is not configured for this API process');
    return { db, client: temporal.client, taskQueues: config.taskQueues };
  };

  app.post(
    '/v1/schedules',
    {
      config: { roles: ['engineer'] },
      bodyLimit: BODY_LIMITS.runSpec,
      schema: {
        tags: ['schedules'],
        summary: 'Create a retrain schedule (overlapping runs are skipped)',
        body: CreateScheduleBody,
        response: { 201: ScheduleView, 400: ErrorRef, 409: ErrorRef },
      },
    },
    async (request, reply) => {
      const view = await createSchedule(deps(), {
        id: request.body.id,
        cron: request.body.cron,
        run: request.body.run,
        principal: principalOf(request),
        role: actorOf(request).role,
        requestId: request.id,
      });
      return reply.status(201).send(view);
    },
  );

  app.get(
    '/v1/schedules',
    {
      config: { roles: STAFF_READERS },
      schema: { tags: ['schedules'], summary: 'List schedules', response: { 200: Type.Object({ schedules: Type.Array(ScheduleView) }) } },
    },
    async () => ({ schedules: await listSchedules(deps()) }),
  );

  app.get(
    '/v1/schedules/:id',
    {
      config: { roles: STAFF_READERS },
      schema: { tags: ['schedules'], params: Type.Object({ id: ScheduleId }), response: { 200: ScheduleView, 404: ErrorRef } },
    },
    async (request) => describeSchedule(deps(), request.params.id),
  );

  app.post(
    '/v1/schedules/:id/:action',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['schedules'],
        summary: 'Pause, unpause or trigger a schedule now',
        params: Type.Object({
          id: ScheduleId,
          action: Type.Union([Type.Literal('pause'), Type.Literal('unpause'), Type.Literal('trigger')]),
        }),
        response: { 200: ScheduleView, 404: ErrorRef },
      },
    },
    async (request) => {
      const { role, requestId } = actorOf(request);
      return changeSchedule(deps(), { id: request.params.id, action: request.params.action, principal: principalOf(request), role, requestId });
    },
  );

  app.delete(
    '/v1/schedules/:id',
    {
      // Its owner (an engineer) or ops; the service refuses another engineer (403).
      config: { roles: ['engineer', 'ops'] },
      schema: { tags: ['schedules'], params: Type.Object({ id: ScheduleId }), response: { 204: Type.Null(), 404: ErrorRef } },
    },
    async (request, reply) => {
      const { role, requestId } = actorOf(request);
      await deleteSchedule(deps(), { id: request.params.id, principal: principalOf(request), role, requestId });
      return reply.status(204).send(null);
    },
  );
});
