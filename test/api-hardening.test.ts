// Issue 11 §3, API side: each bypass is tried through the real app (real Postgres, the real Temporal dev server) and
// must be refused: record schemas, least privilege, redaction, Keel-only schedules, junk tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { loadConfig } from '../config.js';
import { runs } from '../db/schema.js';
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
