// Property-based: generated bodies, headers, path parameters and query strings thrown at every route the app
// serves (api/route-role-matrix.ts lists them), with a key of a role the route allows. Never a 5xx, and a 4xx
// writes no row: every table is compared before and after, except refusals the audit trail records on purpose.
// /ui/ routes take no key: they get the session cookie of a browser signed in with such a key, and form posts
// (mostly) carry its CSRF token, so generated forms reach the pages' handlers.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { rolesAllowed, type RouteRoleEntry } from '../api/route-role-matrix.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig } from '../config.js';
import { ROLES, type Role } from '../db/schema.js';
import { createServingDeps, type ServingDeps } from '../serving/serving-deps.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { registerFixtureVersion, setProduction } from './support/model-fixtures.js';
import { schemaArbitrary, type JsonSchema } from './support/schema-arbitrary.js';
import { fuzzRuns, fuzzSeed } from './support/fast-check-settings.js';
import { bearer, createKey, createRoleKeys, pathParameters, type RoleKeys } from './support/route-probes.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import { anonymousBrowser, isUiRoute, signedInBrowser, type UiBrowser } from './support/ui-probes.js';

/**
 * Cases per route (a request and one or two table checksums each): ~1,000 in all by default, about a minute on a busy
 * box. KEEL_FUZZ_RUNS sets the count per write route (read routes get 30% of it), to explore further.
 */
const RUNS_PER_WRITE_ROUTE = fuzzRuns(50);
const RUNS_PER_READ_ROUTE = Math.max(1, Math.round(RUNS_PER_WRITE_ROUTE * 0.3));
/** Fixed unless KEEL_FUZZ_SEED is set: CI repeats the same cases; a random seed explores new ones (README, Tests). */
const SEED = fuzzSeed();
const MODEL = 'fuzz-model';

let database: TestDatabase;
let temporal: TestTemporal;
let scratch: string;
let serving: ServingDeps;
let app: KeelApp;
let keys: RoleKeys;
/** /ui/: a browser signed in per role, and one that only opened the sign-in page. */
let browsers: Record<Role, UiBrowser>;
let anonymous: UiBrowser;
let sacrificialKeyId: string;
let predictionId: string;
const createdSchedules = new Set<string>();

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  scratch = await mkdtemp(join(tmpdir(), 'keel-route-fuzz-'));
  const config = loadConfig({
    KEEL_SIGNING_KEY: 'route-fuzz-test-signing-key-0123456789abcdef',
    KEEL_DATA_ROOTS: join(scratch, 'datasets'),
    KEEL_ARTIFACT_DIR: join(scratch, 'artifacts'),
    // No worker polls these queues: a run or schedule a valid generated body starts never runs.
    KEEL_PIPELINE_TASK_QUEUE: uniqueName('fuzz-pipeline'),
    KEEL_TRAINING_TASK_QUEUE: uniqueName('fuzz-training'),
  });
  const artifacts = new FsArtifactStore(config.artifactDir);
  // Flushed by hand after each predict: a background flush must not land while a 4xx is being checked.
  serving = await createServingDeps({ db: database.db, pool: database.pool, artifacts, logger: pino({ level: 'silent' }), predictionLog: { flushIntervalMs: 3_600_000 } });
  const admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    config,
    db: database.db,
    pool: database.pool,
    serving,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  keys = await createRoleKeys(app, admin, 'fuzz');
  browsers = {} as Record<Role, UiBrowser>;
  for (const role of ROLES) browsers[role] = await signedInBrowser(app, keys[role].secret);
  anonymous = await anonymousBrowser(app);
  sacrificialKeyId = (await createKey(app, admin, { user: 'fuzz-sacrificial', name: 'fuzz-sacrificial', roles: ['engineer'] })).id;

  // Something for plausible parameters to find: a model with a production and an earlier version, a schedule, a prediction.
  const first = await registerFixtureVersion(database.db, artifacts, { model: MODEL, runId: 'fuzz-run-1' });
  await registerFixtureVersion(database.db, artifacts, { model: MODEL, runId: 'fuzz-run-2', shift: 1 });
  await setProduction(database.db, first, MODEL);
  const schedule = await app.inject({ method: 'POST', url: '/v1/schedules', headers: bearer(keys.engineer.secret), payload: SEED_BODIES['POST /v1/schedules'] as object });
  expect(schedule.statusCode, schedule.body).toBe(201);
  createdSchedules.add('fuzz-sched');
  const predicted = await app.inject({ method: 'POST', url: `/v1/models/${MODEL}/predict`, headers: bearer(keys.predict.secret), payload: { features: [{ x: 1, color: 'red' }] } });
  expect(predicted.statusCode, predicted.body).toBe(200);
  predictionId = predicted.json().predictions[0].id;
  await serving.predictionLog.flush();
});

