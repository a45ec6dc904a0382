// The route × role matrix (api/route-role-matrix.ts) is what the app enforces: every route the app registers is
// called with a key of every role, no key, a revoked key and malformed Authorization headers, and its status is
// checked against the matrix; README's table is the matrix; a /v1/ or /ui/ route without roles cannot be added.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { registerRouteRoleMatrix, RouteWithoutRolesError, routeRoleMatrixMarkdown, type RouteRoleEntry } from '../api/route-role-matrix.js';
import { currentRouteRoleMatrixMarkdown } from '../api/route-role-matrix-table.js';
import { loadConfig } from '../config.js';
import { ROLES, type Role } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { bearer, createKey, createRoleKeys, fillPath, plausibleParameter, type RoleKeys } from './support/route-probes.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
let keys: RoleKeys;
let revokedSecret: string;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  const config = loadConfig({
    KEEL_SIGNING_KEY: 'route-role-matrix-test-signing-key-0123456789',
    // No worker polls this queue: nothing a probe might start would ever run.
    KEEL_PIPELINE_TASK_QUEUE: uniqueName('matrix-pipeline'),
    KEEL_TRAINING_TASK_QUEUE: uniqueName('matrix-training'),
  });
  app = await buildApp({
    config,
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  keys = await createRoleKeys(app, admin, 'matrix');
  const revoked = await createKey(app, admin, { user: 'matrix-revoked', name: 'matrix-revoked', roles: [...ROLES] });
  const revoke = await app.inject({ method: 'DELETE', url: `/v1/keys/${revoked.id}`, headers: bearer(admin) });
  expect(revoke.statusCode, revoke.body).toBe(204);
  revokedSecret = revoked.secret;
});

