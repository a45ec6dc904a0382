// Issue 11 §3, API side: each bypass is tried through the real app (real Postgres, the real Temporal dev server) and
// must be refused: record schemas, least privilege, redaction, Keel-only schedules, junk tokens.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { hashApiKey } from '../api/auth/api-key-secret.js';
import { insertApiKey } from '../db/repositories/api-keys.js';
import { loadConfig } from '../config.js';
import { auditLog, runs } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
const keys = { admin: '', engineer: '', engineer2: '', reviewer: '', ops: '', predict: '' };
const startedWorkflows: string[] = [];
const createdSchedules: string[] = [];

async function createKey(name: string, roles: string[]): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${keys.admin}` }, payload: { name, roles } });
  expect(response.statusCode).toBe(201);
  return response.json().secret;
}

function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, key: string, payload?: unknown) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    config: loadConfig({ KEEL_SIGNING_KEY: 'api-hardening-test-signing-key-0123456789ab' }),
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  keys.engineer = await createKey('erin', ['engineer']);
  keys.engineer2 = await createKey('carl', ['engineer']);
  keys.reviewer = await createKey('rita', ['reviewer']);
  keys.ops = await createKey('otto', ['ops']);
  keys.predict = await createKey('scorer', ['predict']);
});

afterAll(async () => {
  await Promise.allSettled(startedWorkflows.map((id) => temporal.client.workflow.getHandle(id).terminate('test cleanup')));
  await Promise.allSettled(createdSchedules.map((id) => temporal.client.schedule.getHandle(id).delete()));
  await app?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

const CHROMIUM = '/usr/bin/chromium';

const spec = (model: string) => ({ model, dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary' });

describe('record schemas refuse keys that miss their pattern', () => {
  it.each([
    [{ gates: { AUC: null } }, 'body/gates/AUC'],
    [{ gates: { auc: null } }, 'body/gates/auc'],
    [{ gates: { auc: { min: null } } }, 'body/gates/auc/min'],
    [{ gates: { auc: { minimum: 0.8 } } }, 'body/gates/auc/minimum'],
    [{ gates: { maxRegression: null } }, 'body/gates/maxRegression'],
    [{ gates: { maxRegression: { auc: null } } }, 'body/gates/maxRegression/auc'],
    [{ gates: { maxRegression: { auc: -0.01 } } }, 'body/gates/maxRegression/auc'],
    [{ gates: { maxRegression: { AUC: 0.01 } } }, 'body/gates/maxRegression/AUC'],
    [{ gates: { maxRegression: 'x' } }, 'body/gates/maxRegression'],
    [{ trainer: { kind: 'gbdt', params: { 'num-iterations': 5 } } }, 'body/trainer/params/num-iterations'],
    [{ trainer: { kind: 'gbdt', params: { numIterations: null } } }, 'body/trainer/params/numIterations'],
    // 1e308 is an integer to JSON Schema and to Number.isInteger: bounded now, as the trainers bound them.
    [{ trainer: { kind: 'gbdt', params: { numIterations: 1e308 } } }, 'body/trainer/params/numIterations'],
    [{ trainer: { kind: 'gbdt', params: { numLeaves: 1e308 } } }, 'body/trainer/params/numLeaves'],
    [{ trainer: { kind: 'gbdt', params: { seed: 1e308 } } }, 'body/trainer/params/seed'],
    [{ trainer: { kind: 'linear', params: { maxIterations: 1e308 } } }, 'body/trainer/params/maxIterations'],
    [{ trainer: { kind: 'gbdt', params: { learning_rate: 0.1 } } }, 'body/trainer/params/learning_rate'],
    [{ transform: 'SELECT * FROM source', sources: { 'bad-name': { uri: '/a.csv' } } }, 'body/sources/bad-name'],
    [{ expectations: { columns: { '': { nullable: false } } } }, 'body/expectations/columns/'],
  ])('when a run spec carries %j, then POST /v1/runs answers 400 naming %s and records nothing', async (patch, field) => {
    const model = uniqueName('m');
    const response = await call('POST', '/v1/runs', keys.engineer, { ...spec(model), ...patch });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) });
    expect(await database.db.select().from(runs).where(eq(runs.model, model))).toEqual([]);
  });

  it('when a schedule or an approval policy carries a gate key off its pattern (or a schedule a trainer parameter out of range), then it is a 400 naming the field', async () => {
    const schedule = await call('POST', '/v1/schedules', keys.engineer, { id: uniqueName('s'), cron: '0 2 * * *', run: { ...spec('m'), gates: { AUC: null } } });
    expect(schedule.statusCode).toBe(400);
    expect(schedule.json().error.message).toContain('body/run/gates/AUC');
    // Every run of the schedule would have failed at training (or, for numLeaves, retried without end).
    const params = await call('POST', '/v1/schedules', keys.engineer, { id: uniqueName('s'), cron: '0 2 * * *', run: { ...spec('m'), trainer: { kind: 'gbdt', params: { numLeaves: 1e308 } } } });
    expect(params.statusCode, params.body).toBe(400);
    expect(params.json().error.message).toContain('body/run/trainer/params/numLeaves');
    const policy = await call('PUT', `/v1/models/${uniqueName('m')}/policy`, keys.ops, { autoApprove: true, gates: { AUC: { min: 0.8 } } });
    expect(policy.statusCode).toBe(400);
    expect(policy.json().error.message).toContain('body/gates/AUC');
    const negative = await call('PUT', `/v1/models/${uniqueName('m')}/policy`, keys.ops, { autoApprove: true, gates: { maxRegression: { auc: null } } });
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error.message).toContain('body/gates/maxRegression/auc');
  });

  it('when gates are well formed, then the run starts', async () => {
    const model = uniqueName('m');
    const response = await call('POST', '/v1/runs', keys.engineer, {
      ...spec(model),
      gates: { auc: { min: 0.7, max: 1 }, f1_class_2: { min: 0.1 }, maxRegression: { auc: 0, logloss: 0.01 } },
      trainer: { kind: 'gbdt', params: { numIterations: 5, learningRate: 0.1 } },
    });
    expect(response.statusCode).toBe(201);
    startedWorkflows.push(response.json().workflowId);
  });
});

describe('authentication cost is bounded', () => {
  async function scryptCount(result: 'valid' | 'invalid'): Promise<number> {
    const metric = await app.metricsRegistry.getSingleMetric('keel_api_key_verifications_total')!.get();
    return metric.values.find((value) => value.labels.result === result)?.value ?? 0;
  }

  it('when tokens that are not well-formed Keel keys arrive, then each is refused (401) without a scrypt, and the valid key stays cached', async () => {
    // A key installed from KEEL_ADMIN_KEY by another process: before, every odd-shaped token was checked against it with scrypt.
    await insertApiKey(database.db, { name: 'configured elsewhere', userName: 'admin', roles: ['admin'], prefix: 'configured', secretHash: await hashApiKey('some-operator-chosen-admin-key'), createdBy: null });
    expect((await call('GET', '/v1/runs?limit=1', keys.engineer)).statusCode).toBe(200);
    const [validBefore, invalidBefore] = [await scryptCount('valid'), await scryptCount('invalid')];
    const junk = [
      ...Array.from({ length: 200 }, (_, i) => `junk-token-${i}-${randomBytes(12).toString('hex')}`),
      'keel_', 'keel_ABCDEFGH_' + 'a'.repeat(43), `keel_abcdefgh_${'a'.repeat(42)}`, 'x'.repeat(512), 'some-operator-chosen-admin-key',
    ];
    const answers = await Promise.all(junk.map((token) => call('GET', '/v1/runs?limit=1', token)));
    expect(answers.map((answer) => answer.statusCode)).toEqual(junk.map(() => 401));
    expect(await scryptCount('invalid')).toBe(invalidBefore);
    // The valid key was not evicted by the junk: answered from the cache, no new scrypt.
    expect((await call('GET', '/v1/runs?limit=1', keys.engineer)).statusCode).toBe(200);
    expect(await scryptCount('valid')).toBe(validBefore);
  });

  it('when a well-formed key with a known prefix but a wrong secret arrives, then it is checked once and refused', async () => {
    const tampered = keys.ops.slice(0, -4) + (keys.ops.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const before = await scryptCount('invalid');
    expect((await call('GET', '/v1/runs?limit=1', tampered)).statusCode).toBe(401);
    expect((await call('GET', '/v1/runs?limit=1', tampered)).statusCode).toBe(401);
    expect(await scryptCount('invalid')).toBe(before + 1);
  });
});

describe('least privilege: a predict-only key reads predictions only', () => {
  it('when a predict key reads runs, models, schedules, reports or audit, then every GET is 403', async () => {
    const model = uniqueName('m');
    const started = await call('POST', '/v1/runs', keys.engineer, spec(model));
    startedWorkflows.push(started.json().workflowId);
    const reads = [
      '/v1/runs', `/v1/runs/${started.json().id}`, '/v1/models', `/v1/models/${model}`, `/v1/models/${model}/production`,
      `/v1/models/${model}/monitoring`, `/v1/models/${model}/policy`, `/v1/models/${model}/predictions`, '/v1/schedules',
      '/v1/schedules/nightly', '/v1/audit', '/v1/audit/verify', '/v1/keys',
    ];
    for (const url of reads) {
      const response = await call('GET', url, keys.predict);
      expect([url, response.statusCode]).toEqual([url, 403]);
    }
    // The one thing besides predictions a predict key reads: the input contract of the model it calls (404: no model yet).
    expect((await call('GET', `/v1/models/${model}/input`, keys.predict)).statusCode).toBe(404);
    // The people who work with runs still read them.
    for (const key of [keys.engineer, keys.reviewer, keys.ops, keys.admin]) {
      expect((await call('GET', `/v1/runs/${started.json().id}`, key)).statusCode).toBe(200);
    }
  });
});

describe('URL query strings and credentials are redacted wherever they are stored or shown', () => {
  const secretUri = 'https://alice:hunter2@data.example.com/flights.csv?X-Amz-Signature=s3cr3tsig&token=t0ken';
  const leaks = (text: string) => ['hunter2', 's3cr3tsig', 't0ken'].filter((secret) => text.includes(secret));

  it('when a run names a dataset URL with a token and a password, then memo, audit and API responses hold neither', async () => {
    const model = uniqueName('m');
    const response = await call('POST', '/v1/runs', keys.engineer, {
      ...spec(model),
      dataset: { uri: secretUri },
      transform: 'SELECT * FROM source JOIN airports USING (origin)',
      sources: { airports: { uri: 'https://bob:pw-extra-9@data.example.com/airports.csv?sig=sourcesig' } },
    });
    expect(response.statusCode).toBe(201);
    const { id, workflowId } = response.json();
    startedWorkflows.push(workflowId);
    const description = await temporal.client.workflow.getHandle(workflowId).describe();
    const memo = JSON.stringify(await description.memo);
    expect(memo).toContain('https://[redacted]@data.example.com/flights.csv?[redacted]');
    expect(leaks(memo)).toEqual([]);
    const audit = await call('GET', `/v1/audit?target=run:${id}`, keys.ops);
    expect(audit.statusCode).toBe(200);
    expect(audit.body).toContain('data.example.com/flights.csv');
    expect(leaks(audit.body)).toEqual([]);
    const [stored] = await database.db.select().from(auditLog).where(eq(auditLog.subject, `run:${id}`));
    expect(leaks(JSON.stringify(stored))).toEqual([]);
    const shown = await call('GET', `/v1/runs/${id}`, keys.reviewer);
    expect(shown.json().spec.dataset.uri).toBe('https://[redacted]@data.example.com/flights.csv?[redacted]');
    expect(leaks(shown.body)).toEqual([]);
    expect(shown.body).not.toContain('sourcesig');
    // The run itself still reads the real URL: the stored spec is the execution record.
    const [row] = await database.db.select().from(runs).where(eq(runs.id, id));
    expect((row!.spec as { dataset: { uri: string } }).dataset.uri).toBe(secretUri);
  });

  it('when a schedule names such a URL, then its memo, its audit row and its view hold no secret', async () => {
    const id = uniqueName('s');
    createdSchedules.push(`keel-${id}`);
    const created = await call('POST', '/v1/schedules', keys.engineer, { id, cron: '0 3 * * *', run: { ...spec(uniqueName('m')), dataset: { uri: secretUri } } });
    expect(created.statusCode).toBe(201);
    expect(leaks(created.body)).toEqual([]);
    const description = await temporal.client.schedule.getHandle(`keel-${id}`).describe();
    const actionMemo = description.action.type === 'startWorkflow' ? description.action.memo : undefined;
    expect(leaks(JSON.stringify(actionMemo ?? {}))).toEqual([]);
    expect(leaks(JSON.stringify(description.memo ?? {}))).toEqual([]);
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.subject, `schedule:${id}`));
    expect(audit).toHaveLength(1);
    expect(leaks(JSON.stringify(audit))).toEqual([]);
  });
});

describe("schedules: only Keel's own, deleted only by their owner or ops", () => {
  it("when a schedule in the namespace is not Keel's (no keel- prefix), then it is neither listed nor shown, changed or deleted", async () => {
    const foreign = uniqueName('foreign');
    createdSchedules.push(foreign);
    await temporal.client.schedule.create({
      scheduleId: foreign,
      spec: { cronExpressions: ['0 4 * * *'] },
      action: { type: 'startWorkflow', workflowType: 'somethingElse', taskQueue: 'not-keel', args: [] },
    });
    const listed = await call('GET', '/v1/schedules', keys.ops);
    expect(listed.json().schedules.map((schedule: { id: string }) => schedule.id)).not.toContain(foreign);
    expect((await call('GET', `/v1/schedules/${foreign}`, keys.ops)).statusCode).toBe(404);
    expect((await call('POST', `/v1/schedules/${foreign}/pause`, keys.ops, {})).statusCode).toBe(404);
    expect((await call('POST', `/v1/schedules/${foreign}/trigger`, keys.ops, {})).statusCode).toBe(404);
    expect((await call('DELETE', `/v1/schedules/${foreign}`, keys.ops)).statusCode).toBe(404);
    const stillThere = await temporal.client.schedule.getHandle(foreign).describe();
    expect(stillThere.state.paused).toBe(false);
  });

  it('when another engineer deletes a schedule, then it is refused (403) and stays; its owner and ops may delete', async () => {
    const model = uniqueName('m');
    const [mine, forOps] = [uniqueName('s'), uniqueName('s')];
    createdSchedules.push(`keel-${mine}`, `keel-${forOps}`);
    for (const id of [mine, forOps]) {
      expect((await call('POST', '/v1/schedules', keys.engineer, { id, cron: '0 2 * * *', run: spec(model) })).statusCode).toBe(201);
    }
    const listed = await call('GET', '/v1/schedules', keys.reviewer);
    expect(listed.json().schedules.map((schedule: { id: string }) => schedule.id)).toEqual(expect.arrayContaining([mine, forOps]));
    const refused = await call('DELETE', `/v1/schedules/${mine}`, keys.engineer2);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ code: 'FORBIDDEN', details: { owner: 'erin' } });
    expect((await call('DELETE', `/v1/schedules/${mine}`, keys.reviewer)).statusCode).toBe(403);
    expect((await call('GET', `/v1/schedules/${mine}`, keys.ops)).statusCode).toBe(200);
    expect((await call('DELETE', `/v1/schedules/${mine}`, keys.engineer)).statusCode).toBe(204);
    expect((await call('DELETE', `/v1/schedules/${forOps}`, keys.ops)).statusCode).toBe(204);
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.action, 'schedule.delete'));
    expect(audit.map((row) => [row.subject, row.actor, row.role])).toEqual(
      expect.arrayContaining([[`schedule:${mine}`, 'erin', 'engineer'], [`schedule:${forOps}`, 'otto', 'ops']]),
    );
  });
});

describe('overload protection, rate limits, security headers, body limits and timeouts', () => {
  async function appWith(env: Record<string, string>): Promise<KeelApp> {
    const own = await buildApp({
      config: loadConfig({ KEEL_SIGNING_KEY: 'api-hardening-test-signing-key-0123456789ab', ...env }),
      db: database.db,
      pool: database.pool,
      temporal: { client: temporal.client, connection: temporal.connection },
      logger: false,
    });
    await own.ready();
    return own;
  }

  it('when one key exceeds its writes or reviews per minute, then it gets 429 with Retry-After; other keys, reads and predict are not limited', async () => {
    const limited = await appWith({ KEEL_RATE_LIMIT_WRITES: '3', KEEL_RATE_LIMIT_REVIEWS: '2' });
    try {
      const send = (method: 'GET' | 'POST', url: string, key: string, payload: unknown = {}) =>
        limited.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(method === 'POST' ? { payload: payload as object } : {}) });
      const cancels = [];
      for (let i = 0; i < 4; i++) cancels.push((await send('POST', '/v1/runs/r-none/cancel', keys.ops)).statusCode);
      expect(cancels).toEqual([404, 404, 404, 429]);
      const refused = await send('POST', '/v1/runs/r-none/cancel', keys.ops);
      expect(refused.json().error.code).toBe('TOO_MANY_REQUESTS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another key has its own budget; reads are not writes.
      expect((await send('POST', '/v1/runs/r-none/cancel', keys.engineer)).statusCode).toBe(404);
      expect((await send('GET', '/v1/runs', keys.ops)).statusCode).toBe(200);
      const reviews = [];
      for (let i = 0; i < 3; i++) reviews.push((await send('POST', '/v1/runs/r-none/review', keys.reviewer, { decision: 'approve' })).statusCode);
      expect(reviews).toEqual([404, 404, 429]);
      const predictions = [];
      for (let i = 0; i < 5; i++) predictions.push((await send('POST', '/v1/models/no-such-model/predict', keys.predict, { features: [{ x: 1 }] })).statusCode);
      expect(predictions).not.toContain(429);
    } finally {
      await limited.close();
    }
  });

  it('when the event loop lags past the limit, then requests get 503 with Retry-After before authentication, and /healthz still answers', async () => {
    const guarded = await appWith({ KEEL_MAX_EVENT_LOOP_DELAY_MS: '20' });
    try {
      let overloaded: Awaited<ReturnType<KeelApp['inject']>> | undefined;
      for (let attempt = 0; attempt < 20 && !overloaded; attempt++) {
        const until = performance.now() + 1_200;
        while (performance.now() < until) {
          // Busy: the event loop cannot turn, as under a CPU-bound burst.
        }
        await new Promise((resolve) => setImmediate(resolve));
        const response = await guarded.inject({ method: 'GET', url: '/v1/runs', headers: { authorization: 'Bearer not-even-a-key' } });
        if (response.statusCode === 503) {
          overloaded = response;
          expect((await guarded.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
        }
      }
      expect(overloaded?.json().error.code).toBe('SERVICE_UNAVAILABLE');
      expect(Number(overloaded?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await guarded.close();
    }
  });

  it('sends security headers, with a CSP that allows the docs page its own scripts and styles only', async () => {
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    const csp = String(docs.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    const api = await call('GET', '/v1/runs', keys.engineer);
    expect(api.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN' });
    expect(api.headers['content-security-policy']).toBeDefined();
  });

  it.skipIf(!existsSync(CHROMIUM))('when a browser opens /docs under that CSP, then Swagger UI renders the API with no CSP violation', async () => {
    const docsApp = await appWith({});
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      await docsApp.listen({ host: '127.0.0.1', port: 0 });
      const { port } = docsApp.server.address() as AddressInfo;
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/content security policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`http://127.0.0.1:${port}/docs`);
      await page.waitForSelector('.swagger-ui .info .title', { timeout: 30_000 });
      expect(await page.textContent('.swagger-ui .info .title')).toContain('Keel API');
      await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
      await docsApp.close();
    }
  });

  it('refuses bodies over the route limit (413): small routes small, run specs 1 MiB, predict 4 MiB', async () => {
    const padding = (bytes: number) => 'x'.repeat(bytes);
    const keyBody = await call('POST', '/v1/keys', keys.admin, { name: 'big', roles: ['engineer'], user: padding(100_000) });
    expect(keyBody.statusCode).toBe(413);
    const review = await call('POST', '/v1/runs/r-none/review', keys.reviewer, { decision: 'approve', comment: padding(100_000) });
    expect(review.statusCode).toBe(413);
    const runSpec = await call('POST', '/v1/runs', keys.engineer, { ...spec(uniqueName('m')), transform: padding(500_000) });
    expect(runSpec.statusCode).toBe(400); // over the schema's 100,000 characters, under the route's body limit
    const tooBigSpec = await call('POST', '/v1/runs', keys.engineer, { ...spec(uniqueName('m')), transform: padding(1_100_000) });
    expect(tooBigSpec.statusCode).toBe(413);
    const predictBody = await call('POST', '/v1/models/no-such-model/predict', keys.predict, { features: [{ x: padding(2_000_000) }] });
    expect(predictBody.statusCode).not.toBe(413);
    const tooBigPredict = await call('POST', '/v1/models/no-such-model/predict', keys.predict, { features: [{ x: padding(4_300_000) }] });
    expect(tooBigPredict.statusCode).toBe(413);
  });

  it('when a client trickles its request headers, then the connection is answered 408 and closed after the request timeout', async () => {
    const slow = await appWith({ KEEL_REQUEST_TIMEOUT_MS: '300' });
    try {
      await slow.listen({ host: '127.0.0.1', port: 0 });
      const { port } = slow.server.address() as AddressInfo;
      const socket = connect({ host: '127.0.0.1', port });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write('GET /v1/runs HTTP/1.1\r\nHost: x\r\n'); // never finishes the headers
      await closed;
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await slow.close();
    }
  });
});
