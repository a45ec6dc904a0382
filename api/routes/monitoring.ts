// /v1/models/:name/monitoring: the drift and performance reports (any role but predict) and the policy (ops).
import { Type } from '@sinclair/typebox';
import { actorOf, STAFF_READERS } from '../auth/principal.js';
import {
  getMonitoringPolicyView,
  listMonitoringReportViews,
  setMonitoringPolicy,
} from '../monitoring/monitoring-service.js';
import { defineRoutes } from '../route-plugin.js';
import { ModelName } from '../../workflows/contracts/run-spec.js';
import { ErrorRef, QueryInteger } from '../schemas.js';
import type { MonitoringPolicyInput } from '../../monitoring/policy.js';
import { MonitoringPolicyBody, MonitoringPolicyView, MonitoringReportView } from './monitoring-schemas.js';

export default defineRoutes(async (app, { db, temporal }) => {
  app.get(
    '/v1/models/:name/monitoring',
    {
      config: { roles: STAFF_READERS },
      schema: {
        tags: ['monitoring'],
        summary: "A model's monitoring reports (newest first) whose window ends in [from, to], and the policy in force",
        params: Type.Object({ name: ModelName }),
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
            limit: Type.Optional(QueryInteger),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ model: Type.String(), policy: MonitoringPolicyView, reports: Type.Array(MonitoringReportView) }),
          400: ErrorRef,
          404: ErrorRef,
        },
      },
    },
    async (request) => {
      const limit = Math.min(Number(request.query.limit ?? 100), 1000);
      const { model, reports } = await listMonitoringReportViews(db, { model: request.params.name, from: request.query.from, to: request.query.to, limit });
      return { model, policy: await getMonitoringPolicyView(db, model), reports };
    },
  );

  app.put(
    '/v1/models/:name/monitoring',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['monitoring'],
        summary: 'Set the monitoring policy: interval, minRows, thresholds, cooldown, retrain on drift (absent fields take the defaults)',
        params: Type.Object({ name: ModelName }),
        body: MonitoringPolicyBody,
        response: { 200: MonitoringPolicyView, 400: ErrorRef, 404: ErrorRef },
      },
    },
    async (request) =>
      setMonitoringPolicy(
        { db, client: temporal?.client, log: request.log },
        { model: request.params.name, policy: request.body as MonitoringPolicyInput, actor: actorOf(request) },
      ),
  );
});