afterAll(async () => {
  await app?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

/** README's rule, restated here so the test does not just repeat the code: admin passes every role but reviewer. */
function expectedAllowed(entry: RouteRoleEntry, role: Role): boolean {
  if (entry.roles === null || entry.roles.length === 0) return true;
  return entry.roles.includes(role) || (role === 'admin' && entry.roles.some((required) => required !== 'reviewer'));
}

const isSignInRedirect = (status: number, location: unknown) =>
  status >= 300 && status < 400 && typeof location === 'string' && location.startsWith('/ui/login');

/** A request a probe makes: the route's method, its path filled with plausible values, a bare body for writes. */
function probe(entry: RouteRoleEntry, headers: Record<string, string>) {
  const url = fillPath(entry.url, (parameter) => plausibleParameter(entry.url, parameter));
  const sendsBody = ['POST', 'PUT', 'PATCH'].includes(entry.method);
  return app.inject({
    method: entry.method as 'GET',
    url,
    headers: sendsBody ? { ...headers, 'content-type': 'application/json' } : headers,
    ...(sendsBody ? { payload: '{}' } : {}),
  });
}

/** The callers that never get past authentication on a route that needs a key. */
const unauthenticatedCallers: [string, () => Record<string, string>][] = [
  ['no key', () => ({})],
  ['a revoked key', () => bearer(revokedSecret)],
  ['a Basic header', () => ({ authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` })],
  ['"Bearer" with no token', () => ({ authorization: 'Bearer' })],
  ['a token with spaces', () => ({ authorization: 'Bearer keel_abc def' })],
  ['a token that is not a Keel key', () => ({ authorization: 'Bearer not-a-keel-key' })],
  ['an oversized token', () => ({ authorization: `Bearer ${'A'.repeat(4096)}` })],
];

describe('route × role matrix', () => {
  it('lists every route the app serves (each OpenAPI operation is in it) and only /v1/ routes that need a key', () => {
    const matrix = app.routeRoleMatrix;
    const listed = new Set(matrix.map((entry) => `${entry.method} ${entry.url}`));
    const openApi = app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(openApi.paths).flatMap(([pathTemplate, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${pathTemplate.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    expect(operations.length).toBeGreaterThan(20);
    expect(operations.filter((operation) => !listed.has(operation)), 'routes missing from the matrix').toEqual([]);
    for (const entry of matrix) expect(app.hasRoute({ method: entry.method as 'GET', url: entry.url }), `${entry.method} ${entry.url}`).toBe(true);
    expect(matrix.filter((entry) => entry.url.startsWith('/v1/') && entry.roles === null)).toEqual([]);
  });

  it('answers every route × role as the matrix says: 403 for a role it lacks, neither 401 nor 403 for one it has', async () => {
    const mismatches: string[] = [];
    let cases = 0;
    for (const entry of app.routeRoleMatrix) {
      for (const role of ROLES) {
        const response = await probe(entry, bearer(keys[role].secret));
        cases += 1;
        const allowed = expectedAllowed(entry, role);
        const passed = ![401, 403].includes(response.statusCode) && !isSignInRedirect(response.statusCode, response.headers.location);
        if (allowed !== passed || (!allowed && response.statusCode !== 403)) {
          mismatches.push(`${entry.method} ${entry.url} as ${role}: ${response.statusCode} (${allowed ? 'allowed' : 'expected 403'}) ${response.body.slice(0, 200)}`);
        }
      }
    }
    console.log(`[route × role matrix] ${cases} route × role cases over ${app.routeRoleMatrix.length} routes`);
    expect(mismatches).toEqual([]);
  });

  it('refuses with 401 every caller without a valid key (none, revoked, malformed) on every route that needs one; public routes answer them', async () => {
    const mismatches: string[] = [];
    let cases = 0;
    for (const entry of app.routeRoleMatrix) {
      for (const [caller, headers] of unauthenticatedCallers) {
        const response = await probe(entry, headers());
        cases += 1;
        const refused = response.statusCode === 401 || (entry.url.startsWith('/ui/') && isSignInRedirect(response.statusCode, response.headers.location));
        if (entry.roles === null ? [401, 403].includes(response.statusCode) : !refused) {
          mismatches.push(`${entry.method} ${entry.url} with ${caller}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        }
        if (entry.roles !== null && response.statusCode === 401 && entry.method !== 'HEAD') expect(response.json().error.code).toBe('UNAUTHENTICATED');
      }
    }
    console.log(`[route × role matrix] ${cases} unauthenticated cases (no key, revoked key, malformed headers)`);
    expect(mismatches).toEqual([]);
  });

  it("README's route × role table is the matrix the app builds", async () => {
    const readme = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = /<!-- route-role-matrix:start[^>]*-->\n([\s\S]*?)\n<!-- route-role-matrix:end -->/.exec(readme);
    expect(section, 'README.md has no route-role-matrix markers').not.toBeNull();
    // Regenerate with: node --import tsx api/route-role-matrix-table.ts
    expect(section![1]).toBe(await currentRouteRoleMatrixMarkdown());
    expect(routeRoleMatrixMarkdown(app.routeRoleMatrix)).toBe(section![1]);
  });
});

describe('a route that does not say who may call it', () => {
  async function register(url: string, config: Record<string, unknown> | undefined): Promise<readonly RouteRoleEntry[]> {
    const instance = Fastify({ logger: false });
    const entries = registerRouteRoleMatrix(instance);
    try {
      await instance.register(async (plugin) => {
        plugin.get(url, config === undefined ? {} : { config }, async () => 'ok');
      });
      await instance.ready();
      return entries;
    } finally {
      await instance.close();
    }
  }

  it.each([
    ['/v1/things', undefined],
    ['/v1/things', { public: true }],
    ['/ui/things', undefined],
    ['/ui/things', { roles: ['superuser'] }],
    ['/ui/things', { roles: 'ops' }],
    ['/ui/things', { roles: ['ops'], public: true }],
  ])('when %s is added with config %j, then the app refuses to start', async (url, config) => {
    await expect(register(url, config)).rejects.toThrow(RouteWithoutRolesError);
  });

  it('when a route declares roles, any key or public (outside /v1/), then it is recorded as such', async () => {
    expect(await register('/v1/things', { roles: ['ops'] })).toContainEqual({ method: 'GET', url: '/v1/things', roles: ['ops'] });
    expect(await register('/v1/things', { roles: [] })).toContainEqual({ method: 'GET', url: '/v1/things', roles: [] });
    expect(await register('/ui/login', { public: true })).toContainEqual({ method: 'GET', url: '/ui/login', roles: null });
    expect(await register('/livez', undefined)).toContainEqual({ method: 'GET', url: '/livez', roles: null });
  });
});
