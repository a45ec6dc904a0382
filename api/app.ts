// Builds the Fastify app: plugins first, then one `register` line per feature's route file.
import { randomUUID } from 'node:crypto';
import type { Client, Connection } from '@temporalio/client';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { KeelConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { lazyRequestLogger, OneLineRequestLog } from './access-log.js';
import { registerAuth } from './auth/auth-plugin.js';
import { ErrorResponse, registerErrorHandling } from './errors.js';
import { registerJsonBodyParser } from './json-body-parser.js';
import { BODY_LIMITS } from './body-limits.js';
import { registerHttpProtection } from './http-protection.js';
import { createMetricsRegistry, registerHttpMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { registerRouteRoleMatrix } from './route-role-matrix.js';
import { registerStorableTextCheck } from './storable-text.js';
import type { RouteDeps } from './route-plugin.js';
import healthRoutes from './routes/health.js';
import keyRoutes from './routes/keys.js';
import runRoutes from './routes/runs.js';
import scheduleRoutes from './routes/schedules.js';
import modelRoutes from './routes/models.js';
import predictRoutes from './routes/predict.js';
import { AJV_CUSTOM_OPTIONS } from './ajv-options.js';
import predictionLogRoutes from './routes/predictions.js';
import feedbackRoutes from './routes/feedback.js';
import monitoringRoutes from './routes/monitoring.js';
import approvalPolicyRoutes from './routes/approval-policy.js';
import auditRoutes from './audit/audit-routes.js';
import datasetRoutes from './routes/datasets.js';
import uiRoutes from './ui/ui-routes.js';
import { createServingProvider } from './models/serving-provider.js';
import type { ServingDeps } from '../serving/serving-deps.js';

export interface AppDeps {
  config: KeelConfig;
  db: Db;
  pool: pg.Pool;
  /** Absent → /readyz reports Temporal as not configured (503). */
  temporal?: { client: Client; connection: Connection };
  /** A pino logger, or Fastify logger options; default: pino at config.logLevel. */
  logger?: FastifyBaseLogger | FastifyServerOptions['logger'];
  /** Default: a fresh registry with the process metrics. */
  metricsRegistry?: Registry;
  /** How long a verified API key is trusted before re-checking Postgres (default 5 s). */
  keyCacheTtlMs?: number;
  /** Lookups of not yet proven API keys that may wait at once before the rest are answered 503 (default 1,000). */
  maxWaitingKeyLookups?: number;
  /** Largest accepted request body in bytes for routes without their own limit (default BODY_LIMITS.default). */
  bodyLimit?: number;
  /** The model cache for predictions and rollbacks (owner closes it); absent → created on first use from config, closed with the app. */
  serving?: ServingDeps;
}

export type KeelApp = FastifyInstance;

export async function buildApp(deps: AppDeps): Promise<KeelApp> {
  const loggerOption =
    deps.logger === undefined
      ? { logger: { level: deps.config.logLevel, redact: ['req.headers.authorization'] } }
      : isLoggerInstance(deps.logger)
        ? { loggerInstance: deps.logger }
        : { logger: deps.logger };
  const app = Fastify({
    ...loggerOption,
    logController: new OneLineRequestLog(),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: deps.bodyLimit ?? BODY_LIMITS.default,
    // A client that trickles its request (slowloris) or idles on a connection does not hold it forever.
    requestTimeout: deps.config.requestTimeoutMs,
    connectionTimeout: deps.config.connectionTimeoutMs,
    // Node checks those timeouts every 30 s by default, so a trickled request could outlive its timeout by that much.
    http: { connectionsCheckingInterval: Math.min(1_000, deps.config.requestTimeoutMs) },
    // Unique across replicas and restarts: audit rows carry it, so a row leads to the request's log lines.
    genReqId: () => randomUUID(),
    ajv: { customOptions: AJV_CUSTOM_OPTIONS },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Plugins: order matters (the route × role matrix, auth and OpenAPI hook onRoute, so they precede every route).
  registerRouteRoleMatrix(app);
  app.addSchema(ErrorResponse);
  registerErrorHandling(app);
  registerJsonBodyParser(app);
  registerStorableTextCheck(app);
  await registerHttpProtection(app, deps.config);
  const metricsRegistry = deps.metricsRegistry ?? createMetricsRegistry();
  registerHttpMetrics(app, metricsRegistry);
  const { cache: keyCache, verifyPastedKey } = registerAuth(app, {
    db: deps.db,
    cacheTtlMs: deps.keyCacheTtlMs,
    maxWaitingLookups: deps.maxWaitingKeyLookups,
    configuredKey: deps.config.adminKey,
    metricsRegistry,
  });
  await registerOpenApi(app);

  // Routes: one line per feature file in api/routes/.
  const routeDeps: RouteDeps = {
    config: deps.config,
    db: deps.db,
    pool: deps.pool,
    temporal: deps.temporal,
    metricsRegistry,
    keyCache,
    verifyPastedKey,
  };
  await app.register(healthRoutes, routeDeps);
  await app.register(keyRoutes, routeDeps);
  await app.register(runRoutes, routeDeps);
  await app.register(scheduleRoutes, routeDeps);
  await app.register(auditRoutes, routeDeps);
  const serving = createServingProvider({ ...deps, logger: app.log });
  // Closes the cache only if the provider made it; a cache passed in is closed by whoever created it.
  app.addHook('onClose', () => serving.close());
  await app.register(modelRoutes, { ...routeDeps, serving });
  await app.register(predictRoutes, { ...routeDeps, serving });
  await app.register(predictionLogRoutes, { ...routeDeps, serving });
  await app.register(feedbackRoutes, { ...routeDeps, serving });
  await app.register(monitoringRoutes, routeDeps);
  await app.register(approvalPolicyRoutes, routeDeps);
  await app.register(datasetRoutes, routeDeps);
  await app.register(uiRoutes, routeDeps);

  return app;
}

function isLoggerInstance(logger: unknown): logger is FastifyBaseLogger {
  return typeof logger === 'object' && logger !== null && typeof (logger as FastifyBaseLogger).child === 'function';
}