afterAll(async () => {
  // Nothing left running on the shared dev server: runs a valid generated body started, schedules it created.
  const started = database ? await database.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM runs') : { rows: [] };
  await Promise.allSettled(started.rows.map((row) => temporal.client.workflow.getHandle(row.workflow_id).terminate('test cleanup')));
  await Promise.allSettled([...createdSchedules].map((id) => temporal.client.schedule.getHandle(id).delete()));
  await app?.close();
  await serving?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const RUN_SPEC = {
  model: MODEL,
  dataset: { uri: '/data/flights.csv' },
  target: 'y',
  task: 'binary',
  trainer: { kind: 'gbdt', params: { numIterations: 10 } },
  gates: { auc: { min: 0.7 }, maxRegression: { auc: 0.005 } },
  policy: { approvalTimeout: '2h' },
};

/** A valid body per route, for mutations to start from (a route not listed starts from `{}`). */
const SEED_BODIES: Record<string, unknown> = {
  'POST /v1/runs': RUN_SPEC,
  'POST /v1/schedules': { id: 'fuzz-sched', cron: '0 2 * * *', run: RUN_SPEC },
  'POST /v1/keys': { user: 'fuzz-made', name: 'fuzz-made', roles: ['engineer'] },
  'POST /v1/runs/:id/review': { decision: 'approve', comment: 'looks fine' },
  'POST /v1/models/:name/rollback': { version: 2, reason: 'fuzz', expectedProduction: 1 },
  'PUT /v1/models/:name/policy': { autoApprove: true, allowFirstDeployment: false, gates: { auc: { min: 0.5 } } },
  'PUT /v1/models/:name/monitoring': { interval: '1h', minRows: 10, thresholds: { psi: 0.2 }, retrain: { enabled: false } },
  'POST /v1/models/:name/predict': { features: [{ x: 1, color: 'red' }, { x: null, color: null }] },
  'POST /v1/models/:name/feedback': { items: [{ predictionId: '00000000-0000-4000-8000-000000000000', label: 1 }] },
};

/** Values that have broken parsers and handlers before. */
const NASTY_VALUES: unknown[] = [null, '', ' ', 0, -1, -0, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e155, 1e308, -1e308, '99999999999w', '0000-01-01T00:00:00Z', true, [], {}, [[]], 'a'.repeat(5000), '__proto__', '../../etc/passwd', 'https://user:pw@example.com/x?token=secret', "'; DROP TABLE runs; --", '\u0000', '\ud800', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z'];

/** Raw bodies no JSON generator writes: malformed, overflowing, prototype keys, very deep. */
const RAW_BODIES = ['{', '[', 'null', '""', '{"a":1}{"b":2}', '{"version":1e400}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', `${'['.repeat(5000)}${']'.repeat(5000)}`, '\u0000', 'a=1&b=2', '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x--'];

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/vnd.api+json'];

/** Raw path segments, unencoded: bad escapes, traversal, encoded slashes. */
const RAW_SEGMENTS = ['%', '%zz', '%00', '..', '%2e%2e', 'a%2Fb', '%C0%AF', ';', '*'];

const printable = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });

type JsonPath = (string | number)[];

function pathsOf(value: unknown, prefix: JsonPath = []): JsonPath[] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value) ? value.map((item, index) => [index, item] as const) : Object.entries(value);
  return [prefix, ...children.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
}

