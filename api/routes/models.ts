// /v1/models: the registry as users see it (versions, aliases, history, lineage) and ops' rollback.
import { Type } from '@sinclair/typebox';
import { actorOf, STAFF_READERS } from '../auth/principal.js';
import { getModelDetail, getModelInput, listModelSummaries, rollbackProduction } from '../models/models-service.js';
import type { ServingProvider } from '../models/serving-provider.js';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteDeps } from '../route-plugin.js';
import { ModelName } from '../../workflows/contracts/run-spec.js';
import { ErrorRef, PgPositiveInteger } from '../schemas.js';
import { signalProductionChanged } from '../../monitoring/monitor-client.js';
import { LatestMonitoringReport } from './monitoring-schemas.js';
import { productionAt } from '../models/production-at.js';
import { parseQueryTime } from '../audit/query-time.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Metrics = Type.Record(Type.String(), Type.Unknown());

const ModelSummary = Type.Object({
  name: Type.String(),
  task: Type.String(),
  target: Type.String(),
  productionVersion: Nullable(Type.Integer()),
  latestVersion: Nullable(Type.Integer()),
  versionCount: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

const VersionView = Type.Object({
  version: Type.Integer(),
  status: Type.String({ description: 'pending_approval | approved | rejected | expired | deployed | retired | deploy_failed' }),
  trainer: Type.String(),
  artifactSha256: Type.String(),
  metrics: Metrics,
  params: Metrics,
  createdAt: Type.String({ format: 'date-time' }),
  input: Nullable(
    Type.Object(
      {
        rawRows: Type.Boolean({ description: 'whether predict takes raw source rows ({ rows }) for this version' }),
        sourceColumns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
      },
      { description: "The source columns (DuckDB types) a raw row carries; null for versions without a serving recipe" },
    ),
  ),
  lineage: Type.Object({
    runId: Type.String(),
    snapshotSha256: Type.String(),
    parentVersion: Nullable(Type.Integer({ description: 'The champion this version was compared with.' })),
    evaluationReportId: Nullable(Type.String()),
  }),
  evaluation: Nullable(
    Type.Object({
      id: Type.String(),
      gatesPassed: Type.Boolean(),
      candidateMetrics: Metrics,
      champion: Nullable(Type.Object({ version: Type.Integer(), metrics: Metrics })),
      championSkipped: Nullable(Type.String()),
      deltas: Metrics,
      failedGates: Type.Array(Type.String()),
      gates: Type.Array(Type.Unknown()),
      parity: Type.Unknown(),
      challengerNoWorse: Nullable(Type.Boolean()),
      holdoutRows: Nullable(Type.Integer()),
    }),
  ),
});

const ModelDetail = Type.Object({
  name: Type.String(),
  task: Type.String(),
  target: Type.String(),
  featureSchema: Type.Unknown(),
  createdAt: Type.String({ format: 'date-time' }),
  aliases: Type.Array(Type.Object({ alias: Type.String(), version: Type.Integer(), updatedAt: Type.String({ format: 'date-time' }) })),
  versions: Type.Array(VersionView),
  history: Type.Array(
    Type.Object({
      alias: Type.String(),
      action: Type.String({ description: 'deploy | rollback | revert' }),
      fromVersion: Nullable(Type.Integer()),
      toVersion: Nullable(Type.Integer()),
      actor: Type.String(),
      reason: Nullable(Type.String()),
      runId: Nullable(Type.String()),
      at: Type.String({ format: 'date-time' }),
    }),
    { description: 'Alias moves, newest first.' },
  ),
  monitoring: Type.Object({
    latestReport: Nullable(LatestMonitoringReport),
  }),
});

const RollbackBody = Type.Object(
  {
    version: PgPositiveInteger(),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    expectedProduction: Type.Optional(
      Type.Union([PgPositiveInteger(), Type.Null()], {
        description: 'roll back only if production is this version now (null: none); otherwise 409 PRODUCTION_MOVED and nothing changes',
      }),
    ),
  },
  { additionalProperties: false },
);

const RollbackResult = Type.Object({
  model: Type.String(),
  alias: Type.String(),
  version: Type.Integer(),
  previousVersion: Nullable(Type.Integer()),
  at: Type.String({ format: 'date-time' }),
});

const ProductionAt = Type.Object({
  model: Type.String(),
  at: Type.String({ format: 'date-time' }),
  version: Type.Integer(),
  since: Type.String({ format: 'date-time', description: 'When production moved to this version.' }),
  how: Type.String({ description: 'deploy | rollback | revert' }),
  deployedBy: Type.String(),
  reason: Nullable(Type.String()),
  fromVersion: Nullable(Type.Integer()),
  runId: Type.String({ description: 'The run that trained the version.' }),
  snapshotSha256: Type.String({ description: 'The training data snapshot.' }),
  artifactSha256: Type.String(),
  approval: Nullable(
    Type.Object({
      decision: Type.String({ description: 'approve | auto_approve | …' }),
      reviewer: Type.String(),
      reviewerKeyId: Nullable(Type.String()),
      comment: Nullable(Type.String()),
      at: Type.String({ format: 'date-time' }),
    }),
  ),
});

/** The usual route deps plus the serving cache (predict and rollback need it). */
export type ModelRouteDeps = RouteDeps & { serving: ServingProvider };
export type ModelRoutePlugin = FastifyPluginAsyncTypebox<ModelRouteDeps>;

const modelRoutes: ModelRoutePlugin = async (app, { db, serving, temporal, config }) => {
  app.get(
    '/v1/models',
    {
      config: { roles: STAFF_READERS },
      schema: {
        tags: ['models'],
        summary: 'List registered models with their production version',
        response: { 200: Type.Object({ models: Type.Array(ModelSummary) }) },
      },
    },
    async () => ({ models: await listModelSummaries(db) }),
  );

  app.get(
    '/v1/models/:name',
    {
      config: { roles: STAFF_READERS },
      schema: {
        tags: ['models'],
        summary: 'A model: versions (status, metrics, params, lineage, evaluation), aliases and their history',
        params: Type.Object({ name: ModelName }),
        response: { 200: ModelDetail, 400: ErrorRef, 404: ErrorRef },
      },
    },
    async (request) => getModelDetail(db, request.params.name),
  );

  app.get(
    '/v1/models/:name/input',
    {
      // Predict callers need the input contract; it holds no URLs, SQL, profiles or category values.
      config: { roles: ['predict', ...STAFF_READERS] },
      schema: {
        tags: ['models'],
        summary: "What predict takes: the production version, whether it takes raw source rows, their columns and types, the features",
        params: Type.Object({ name: ModelName }),
        response: {
          200: Type.Object({
            model: Type.String(),
            task: Type.String(),
            version: Nullable(Type.Integer()),
            input: Nullable(Type.Object({ rawRows: Type.Boolean(), sourceColumns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })) })),
            features: Type.Array(Type.Object({ name: Type.String(), kind: Type.String() })),
          }),
          400: ErrorRef,
          404: ErrorRef,
        },
      },
    },
    async (request) => getModelInput(db, request.params.name),
  );

  app.get(
    '/v1/models/:name/production',
    {
      config: { roles: STAFF_READERS },
      schema: {
        tags: ['models'],
        summary: 'What was serving at a moment: version, since when, deployed by, approved by, run, snapshot',
        params: Type.Object({ name: ModelName }),
        querystring: Type.Object(
          { at: Type.Optional(Type.String({ description: 'ISO 8601 time with a zone; default now.' })) },
          { additionalProperties: false },
        ),
        response: { 200: ProductionAt, 400: ErrorRef, 404: ErrorRef },
      },
    },
    async (request) => productionAt(db, request.params.name, parseQueryTime('at', request.query.at) ?? new Date()),
  );

  app.post(
    '/v1/models/:name/rollback',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['models'],
        summary: 'Point production back to an earlier approved (or previously deployed) version',
        params: Type.Object({ name: ModelName }),
        body: RollbackBody,
        response: { 200: RollbackResult, 400: ErrorRef, 404: ErrorRef, 409: ErrorRef, 422: ErrorRef },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const result = await rollbackProduction(db, serving, {
        model: request.params.name,
        version: request.body.version,
        reason: request.body.reason,
        expectedProduction: request.body.expectedProduction,
        actor,
      });
      // After the rollback committed: the monitor reports on the version that now serves.
      if (temporal) {
        const change = { model: result.model, version: result.version, action: 'rollback' as const, runId: null, actor: actor.actor };
        await signalProductionChanged(temporal.client, change, config.taskQueues.pipeline).catch((error: unknown) =>
          request.log.warn({ err: error, model: result.model }, 'the monitor could not be told of the rollback'),
        );
      }
      return result;
    },
  );
};

export default modelRoutes;
