// The /ui/ pages through app.inject() against real Postgres and the real dev server: sign-in and its cookie, CSRF,
// roles, the review page's parts and who sees the review form. (test/ui-browser.test.ts drives them in Chromium.)
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { loadConfig } from '../config.js';
import { saveEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { insertRun } from '../db/repositories/runs.js';
import { auditLog } from '../db/schema.js';
import { calibrationBins } from '../ml/metrics/index.js';
import { rocCurve } from '../evaluation/evaluation-plots.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import fastifyCookie from '@fastify/cookie';
import { sessionCookieSecret } from '../api/ui/ui-session.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
const keys = { admin: '', engineer: '', reviewer: '', reviewerWhoStarted: '', predict: '' };
const SIGNING_KEY = 'ui-pages-test-signing-key-0123456789abcdef';
const hostileRunId = `r-${uniqueName('ui-hostile')}`;
const model = uniqueName('ui-model');
const runId = `r-${uniqueName('ui')}`;

async function createKey(name: string, roles: string[], user?: string): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/keys',
    headers: { authorization: `Bearer ${keys.admin}` },
    payload: { name, roles, ...(user ? { user } : {}) },
  });
  expect(response.statusCode).toBe(201);
  return response.json().secret;
}

/** Cookies a browser would keep, name → value. */
type Jar = Map<string, string>;

function remember(jar: Jar, setCookie: string | string[] | undefined): void {
  for (const line of [setCookie ?? []].flat()) {
    const [pair] = line.split(';');
    const at = pair!.indexOf('=');
    jar.set(pair!.slice(0, at), pair!.slice(at + 1));
  }
}

function cookieHeader(jar: Jar): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('page has no CSRF token');
  return match[1]!;
}

async function get(jar: Jar, url: string) {
  const response = await app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(jar) } });
  remember(jar, response.headers['set-cookie']);
  return response;
}

async function post(jar: Jar, url: string, form: Record<string, string>) {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
  });
  remember(jar, response.headers['set-cookie']);
  return response;
}

async function signIn(apiKey: string): Promise<Jar> {
  const jar: Jar = new Map();
  const login = await get(jar, '/ui/login');
  const response = await post(jar, '/ui/login', { apiKey, next: '/ui/', _csrf: csrfOf(login.body) });
  expect(response.statusCode).toBe(303);
  return jar;
}

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    config: loadConfig({ KEEL_SIGNING_KEY: SIGNING_KEY }),
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  keys.engineer = await createKey('alice', ['engineer']);
  keys.reviewer = await createKey('bob', ['reviewer']);
  keys.reviewerWhoStarted = await createKey('alice-reviews', ['reviewer'], 'alice');
  keys.predict = await createKey('scorer', ['predict']);

  // A run awaiting review, started by alice, with an evaluation report carrying curve points.
  await insertRun(database.db, {
    id: runId,
    workflowId: `pipeline/${model}/${runId}`,
    model,
    spec: { model, task: 'binary', target: 'rain', dataset: { uri: 'file:///data/weather.csv' } },
    specHash: 'test',
    status: 'awaiting_review',
    stage: 'awaiting_review',
    requestedByUser: 'alice',
    requestedByName: 'alice',
  });
  const labels = Float64Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const scores = Float64Array.from(labels, (label, i) => Math.min(0.99, Math.max(0.01, 0.3 * label + ((i * 37) % 100) / 140)));
  await saveEvaluationReport(database.db, {
    runId,
    model,
    candidateSha256: 'a'.repeat(64),
    championVersion: null,
    gatesPassed: true,
    report: {
      task: 'binary',
      holdoutRows: labels.length,
      primaryMetric: 'auc',
      candidate: { artifactSha256: 'a'.repeat(64), modelJsonSha256: 'b'.repeat(64), metrics: { auc: 0.81, logLoss: 0.5 } },
      champion: null,
      championSkipped: 'no production version yet',
      deltas: {},
      parity: { passed: true, maxAbsDiff: 1e-7, rows: 400, worstRow: 0 },
      gates: { spec: null, checks: [{ gate: 'auc ≥ 0.7', passed: true, detail: 'auc 0.81 ≥ 0.7' }] },
      gatesPassed: true,
      failedGates: [],
      challengerNoWorse: null,
      plots: {
        roc: { candidate: rocCurve(labels, scores), champion: null },
        calibration: { candidate: calibrationBins(labels, scores), champion: null },
        confusion: { truePositives: 90, falsePositives: 30, trueNegatives: 237, falseNegatives: 43 },
        importance: [{ feature: '<b>temp_max</b>', value: 3, basis: 'split gain' }, { feature: 'wind', value: 1, basis: 'split gain' }],
      },
      smokeRow: null,
      result: {},
    },
  });
  // A run whose every free-text field is hostile markup (a spec is the requester's to write).
  await insertRun(database.db, {
    id: hostileRunId,
    workflowId: `pipeline/${model}/${hostileRunId}`,
    model,
    spec: { model, task: 'binary', target: '</pre><script>alert(1)</script>', dataset: { uri: 'file:///x"><img src=x onerror=alert(1)>.csv' } },
    specHash: 'test',
    status: 'awaiting_review',
    stage: 'awaiting_review',
    requestedByUser: '<script>alert(2)</script>',
    requestedByName: 'x',
  });
});