interface Mutation {
  at: number;
  kind: 'replace' | 'delete' | 'add';
  key: string;
  value: unknown;
}

/** The seed with one change at one of its paths (replace a value, delete a key or item, add a key). */
function mutate(seed: unknown, mutation: Mutation): unknown {
  const copy: unknown = structuredClone(seed);
  const paths = pathsOf(copy);
  const path = paths[mutation.at % paths.length];
  if (path.length === 0) return mutation.kind === 'replace' ? mutation.value : copy;
  const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((node, key) => node[key] as Record<string | number, unknown>, copy as Record<string, unknown>);
  const last = path.at(-1)!;
  if (mutation.kind === 'replace') parent[last] = mutation.value;
  else if (mutation.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (!Array.isArray(parent)) parent[mutation.key] = mutation.value;
  else parent.push(mutation.value);
  return copy;
}

const anyValue = fc.oneof({ weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 2, arbitrary: fc.constantFrom(...NASTY_VALUES) });

const mutationArb = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<Mutation['kind']>('replace', 'replace', 'delete', 'add'),
  key: fc.oneof(printable(20), fc.constantFrom('__proto__', 'constructor', 'AUC', 'maxRegression', 'extra')),
  value: anyValue,
});

/** Text of a request body, or none: from the route's schema, a mutated valid body, any JSON, raw text. */
function bodyArb(seed: unknown, schema: fc.Arbitrary<unknown> | undefined): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(JSON.stringify(seed)) },
    { weight: schema ? 6 : 0, arbitrary: (schema ?? fc.constant(seed)).map((value) => JSON.stringify(value)) },
    { weight: 6, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }).map((mutations) => JSON.stringify(mutations.reduce(mutate, seed))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...RAW_BODIES), fc.string({ maxLength: 200 })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** The form a /ui/ page posts, for mutations to start from (without `_csrf`: the browser's token is added per case). */
const UI_SEED_FORMS: Record<string, Record<string, unknown>> = {
  'POST /ui/login': { apiKey: 'keel_not-a-real-key', next: '/ui/' },
  'POST /ui/runs/:id/review': { decision: 'approve', comment: 'looks fine' },
  'POST /ui/logout': {},
};

/** Which CSRF token a generated form carries: the browser's own (mostly), none, a made-up one, another browser's. */
type CsrfChoice = 'own' | 'none' | 'made-up' | 'another';

interface UiBody {
  encoding: 'form' | 'json' | 'raw' | 'none';
  fields: unknown;
  raw: string;
  csrf: CsrfChoice;
}

/** A /ui/ form post: the page's form mutated, encoded as a browser would (or as JSON, or raw text), with a CSRF choice. */
function uiBodyArb(seed: Record<string, unknown>): fc.Arbitrary<UiBody> {
  return fc.record({
    encoding: fc.oneof({ weight: 8, arbitrary: fc.constant<UiBody['encoding']>('form') }, fc.constantFrom<UiBody['encoding']>('json', 'raw', 'none')),
    fields: fc.oneof(
      // The form as the page sends it, often: a page's forms have few fields, and a mutation mostly breaks its schema.
      { weight: 5, arbitrary: fc.constant<unknown>(seed) },
      { weight: 4, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }).map((mutations) => mutations.reduce<unknown>(mutate, seed)) },
      { weight: 1, arbitrary: fc.dictionary(printable(12), anyValue, { maxKeys: 4 }) },
    ),
    raw: fc.oneof(fc.constantFrom(...RAW_BODIES), fc.string({ maxLength: 200 })),
    csrf: fc.oneof({ weight: 8, arbitrary: fc.constant<CsrfChoice>('own') }, fc.constantFrom<CsrfChoice>('none', 'made-up', 'another')),
  });
}

