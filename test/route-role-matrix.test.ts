// The route × role matrix (api/route-role-matrix.ts) is what the app enforces: every route the app registers is
// called with a key of every role, no key, a revoked key and malformed Authorization headers, and its status is
// checked against the matrix; README's table is the matrix; a /v1/ or /ui/ route without roles cannot be added.
// /ui/ routes are called as a browser calls them: a session cookie from signing in with the role's key, and the
// page's CSRF token on form posts; a bearer key there (and a session cookie on /v1/) must authenticate nobody.
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
import {
  anonymousBrowser,
  forgedSessionCookies,
  formBody,
  isSignInRedirect,
  isUiRoute,
  sessionCookieOf,
  signedInBrowser,
  withSessionCookie,
  type UiBrowser,
} from './support/ui-probes.js';

const SIGNING_KEY = 'route-role-matrix-test-signing-key-0123456789';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
let keys: RoleKeys;
let revokedSecret: string;
/** One signed-in browser per role (its own key), one whose key was revoked after it signed in, one never signed in. */
let browsers: Record<Role, UiBrowser>;
let revokedBrowser: UiBrowser;
let anonymous: UiBrowser;
let forgedCookies: [string, string][];

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  const config = loadConfig({
    KEEL_SIGNING_KEY: SIGNING_KEY,
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
  browsers = {} as Record<Role, UiBrowser>;
  for (const role of ROLES) browsers[role] = await signedInBrowser(app, keys[role].secret);
  anonymous = await anonymousBrowser(app);
  const revoked = await createKey(app, admin, { user: 'matrix-revoked', name: 'matrix-revoked', roles: [...ROLES] });
  revokedBrowser = await signedInBrowser(app, revoked.secret);
  const revoke = await app.inject({ method: 'DELETE', url: `/v1/keys/${revoked.id}`, headers: bearer(admin) });
  expect(revoke.statusCode, revoke.body).toBe(204);
  revokedSecret = revoked.secret;
  forgedCookies = forgedSessionCookies(SIGNING_KEY, sessionCookieOf(browsers.admin), keys.admin.id);
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

const sendsBody = (entry: RouteRoleEntry) => ['POST', 'PUT', 'PATCH'].includes(entry.method);

/** A request a probe makes: the route's method, its path filled with plausible values, a bare body for writes. */
function probe(entry: RouteRoleEntry, headers: Record<string, string>) {
  const url = fillPath(entry.url, (parameter) => plausibleParameter(entry.url, parameter));
  return app.inject({
    method: entry.method as 'GET',
    url,
    headers: sendsBody(entry) ? { ...headers, 'content-type': 'application/json' } : headers,
    ...(sendsBody(entry) ? { payload: '{}' } : {}),
  });
}

/** The form a page's own form would post to the route (the sign-in form signs in with `apiKey`). */
function uiForm(entry: RouteRoleEntry, apiKey: string): Record<string, string> {
  if (entry.url === '/ui/login') return { apiKey, next: '/ui/' };
  if (entry.url === '/ui/runs/:id/review') return { decision: 'reject', comment: 'route × role matrix probe' };
  return {};
}

/** A browser's request to a /ui/ route: its cookies, and for a form post the form with the CSRF token (if it has one). */
function browserProbe(entry: RouteRoleEntry, browser: { cookie?: string; csrf?: string }, apiKey: string, headers: Record<string, string> = {}) {
  const url = fillPath(entry.url, (parameter) => plausibleParameter(entry.url, parameter));
  return app.inject({
    method: entry.method as 'GET',
    url,
    headers: {
      ...headers,
      ...(browser.cookie ? { cookie: browser.cookie } : {}),
      ...(sendsBody(entry) ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(sendsBody(entry) ? { payload: formBody(uiForm(entry, apiKey), browser.csrf) } : {}),
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

/** Browsers without a valid session on /ui/: no cookie at all, CSRF cookie only, a revoked key's session, forged sessions. */
function unauthenticatedBrowsers(): [string, { cookie?: string; csrf?: string }][] {
  return [
    // No cookie at all, so no CSRF secret either: the token it posts is made up.
    ['no cookie', { csrf: 'a-made-up-csrf-token' }],
    ['no session (CSRF cookie only)', anonymous],
    ['the session of a revoked key', revokedBrowser],
    ...forgedCookies.map(([name, value]): [string, UiBrowser] => [name, withSessionCookie(browsers.admin, value)]),
  ];
}

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
    let uiCases = 0;
    let uiBearerCases = 0;
    for (const entry of app.routeRoleMatrix) {
      const ui = isUiRoute(entry.url);
      for (const role of ROLES) {
        // /ui/: the role's signed-in browser (session cookie + CSRF token); elsewhere the role's bearer key.
        const response = ui ? await browserProbe(entry, browsers[role], keys[role].secret) : await probe(entry, bearer(keys[role].secret));
        cases += 1;
        if (ui) uiCases += 1;
        const allowed = expectedAllowed(entry, role);
        // A public page's own redirect to sign-in (POST /ui/logout) is what it is for, not a refusal.
        const redirectedToSignIn = entry.roles !== null && isSignInRedirect(response.statusCode, response.headers.location);
        const passed = ![401, 403].includes(response.statusCode) && !redirectedToSignIn;
        if (allowed !== passed || (!allowed && response.statusCode !== 403)) {
          mismatches.push(`${entry.method} ${entry.url} as ${role}${ui ? ' (session)' : ''}: ${response.statusCode} ${String(response.headers.location ?? '')} (${allowed ? 'allowed' : 'expected 403'}) ${response.body.slice(0, 200)}`);
        }
        // A page never takes a bearer key, not even a valid one holding the route's role: no session, sign-in page.
        if (ui && entry.roles !== null) {
          const withBearer = await browserProbe(entry, { csrf: anonymous.csrf }, keys[role].secret, bearer(keys[role].secret));
          uiBearerCases += 1;
          if (withBearer.statusCode !== 303 || !isSignInRedirect(withBearer.statusCode, withBearer.headers.location)) {
            mismatches.push(`${entry.method} ${entry.url} with ${role}'s bearer key and no session: ${withBearer.statusCode} ${String(withBearer.headers.location ?? '')} (expected 303 to /ui/login)`);
          }
        }
      }
    }
    console.log(
      `[route × role matrix] ${cases} route × role cases over ${app.routeRoleMatrix.length} routes (${uiCases} of them on /ui/ routes with a session cookie), ` +
        `plus ${uiBearerCases} /ui/ cases with a valid bearer key and no session`,
    );
    expect(uiCases).toBeGreaterThan(0);
    expect(uiBearerCases).toBeGreaterThan(0);
    expect(mismatches).toEqual([]);
  });

  it('refuses with 401 every caller without a valid key (none, revoked, malformed) on every route that needs one; public routes answer them', async () => {
    const mismatches: string[] = [];
    let cases = 0;
    for (const entry of app.routeRoleMatrix.filter((candidate) => !isUiRoute(candidate.url))) {
      // A signed-in browser's session cookie is for pages only: on the API it is no key at all.
      const callers: [string, () => Record<string, string>][] = [
        ...unauthenticatedCallers,
        ["an admin's session cookie", () => ({ cookie: browsers.admin.cookie })],
      ];
      for (const [caller, headers] of callers) {
        const response = await probe(entry, headers());
        cases += 1;
        if (entry.roles === null ? [401, 403].includes(response.statusCode) : response.statusCode !== 401) {
          mismatches.push(`${entry.method} ${entry.url} with ${caller}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        }
        if (entry.roles !== null && response.statusCode === 401 && entry.method !== 'HEAD') expect(response.json().error.code).toBe('UNAUTHENTICATED');
      }
    }
    console.log(`[route × role matrix] ${cases} unauthenticated cases on the API (no key, revoked key, malformed headers, a session cookie)`);
    expect(mismatches).toEqual([]);
  });

  it('sends every caller without a valid session (no cookie, revoked key, forged cookie, any bearer header) on a /ui/ route that needs one to the sign-in page with 303', async () => {
    const mismatches: string[] = [];
    let cases = 0;
    const uiRoutes = app.routeRoleMatrix.filter((entry) => isUiRoute(entry.url));
    expect(uiRoutes.length).toBeGreaterThan(0);
    for (const entry of uiRoutes) {
      const callers: [string, { cookie?: string; csrf?: string }, Record<string, string>][] = [
        ...unauthenticatedBrowsers().map(([name, browser]): [string, { cookie?: string; csrf?: string }, Record<string, string>] => [name, browser, {}]),
        // Bearer headers, with the CSRF cookie and token a browser would hold: still nobody.
        ...unauthenticatedCallers.map(([name, headers]): [string, { cookie?: string; csrf?: string }, Record<string, string>] => [name, anonymous, headers()]),
        ["an admin's valid bearer key", anonymous, bearer(keys.admin.secret)],
      ];
      for (const [caller, browser, headers] of callers) {
        const response = await browserProbe(entry, browser, keys.engineer.secret, headers);
        cases += 1;
        const location = String(response.headers.location ?? '');
        // A form post without the CSRF cookie is refused by the CSRF check (403), sign-in form included.
        const withoutCsrfCookie = sendsBody(entry) && !browser.cookie;
        const expected = entry.roles !== null ? 'a 303 to /ui/login' : withoutCsrfCookie ? '403 (CSRF check)' : 'neither 401 nor 403';
        const ok =
          entry.roles !== null
            ? response.statusCode === 303 && isSignInRedirect(response.statusCode, location)
            : withoutCsrfCookie
              ? response.statusCode === 403
              : ![401, 403].includes(response.statusCode);
        if (!ok) mismatches.push(`${entry.method} ${entry.url} with ${caller}: ${response.statusCode} ${location} (expected ${expected}) ${response.body.slice(0, 200)}`);
      }
    }
    console.log(`[route × role matrix] ${cases} unauthenticated cases on /ui/ (no cookie, revoked key's session, forged cookies, bearer headers)`);
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
