// Liveness, readiness and Prometheus metrics: public, no key needed.
import { Type } from '@sinclair/typebox';
import { Connection } from '@temporalio/client';
import type pg from 'pg';
import type { TemporalHandle } from '../route-plugin.js';
import { defineRoutes } from '../route-plugin.js';

const CHECK_TIMEOUT_MS = 2_000;

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Object({ postgres: Check, temporal: Check }),
});

interface CheckResult {
  ok: boolean;
  error?: string;
}

async function checkWithTimeout(work: () => Promise<unknown>, what: string): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([work(), timeout]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: `${what}: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

export function checkPostgres(pool: pg.Pool): Promise<CheckResult> {
  return checkWithTimeout(() => pool.query('select 1'), 'postgres');
}

/**
 * Probes Temporal's health service once, with a deadline. Pass a probe connection without the SDK's
 * retry interceptor (see `createProbeConnection`): with retries, a down server reads as a slow
 * DEADLINE_EXCEEDED instead of a prompt "connection refused".
 */
export async function checkTemporal(connection: Connection | undefined): Promise<CheckResult> {
  if (!connection) return { ok: false, error: 'no Temporal connection configured' };
  try {
    const { status } = await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
      connection.healthService.check({}),
    );
    // grpc.health.v1 ServingStatus: 1 = SERVING.
    return status === 1 ? { ok: true } : { ok: false, error: `temporal: health status ${String(status)}, not SERVING` };
  } catch (error) {
    return { ok: false, error: `temporal: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** A second, lazily dialled channel to the same server (same TLS, metadata, API key), with no retries. */
export function createProbeConnection(temporal: TemporalHandle): Connection {
  // The options hold the TLS credentials the SDK built and the API key it refuses next to them: pass the key as the
  // header it stands for (TEMPORAL_API_KEY would otherwise make this throw, and the API fail to start).
  const { apiKey, ...options } = temporal.connection.options as typeof temporal.connection.options & { apiKey?: string | (() => string) };
  const authorization = typeof apiKey === 'function' ? apiKey() : apiKey;
  return Connection.lazy({
    ...options,
    interceptors: [],
    ...(authorization ? { metadata: { ...options.metadata, Authorization: `Bearer ${authorization}` } } : {}),
  });
}

export default defineRoutes(async (app, { pool, temporal, metricsRegistry }) => {
  const probe = temporal ? createProbeConnection(temporal) : undefined;
  app.addHook('onClose', async () => {
    await probe?.close();
  });

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: Postgres and Temporal reachable (503 names which is not)',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const [postgres, temporalCheck] = await Promise.all([checkPostgres(pool), checkTemporal(probe)]);
      const ready = postgres.ok && temporalCheck.ok;
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', checks: { postgres, temporal: temporalCheck } });
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics (text exposition format)' } },
    async (_request, reply) => {
      const body = await metricsRegistry.metrics();
      return reply.type(metricsRegistry.contentType).send(body);
    },
  );
});