/** The body text of a generated /ui/ post, and its content type. */
function uiBodyText(body: UiBody, browser: UiBrowser): { text: string | undefined; contentType: string } {
  const token = { own: browser.csrf, none: undefined, 'made-up': 'made-up-csrf-token', another: anonymous.csrf }[body.csrf];
  const fields = body.fields !== null && typeof body.fields === 'object' && !Array.isArray(body.fields) ? (body.fields as Record<string, unknown>) : { value: body.fields };
  const withToken = token === undefined ? fields : { ...fields, _csrf: token };
  if (body.encoding === 'json') return { text: JSON.stringify(withToken), contentType: 'application/json' };
  if (body.encoding === 'raw') return { text: body.raw, contentType: 'application/x-www-form-urlencoded' };
  if (body.encoding === 'none') return { text: undefined, contentType: 'application/x-www-form-urlencoded' };
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(withToken)) {
    // A repeated field is how a form sends a list; anything else is text.
    for (const item of Array.isArray(value) ? value : [value]) form.append(name, typeof item === 'string' ? item : JSON.stringify(item) ?? '');
  }
  return { text: form.toString(), contentType: 'application/x-www-form-urlencoded' };
}

function headersArb(sendsBody: boolean): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      // Mostly JSON, so most bodies get past the parser to the schema and the handler.
      'content-type': sendsBody
        ? fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) }, { weight: 1, arbitrary: printable(60) })
        : printable(60),
      'idempotency-key': fc.oneof(fc.uuid(), printable(250)),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', ''),
      'x-forwarded-for': fc.constantFrom('127.0.0.1', '::1', 'not-an-ip', '1.2.3.4, 5.6.7.8'),
      'x-request-id': printable(80),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'nonsense'),
    },
    { requiredKeys: sendsBody ? ['content-type'] : [] },
  );
}

/** Plausible values first (so requests reach the handlers), then anything. */
function parameterArb(url: string, parameter: string): fc.Arbitrary<{ value: string; raw: boolean }> {
  const plausible: Record<string, string[]> = {
    name: [MODEL, 'no-such-model'],
    action: ['pause', 'unpause', 'trigger'],
    '*': ['index.html', 'swagger-initializer.js', '../package.json'],
  };
  const known = url.startsWith('/v1/keys/')
    ? [sacrificialKeyId, randomUUID()]
    : url.startsWith('/v1/runs/') || url.startsWith('/ui/runs/')
      ? ['fuzz-run-1', 'fuzz-run-2', 'no-such-run']
      : url.startsWith('/v1/schedules/') && parameter === 'id'
        ? ['fuzz-sched', 'no-such-schedule']
        : (plausible[parameter] ?? ['probe']);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known).map((value) => ({ value, raw: false })) },
    { weight: 3, arbitrary: fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 30 }), printable(300)).map((value) => ({ value, raw: false })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS).map((value) => ({ value, raw: true })) },
  );
}

const QUERY_VALUES = ['', '0', '1', '-1', '1000000', '2147483648', '99999999999999999999', 'true', 'false', 'asc', 'desc', '2026-01-01T00:00:00Z', 'not-a-time', '2026-13-45', '0000-01-01T00:00:00Z', '-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z', 'model:*', '*', 'MTIzfDQ1Ng', '%', 'a'.repeat(600)];

