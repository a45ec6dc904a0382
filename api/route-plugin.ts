// How a feature adds routes: one plugin file in api/routes/, one `app.register(...)` line in api/app.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import type { Client, Connection } from '@temporalio/client';
import type { KeelConfig } from '../config.js';
import type { Db } from '../db/client.js';
import type { FastifyRequest } from 'fastify';
import type { PastedKeyResult } from './auth/auth-plugin.js';
import type { VerifiedKeyCache } from './auth/verified-key-cache.js';

export interface TemporalHandle {
  client: Client;
  connection: Connection;
}

/** What every route plugin receives as its options. */
export interface RouteDeps {
  config: KeelConfig;
  db: Db;
  pool: pg.Pool;
  temporal: TemporalHandle | undefined;
  metricsRegistry: Registry;
  keyCache: VerifiedKeyCache;
  /** The web sign-in form's check of a pasted API key (the bearer path's cost bounds apply). */
  verifyPastedKey: (token: string, request: FastifyRequest) => Promise<PastedKeyResult>;
}

export type KeelRoutePlugin = FastifyPluginAsyncTypebox<RouteDeps>;

/**
 * Declares a feature's routes with TypeBox typing. Inside, give each route `schema` (params, querystring,
 * body, one response per status code) and `config: { roles: [...] }`; `admin` passes every role check,
 * `roles: []` means any valid key, and every /v1/ route needs a key. Read the caller with
 * `principalOf(request)` and record changes with `writeAudit(tx, { ...actorOf(request), ... })`.
 *
 * ```ts
 * export default defineRoutes(async (app, { db }) => {
 *   app.get('/v1/things/:id', { config: { roles: ['engineer'] }, schema: { params: Type.Object({ id: Type.String() }) } },
 *     async (request) => getThing(db, request.params.id));
 * });
 * ```
 */
export function defineRoutes(plugin: KeelRoutePlugin): KeelRoutePlugin {
  return plugin;
}