afterAll(async () => {
  await app?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

describe('web pages', () => {
  it('sends a visitor without a session to the sign-in page, and back where they were going after it', async () => {
    const jar: Jar = new Map();
    const page = await get(jar, `/ui/runs/${runId}`);
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe(`/ui/login?next=${encodeURIComponent(`/ui/runs/${runId}`)}`);

    const login = await get(jar, page.headers.location as string);
    expect(login.statusCode).toBe(200);
    const signedIn = await post(jar, '/ui/login', { apiKey: keys.reviewer, next: `/ui/runs/${runId}`, _csrf: csrfOf(login.body) });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe(`/ui/runs/${runId}`);
    const session = [signedIn.headers['set-cookie']].flat().find((line) => line?.startsWith('keel_session='));
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Path=\/ui/);
    expect(session).not.toContain(keys.reviewer.slice(-12));
  });

  it('refuses an unknown key, a missing CSRF token and an off-site next', async () => {
    const jar: Jar = new Map();
    const login = await get(jar, '/ui/login');
    const wrong = await post(jar, '/ui/login', { apiKey: 'keel_nothere_xxxxxxxxxxxxxxxxxxxxxxxx', _csrf: csrfOf(login.body) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('unknown or revoked');
    const noToken = await post(jar, '/ui/login', { apiKey: keys.reviewer });
    expect(noToken.statusCode).toBe(400);
    const forged = await post(jar, '/ui/login', { apiKey: keys.reviewer, _csrf: 'forged' });
    expect(forged.statusCode).toBe(403);
    const offSite = await post(jar, '/ui/login', { apiKey: keys.reviewer, next: '//evil.example/ui/', _csrf: csrfOf(login.body) });
    expect(offSite.headers.location).toBe('/ui/');
  });

  it('lists runs awaiting review first, and filters by model and status', async () => {
    const jar = await signIn(keys.engineer);
    const list = await get(jar, `/ui/?model=${model}`);
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('Awaiting review');
    expect(list.body).toContain(runId);
    const deployed = await get(jar, `/ui/?model=${model}&status=deployed`);
    expect(deployed.body).not.toContain(`/ui/runs/${runId}`);
    const bad = await get(jar, '/ui/?status=nonsense');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('querystring/status');
  });

  it('shows a reviewer the evaluation with its ROC curve as server-drawn SVG and an open review form', async () => {
    const jar = await signIn(keys.reviewer);
    const page = await get(jar, `/ui/runs/${runId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<figure id="roc-curve">[\s\S]*?<svg [^>]*aria-label="ROC curve"/);
    expect(page.body).toContain('id="calibration-curve"');
    expect(page.body).toContain('id="confusion-matrix"');
    expect(page.body).toContain('id="feature-importance"');
    // A feature name is data: it is escaped inside the SVG, never markup.
    expect(page.body).not.toContain('<b>temp_max</b>');
    expect(page.body).not.toMatch(/<script/i);
    expect(page.body).toMatch(/<form method="post" action="\/ui\/runs\/[^"]+\/review"[\s\S]*?<fieldset>/);
  });

  it("disables the form for the requester's user (four eyes) and hides it from non-reviewers", async () => {
    const requester = await get(await signIn(keys.reviewerWhoStarted), `/ui/runs/${runId}`);
    expect(requester.body).toContain('id="review-disabled-reason"');
    expect(requester.body).toContain('four eyes');
    expect(requester.body).toContain('<fieldset disabled>');

    const engineer = await get(await signIn(keys.engineer), `/ui/runs/${runId}`);
    expect(engineer.statusCode).toBe(200);
    expect(engineer.body).not.toContain('id="review-form"');
    expect(engineer.body).toContain('Only reviewers decide');
  });

  it("refuses the requester's review through the service, with the API's refusal audit", async () => {
    const jar = await signIn(keys.reviewerWhoStarted);
    const page = await get(jar, `/ui/runs/${runId}`);
    const refused = await post(jar, `/ui/runs/${runId}/review`, { decision: 'approve', comment: 'mine, fine', _csrf: csrfOf(page.body) });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('cannot review it');
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.subject, `run:${runId}`));
    expect(audits.map((row) => row.action)).toContain('run.review_refused');
  });

  it('requires a comment and a CSRF token to review', async () => {
    const jar = await signIn(keys.reviewer);
    const page = await get(jar, `/ui/runs/${runId}`);
    const empty = await post(jar, `/ui/runs/${runId}/review`, { decision: 'approve', comment: '   ', _csrf: csrfOf(page.body) });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('A comment is required');
    const noToken = await post(jar, `/ui/runs/${runId}/review`, { decision: 'approve', comment: 'ok', _csrf: 'forged' });
    expect(noToken.statusCode).toBe(403);
  });

  it('turns away a predict key and ends the session of a revoked key', async () => {
    const scorer = await signIn(keys.predict);
    const refused = await get(scorer, '/ui/');
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('needs one of the roles');

    const doomed = await createKey('temp', ['engineer']);
    const jar = await signIn(doomed);
    expect((await get(jar, '/ui/')).statusCode).toBe(200);
    const listed = await app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${keys.admin}` } });
    const id = (listed.json().keys as { id: string; name: string }[]).find((key) => key.name === 'temp')!.id;
    const revoked = await app.inject({ method: 'DELETE', url: `/v1/keys/${id}`, headers: { authorization: `Bearer ${keys.admin}` } });
    expect(revoked.statusCode).toBeLessThan(300);
    expect((await get(jar, '/ui/')).statusCode).toBe(303);
  });

  it('shows a model page and a readable 404 for an unknown model', async () => {
    const jar = await signIn(keys.engineer);
    const missing = await get(jar, '/ui/models/no-such-model');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('text/html');
  });
});

/** A session cookie signed with the server's secret, as a forger holding the secret (or replaying an old one) would make. */
function signedSession(value: string): string {
  return encodeURIComponent(fastifyCookie.sign(value, sessionCookieSecret(SIGNING_KEY)));
}

describe('web pages under attack', () => {
  it('sends headers that forbid framing, scripts, sniffing and caching on every page, redirect and error', async () => {
    const jar = await signIn(keys.reviewer);
    const responses = [
      await get(jar, `/ui/runs/${runId}`),
      await get(new Map(), '/ui/login'),
      await get(new Map(), `/ui/runs/${runId}`),
      await get(jar, '/ui/models/no-such-model'),
    ];
    for (const response of responses) {
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toMatch(/script-src|unsafe-inline/);
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['cache-control']).toBe('no-store');
    }
    const fresh: Jar = new Map();
    const login = await get(fresh, '/ui/login');
    const signedIn = await post(fresh, '/ui/login', { apiKey: keys.reviewer, next: '/ui/', _csrf: csrfOf(login.body) });
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers['cache-control']).toBe('no-store');
  });

  it('never answers 500 nor injects a header when next carries a line break or a tab', async () => {
    for (const next of ['/ui/\r\nSet-Cookie: keel_session=evil', '/ui/€', '/ui/\n//evil.example', '/ui\t//evil.example']) {
      const jar: Jar = new Map();
      const login = await get(jar, '/ui/login');
      const response = await post(jar, '/ui/login', { apiKey: keys.reviewer, next, _csrf: csrfOf(login.body) });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/ui/');
    }
  });

  it("refuses a CSRF token minted for someone else's browser", async () => {
    const attacker = await signIn(keys.engineer);
    const attackerToken = csrfOf((await get(attacker, `/ui/runs/${runId}`)).body);
    const victim = await signIn(keys.reviewer);
    const refused = await post(victim, `/ui/runs/${runId}/review`, { decision: 'approve', comment: 'csrf', _csrf: attackerToken });
    expect(refused.statusCode).toBe(403);
    // Without the CSRF cookie (a cross-site form post, SameSite=Strict drops every cookie) there is not even a session.
    const crossSite = await app.inject({
      method: 'POST',
      url: `/ui/runs/${runId}/review`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ decision: 'approve', comment: 'x', _csrf: attackerToken }).toString(),
    });
    expect(crossSite.statusCode).toBe(303);
    expect(crossSite.headers.location).toMatch(/^\/ui\/login/);
  });

  it('turns away a tampered, unsigned or expired session cookie', async () => {
    const listed = await app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${keys.admin}` } });
    const reviewerKeyId = (listed.json().keys as { id: string; name: string }[]).find((key) => key.name === 'bob')!.id;
    const unsigned = encodeURIComponent(JSON.stringify({ k: reviewerKeyId, e: Date.now() + 3_600_000 }));
    const expired = signedSession(JSON.stringify({ k: reviewerKeyId, e: Date.now() - 1000 }));
    const valid = signedSession(JSON.stringify({ k: reviewerKeyId, e: Date.now() + 3_600_000 }));
    const tampered = valid.replace(encodeURIComponent(reviewerKeyId), encodeURIComponent(reviewerKeyId.replace(/.$/, (c) => (c === '0' ? '1' : '0'))));
    for (const cookie of [unsigned, expired, tampered, `${valid}x`]) {
      const response = await get(new Map([['keel_session', cookie]]), '/ui/');
      expect(response.statusCode).toBe(303);
    }
    expect((await get(new Map([['keel_session', valid]]), '/ui/')).statusCode).toBe(200);
  });

  it('keeps admin, engineers and predict keys away from the review form and its POST', async () => {
    for (const key of [keys.admin, keys.engineer, keys.predict]) {
      const jar = await signIn(key);
      const token = csrfOf((await get(jar, '/ui/login')).body);
      const refused = await post(jar, `/ui/runs/${runId}/review`, { decision: 'approve', comment: 'not mine to approve', _csrf: token });
      expect(refused.statusCode).toBe(403);
    }
    const admin = await get(await signIn(keys.admin), `/ui/runs/${runId}`);
    expect(admin.statusCode).toBe(200);
    expect(admin.body).not.toContain('id="review-form"');
    const run = await app.inject({ method: 'GET', url: `/v1/runs/${runId}`, headers: { authorization: `Bearer ${keys.admin}` } });
    expect(run.json().status).toBe('awaiting_review');
  });

  it('escapes hostile spec fields and requester names', async () => {
    const jar = await signIn(keys.reviewer);
    const page = await get(jar, `/ui/runs/${hostileRunId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toMatch(/<script|<img/i);
    const list = await get(jar, `/ui/?model=${model}`);
    expect(list.body).not.toMatch(/<script|<img/i);
  });

  it('shows how many holdout rows each calibration bin holds, and the confusion threshold', async () => {
    const jar = await signIn(keys.reviewer);
    const page = await get(jar, `/ui/runs/${runId}`);
    const table = /<table class="compact calibration-bins">([\s\S]*?)<\/table>/.exec(page.body);
    expect(table).not.toBeNull();
    const labels = Float64Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const scores = Float64Array.from(labels, (label, i) => Math.min(0.99, Math.max(0.01, 0.3 * label + ((i * 37) % 100) / 140)));
    const counts = calibrationBins(labels, scores).filter((bin) => bin.count > 0).map((bin) => bin.count);
    const shown = [...table![1]!.matchAll(/<td class="num rows">(\d+)<\/td>/g)].map((match) => Number(match[1]));
    expect(shown).toEqual(counts);
    expect(page.body).toMatch(/Confusion matrix at threshold 0\.5/);
  });

  it('slows down a key-guessing client: after 10 failed sign-ins from one address, even a right key waits', async () => {
    const from = { remoteAddress: '198.51.100.7' };
    const jar: Jar = new Map();
    const login = await get(jar, '/ui/login');
    const attempt = (apiKey: string) =>
      app.inject({
        method: 'POST',
        url: '/ui/login',
        ...from,
        headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ apiKey, _csrf: csrfOf(login.body) }).toString(),
      });
    for (let i = 0; i < 10; i++) expect((await attempt(`keel_guess${i}_xxxxxxxxxxxxxxxxxxxxxxxx`)).statusCode).toBe(401);
    const limited = await attempt(keys.reviewer);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.body).toContain('Too many failed sign-ins');
    // Another address is not held back by this one's guesses.
    expect((await post(jar, '/ui/login', { apiKey: keys.reviewer, _csrf: csrfOf(login.body) })).statusCode).toBe(303);
  });
});