function queryArb(known: string[]): fc.Arbitrary<string> {
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...known, 'unknown'), printable(12)), fc.oneof(fc.constantFrom(...QUERY_VALUES), fc.string({ maxLength: 40 })));
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 5, arbitrary: fc.array(pair, { maxLength: 4 }).map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs).toString()}` : '')) },
    { weight: 1, arbitrary: fc.constantFrom('?%', '?a=%zz', '?&&&', '?limit=1&limit=2', '?from[]=x', '?__proto__=1', '?=') },
  );
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** The route's query parameter names and JSON body schema, as its OpenAPI operation declares them. */
function declaredInputs(entry: RouteRoleEntry): { query: string[]; body: fc.Arbitrary<unknown> | undefined } {
  const openApi = app.swagger() as OpenApiDocument;
  const operation = openApi.paths[entry.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[entry.method.toLowerCase()];
  const bodySchema = operation?.requestBody?.content?.['application/json']?.schema;
  return {
    query: (operation?.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name),
    body: bodySchema ? schemaArbitrary(bodySchema, openApi.components?.schemas) : undefined,
  };
}

// ---- what the database holds, to prove a 4xx wrote nothing ----

interface TablesState {
  digests: Record<string, string>;
  auditMaxId: number;
  auditDigest: string;
}

/** Every table, except the audit trail (checked on its own) and the chain head that moves with it. */
let digestSql: string | undefined;
async function tablesState(): Promise<TablesState> {
  if (!digestSql) {
    const tables = await database.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname NOT IN ('audit_log', 'audit_chain_head')
        ORDER BY 1`,
    );
    // api_keys.last_used_at is bookkeeping the auth plugin writes after any authenticated request, whatever its answer.
    digestSql = tables.rows
      .map(({ name }) => `SELECT '${name}' AS name, md5(coalesce(string_agg(j, '|' ORDER BY j), '')) AS digest FROM (SELECT (to_jsonb(t) - 'last_used_at')::text AS j FROM "${name}" t) s`)
      .join(' UNION ALL ');
  }
  const [digests, audit] = await Promise.all([
    database.pool.query<{ name: string; digest: string }>(digestSql),
    database.pool.query<{ max: string | null }>('SELECT max(id) AS max FROM audit_log'),
  ]);
  const auditMaxId = Number(audit.rows[0].max ?? 0);
  return { digests: Object.fromEntries(digests.rows.map((row) => [row.name, row.digest])), auditMaxId, auditDigest: await auditDigestUpTo(auditMaxId) };
}

async function auditDigestUpTo(id: number): Promise<string> {
  const result = await database.pool.query<{ digest: string }>(
    `SELECT md5(coalesce(string_agg(to_jsonb(a)::text, '|' ORDER BY id), '')) AS digest FROM audit_log a WHERE id <= $1`,
    [id],
  );
  return result.rows[0].digest;
}

/** The state after `before`, and what changed: tables whose rows differ, audit rows edited, and audit rows added that are not refusals. */
async function changesSince(before: TablesState): Promise<{ after: TablesState; changed: string[] }> {
  const after = await tablesState();
  const changed = Object.keys(before.digests).filter((name) => before.digests[name] !== after.digests[name]);
  if ((await auditDigestUpTo(before.auditMaxId)) !== before.auditDigest) changed.push('audit_log (existing rows)');
  const added = await database.pool.query<{ action: string }>('SELECT action FROM audit_log WHERE id > $1', [before.auditMaxId]);
  // A refused attempt is recorded on purpose (api/audit/audit-refusal.ts): `<action>_refused`.
  changed.push(...added.rows.filter((row) => !row.action.endsWith('_refused')).map((row) => `audit_log (new ${row.action})`));
  return { after, changed };
}

async function writtenSince(before: TablesState): Promise<string[]> {
  return (await changesSince(before)).changed;
}

describe('text Postgres cannot store', () => {
  // Found by the fuzz below (a key named "\u0000" answered 500): Postgres refused the text at the INSERT or in a query
  // parameter; before api/storable-text.ts the keys, policy, rollback and audit cases here were 500s.
  // api/storable-text.ts now refuses it first, naming the field.
  it.each([
    ['POST', '/v1/keys', 'admin', { user: 'fuzz-nul', name: '\u0000', roles: ['engineer'] }, 'body/name'],
    ['PUT', `/v1/models/${MODEL}/policy`, 'ops', { autoApprove: false, gates: { 'a\ud800': { min: 1 } } }, 'body/gates/a\ud800'],
    ['POST', '/v1/runs/fuzz-run-1/review', 'reviewer', { decision: 'approve', comment: 'ok \ud800' }, 'body/comment'],
    ['POST', `/v1/models/${MODEL}/rollback`, 'ops', { version: 2, reason: 'a\u0000' }, 'body/reason'],
    ['GET', '/v1/audit?actor=%00', 'ops', undefined, 'querystring/actor'],
    ['GET', '/v1/runs/a%00b', 'engineer', undefined, 'params/id'],
  ] as const)('%s %s with text Postgres cannot store is a 400 naming it, and writes nothing', async (method, url, role, payload, field) => {
    const before = await tablesState();
    const response = await app.inject({ method, url, headers: bearer(keys[role].secret), ...(payload ? { payload } : {}) });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain(field);
    expect(await writtenSince(before)).toEqual([]);
  });
});

