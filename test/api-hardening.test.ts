// Issue 11 §3, API side: each bypass is tried through the real app (real Postgres, the real Temporal dev server) and
// must be refused: record schemas, least privilege, redaction, Keel-only schedules, junk tokens.
import { randomBytes } from 'node:crypto';
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
    [{ transform: 'SELECT * FROM source', sources: { 'bad-name': { uri: '/a.csv' } } }, 'body/sources/bad-name'],
    [{ expectations: { columns: { '': { nullable: false } } } }, 'body/expectations/columns/'],
  ])('when a run spec carries %j, then POST /v1/runs answers 400 naming %s and records nothing', async (patch, field) => {
    const model = uniqueName('m');
    const response = await call('POST', '/v1/runs', keys.engineer, { ...spec(model), ...patch });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) });
    expect(await database.db.select().from(runs).where(eq(runs.model, model))).toEqual([]);
  });

  it('when a schedule or an approval policy carries a gate key off its pattern, then it is a 400 naming the field', async () => {
    const schedule = await call('POST', '/v1/schedules', keys.engineer, { id: uniqueName('s'), cron: '0 2 * * *', run: { ...spec('m'), gates: { AUC: null } } });
    expect(schedule.statusCode).toBe(400);
    expect(schedule.json().error.message).toContain('body/run/gates/AUC');
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
      trainer: { kind: 'gbdt', params: { numIterations: 5, learning_rate: 0.1 } },
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
