// /v1/runs: engineers start and cancel pipeline runs, reviewers decide, anyone with a key reads.
import { Type } from '@sinclair/typebox';
import { ReviewBodySchema } from '../../workflows/contracts/review.js';
import { RunSpecSchema } from '../../workflows/contracts/run-spec.js';
import { actorOf, principalOf, STAFF_READERS } from '../auth/principal.js';
import { isKeelError, KeelError } from '../../errors/keel-error.js';
import { defineRoutes } from '../route-plugin.js';
import { auditingRefusal } from '../audit/audit-refusal.js';
import {
  cancelRun,
  getRunDetail,
  listRuns,
  REVIEW_RETRY_AFTER_SECONDS,
  reviewRun,
  startRun,
  type RunsDeps,
} from '../runs/runs-service.js';
import { BODY_LIMITS } from '../body-limits.js';
import { ErrorRef, QueryInteger } from '../schemas.js';

const RunId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,200}$' });

const StartedRun = Type.Object({
  id: Type.String(),
  status: Type.String(),
  stage: Type.String(),
  model: Type.String(),
  workflowId: Type.String(),
});

const RunSummary = Type.Object({
  id: Type.String(),
  model: Type.String(),
  status: Type.String(),
  stage: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  requestedBy: Type.Union([Type.String(), Type.Null()]),
  scheduleId: Type.Union([Type.String(), Type.Null()]),
  modelVersion: Type.Union([Type.Integer(), Type.Null()]),
  snapshotSha256: Type.Union([Type.String(), Type.Null()]),
  workflowId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const ReviewResultSchema = Type.Object({
  id: Type.String(),
  decision: Type.String(),
  reviewer: Type.String(),
  comment: Type.Optional(Type.String()),
  decidedAt: Type.String(),
});

export default defineRoutes(async (app, { db, temporal, config }) => {
  const deps = (): RunsDeps => {
    if (!temporal) throw new KeelError('TEMPORAL_UNAVAILABLE', 'Temporal is not configured for this API process');
    return { db, client: temporal.client, taskQueues: config.taskQueues, reviewDeadlineMs: config.reviewTimeoutMs, signingKey: config.signingKey };
  };

  app.post(
    '/v1/runs',
    {
      config: { roles: ['engineer'] },
      bodyLimit: BODY_LIMITS.runSpec,
      schema: {
        tags: ['runs'],
        summary: 'Start a pipeline run (Idempotency-Key honoured)',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: RunSpecSchema,
        response: { 201: StartedRun, 400: ErrorRef, 422: ErrorRef },
      },
    },
    async (request, reply) => {
      const { role, requestId } = actorOf(request);
      const { run, replayed } = await startRun(deps(), {
        spec: request.body,
        principal: principalOf(request),
        role,
        requestId,
        idempotencyKey: request.headers['idempotency-key'],
      });
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.status(201).send({ id: run.id, status: run.status, stage: run.stage, model: run.model, workflowId: run.workflowId });
    },
  );

  app.get(
    '/v1/runs',
    {
      config: { roles: STAFF_READERS },
      schema: {
        tags: ['runs'],
        summary: 'List runs, newest first',
        querystring: Type.Object(
          {
            model: Type.Optional(Type.String({ maxLength: 63 })),
            status: Type.Optional(Type.String({ maxLength: 40 })),
            limit: Type.Optional(QueryInteger),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ runs: Type.Array(RunSummary) }), 400: ErrorRef },
      },
    },
    async (request) => {
      const limit = Math.min(Number(request.query.limit ?? 50), 500);
      return { runs: await listRuns(db, { model: request.query.model, status: request.query.status, limit }) };
    },
  );

  app.get(
    '/v1/runs/:id',
    {
      config: { roles: STAFF_READERS },
      schema: {
        tags: ['runs'],
        summary: 'A run with its stage, timings, validation and evaluation reports and model version',
        params: Type.Object({ id: RunId }),
        response: { 404: ErrorRef },
      },
    },
    async (request) => getRunDetail(deps(), request.params.id),
  );

  app.post(
    '/v1/runs/:id/review',
    {
      config: { roles: ['reviewer'] },
      schema: {
        tags: ['runs'],
        summary: "Approve or reject a run awaiting review (reviewer role; never by the requester's user, whatever key)",
        params: Type.Object({ id: RunId }),
        body: ReviewBodySchema,
        response: { 200: ReviewResultSchema, 403: ErrorRef, 404: ErrorRef, 409: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => {
      const refusal = { action: 'run.review', subject: `run:${request.params.id}`, details: { decision: request.body.decision } };
      try {
        const result = await auditingRefusal(db, request, refusal, () =>
          reviewRun(deps(), {
          id: request.params.id,
          decision: request.body.decision,
          comment: request.body.comment,
          principal: principalOf(request),
          }),
        );
        return { id: request.params.id, ...result };
      } catch (error) {
        // No worker took the review: tell the client when a retry is worth it (the error handler sends the 503).
        if (isKeelError(error) && error.code === 'NO_WORKER') void reply.header('Retry-After', String(REVIEW_RETRY_AFTER_SECONDS));
        throw error;
      }
    },
  );

  app.post(
    '/v1/runs/:id/cancel',
    {
      config: { roles: ['engineer', 'ops'] },
      schema: {
        tags: ['runs'],
        summary: 'Cancel a run; a running activity stops at its next heartbeat',
        params: Type.Object({ id: RunId }),
        response: { 202: Type.Object({ id: Type.String(), cancelRequested: Type.Boolean() }), 404: ErrorRef, 409: ErrorRef },
      },
    },
    async (request, reply) => {
      const { role, requestId } = actorOf(request);
      await cancelRun(deps(), { id: request.params.id, principal: principalOf(request), role, requestId });
      return reply.status(202).send({ id: request.params.id, cancelRequested: true });
    },
  );
});