describe('counterexamples the fuzz below found', () => {
  // Each was a 5xx (or a 4xx that wrote a row) for a seed named here; now a 400 naming the field, and nothing written.
  it.each([
    // Seed 934613273: 1e308 passed Type.Integer and overflowed the int4 version column (500).
    ['POST', `/v1/models/${MODEL}/rollback`, 'ops', { version: 1e308, reason: ',_sbI3aD', expectedProduction: null }, 'body/version'],
    // Found with the values added to QUERY_VALUES after it: times JavaScript holds and Postgres does not (500s).
    ['GET', `/v1/models/${MODEL}/predictions?from=-271821-04-20T00:00:00Z`, 'ops', undefined, 'querystring/from'],
    ['GET', '/v1/audit?from=0000-01-01T00:00:00Z', 'ops', undefined, 'querystring/from'],
    ['GET', `/v1/models/${MODEL}/production?at=0000-01-01T00:00:00Z`, 'ops', undefined, 'querystring/at'],
    ['GET', `/v1/models/${MODEL}/monitoring?from=0000-01-01T00:00:00Z`, 'ops', undefined, 'querystring/from'],
  ] as const)('%s %s as %s with %j is a 400 naming %s, and writes nothing', async (method, url, role, payload, field) => {
    const before = await tablesState();
    const response = await app.inject({ method, url, headers: bearer(keys[role].secret), ...(payload ? { payload } : {}) });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain(field);
    expect(await writtenSince(before)).toEqual([]);
  });
});

describe('generated requests at every route', () => {
  it('never answer 5xx, and a 4xx writes no row', async () => {
    const routes = app.routeRoleMatrix.filter((entry) => entry.method !== 'HEAD' || !app.routeRoleMatrix.some((other) => other.method === 'GET' && other.url === entry.url));
    let cases = 0;
    let uiCases = 0;
    const uiStatuses = new Map<string, number>();
    let stateAfterRefusal: TablesState | undefined;
    const statuses = new Map<number, number>();
    console.log(`[route fuzz] fast-check seed ${SEED} (KEEL_FUZZ_SEED=${SEED} repeats these cases), ${RUNS_PER_WRITE_ROUTE} cases per write route`);
    /** Every route is fuzzed even after one fails, so one run reports every route it broke. */
    const failures: string[] = [];
    for (const entry of routes) {
      const roles: Role[] = entry.roles === null ? [] : rolesAllowed(entry);
      if (entry.roles !== null && roles.length === 0) continue;
      const sendsBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(entry.method);
      const numRuns = sendsBody ? RUNS_PER_WRITE_ROUTE : RUNS_PER_READ_ROUTE;
      const parameters = pathParameters(entry.url);
      const seedBody = SEED_BODIES[`${entry.method} ${entry.url}`] ?? {};
      if (entry.url === '/v1/models/:name/feedback') (seedBody as { items: { predictionId: string }[] }).items[0].predictionId = predictionId;
      const inputs = declaredInputs(entry);
      const ui = isUiRoute(entry.url);
      const request = fc.record({
        // A public page is opened signed in or not; a guarded one by a role it allows.
        role: roles.length ? fc.constantFrom(...roles) : ui ? fc.option(fc.constantFrom(...ROLES), { freq: 2 }).map((role) => role ?? undefined) : fc.constant(undefined),
        parameters: fc.tuple(...parameters.map((parameter) => parameterArb(entry.url, parameter))),
        query: queryArb(inputs.query),
        headers: headersArb(sendsBody),
        body: sendsBody ? bodyArb(seedBody, inputs.body) : fc.option(fc.constantFrom(...RAW_BODIES), { freq: 8 }).map((body) => body ?? undefined),
        uiBody: ui && sendsBody ? uiBodyArb(UI_SEED_FORMS[`${entry.method} ${entry.url}`] ?? {}).map((body): UiBody | undefined => body) : fc.constant(undefined),
        // Now and then a stray cookie beside the browser's own.
        strayCookie: fc.option(fc.oneof(printable(60), fc.constantFrom('keel_session=forged', 'keel_csrf=forged', '__proto__=1')), { freq: 4 }),
      });
      const checked = fc.assert(
        fc.asyncProperty(request, async ({ role, parameters: values, query, headers: generatedHeaders, body: generatedBody, uiBody, strayCookie }) => {
          let headers = generatedHeaders;
          let body = generatedBody;
          let caller: Record<string, string> = role ? bearer(keys[role].secret) : {};
          if (ui) {
            const browser = role ? browsers[role] : anonymous;
            caller = { cookie: strayCookie === null ? browser.cookie : `${browser.cookie}; ${strayCookie}` };
            if (uiBody) {
              const { text, contentType } = uiBodyText(uiBody, browser);
              body = text;
              // Mostly the form's own content type, so most posts reach the schema and the handler.
              headers = { ...headers, 'content-type': headers['content-type'] === 'application/json' ? contentType : headers['content-type']! };
            }
          }
          let index = 0;
          const path = entry.url.replace(/:([A-Za-z0-9_]+)|\*$/g, () => {
            const { value, raw } = values[index++];
            return raw ? value : encodeURIComponent(value);
          });
          // After a 4xx the state it was checked against is the next one's before: one checksum per case, not two.
          const before = stateAfterRefusal ?? (await tablesState());
          stateAfterRefusal = undefined;
          const response = await app.inject({
            method: entry.method as 'GET',
            url: `${path}${query}`,
            headers: { ...headers, ...caller },
            ...(body === undefined ? {} : { payload: body }),
          });
          cases += 1;
          if (ui) {
            uiCases += 1;
            const key = `${entry.method} ${entry.url} ${response.statusCode}`;
            uiStatuses.set(key, (uiStatuses.get(key) ?? 0) + 1);
          }
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          if (entry.url.endsWith('/predict')) await serving.predictionLog.flush();
          if (entry.method === 'POST' && entry.url === '/v1/schedules' && response.statusCode === 201) createdSchedules.add(response.json().id);
          const what = `${entry.method} ${path}${query} as ${role ?? 'nobody'}${ui ? ' (session)' : ''} ${JSON.stringify(headers)} ${body?.slice(0, 500)}`;
          expect(response.statusCode, `${what} → ${response.body.slice(0, 500)}`).toBeLessThan(500);
          if (response.statusCode >= 400) {
            const { after, changed } = await changesSince(before);
            expect(changed, `${what} → ${response.statusCode} wrote rows`).toEqual([]);
            stateAfterRefusal = after;
          }
        }),
        // No shrinking: each step is a request and two checksums; the failure message names the request.
        { numRuns, seed: SEED, endOnFailure: true },
      );
      await checked.catch((error: unknown) => {
        const cause = error instanceof Error && error.cause instanceof Error ? `\n${error.cause.message}` : '';
        failures.push(`${entry.method} ${entry.url}: ${error instanceof Error ? error.message : String(error)}${cause}`);
      });
    }
    const byStatus = [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
    const uiRoutes = routes.filter((entry) => isUiRoute(entry.url)).length;
    console.log(`[route fuzz] ${cases} generated requests over ${routes.length} routes (${RUNS_PER_WRITE_ROUTE} per write route, ${RUNS_PER_READ_ROUTE} per read route; ${uiCases} of them on ${uiRoutes} /ui/ routes with a session cookie): ${byStatus}`);
    expect(failures, `${failures.length} route(s) failed with KEEL_FUZZ_SEED=${SEED}:\n\n${failures.join('\n\n')}`).toEqual([]);
    expect(cases).toBeGreaterThanOrEqual(RUNS_PER_READ_ROUTE * routes.length);
    console.log(`[route fuzz] /ui/ answers: ${[...uiStatuses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, count]) => `${key}×${count}`).join(', ')}`);
    expect(uiCases).toBeGreaterThanOrEqual(RUNS_PER_READ_ROUTE * uiRoutes);
  }, 170_000 * Math.max(1, RUNS_PER_WRITE_ROUTE / 50));
});
