// /v1/models and /v1/models/:name/predict through app.inject() on real Postgres, artifacts and onnxruntime.
import pino from 'pino';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig } from '../config.js';
import { setModelVersionStatus } from '../db/repositories/model-versions.js';
import { auditLog } from '../db/schema.js';
import { createServingDeps, type ServingDeps } from '../serving/serving-deps.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { registerFixtureVersion, setProduction, sigmoid } from './support/model-fixtures.js';

let database: TestDatabase;
let artifactDir: string;
let artifacts: FsArtifactStore;
let serving: ServingDeps;
let app: KeelApp;
const keys = { admin: '', predict: '', ops: '', engineer: '' };

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-api-models-'));
  artifacts = new FsArtifactStore(artifactDir);
  serving = await createServingDeps({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'api-models-test', level: 'error' }) });
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({ config: loadConfig({}), db: database.db, pool: database.pool, serving, logger: false });
  await app.ready();
  for (const [name, role] of [['predict', 'predict'], ['ops', 'ops'], ['engineer', 'engineer']] as const) {
    const response = await post('/v1/keys', keys.admin, { name: `${name}-key`, roles: [role] });
    expect(response.statusCode).toBe(201);
    keys[name] = response.json().secret;
  }

  // "churn": v1 and v2 deployed in turn (v2 in production), v3 rejected, v4 approved but its artifact corrupted.
  const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'churn', runId: 'churn-1' });
  await setProduction(database.db, v1, 'churn');
  const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'churn', runId: 'churn-2', shift: 1 });
  await setProduction(database.db, v2, 'churn');
  for (const v of [v1, v2]) await setModelVersionStatus(database.db, v.modelId, v.version, v.version === 2 ? 'deployed' : 'retired');
  const v3 = await registerFixtureVersion(database.db, artifacts, { model: 'churn', runId: 'churn-3', shift: 2 });
  await setModelVersionStatus(database.db, v3.modelId, 3, 'rejected');
  const v4 = await registerFixtureVersion(database.db, artifacts, { model: 'churn', runId: 'churn-4', shift: 3.5 });
  const shard = join(artifactDir, 'sha256', v4.artifactSha256.slice(0, 2));
  const [file] = (await readdir(shard)).filter((name) => name.startsWith(v4.artifactSha256));
  await writeFile(join(shard, file!), 'corrupted');
  await registerFixtureVersion(database.db, artifacts, { model: 'undeployed', runId: 'undeployed-1' });
});

afterAll(async () => {
  await app?.close();
  await serving?.close();
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

function post(url: string, key: string, payload: unknown) {
  return app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
}
function get(url: string, key: string) {
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
}

describe('POST /v1/models/:name/predict', () => {
  it('scores rows with the production version', async () => {
    const response = await post('/v1/models/churn/predict', keys.predict, { features: [{ x: 2, color: 'red' }, { x: 0.1 }] });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ model: 'churn', version: 2 });
    expect(body.predictions).toEqual([
      { id: expect.stringMatching(/^[0-9a-f-]{36}$/), label: 1, probability: expect.closeTo(sigmoid(2), 6) },
      // p = 0.5 exactly: the label threshold is inclusive.
      { id: expect.stringMatching(/^[0-9a-f-]{36}$/), label: 1, probability: 0.5 },
    ]);
  });

  it('answers 400 naming the row and field of a bad value or an unknown feature', async () => {
    const wrongType = await post('/v1/models/churn/predict', keys.predict, { features: [{ x: 1 }, { x: 'high' }] });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error).toMatchObject({ code: 'INVALID_ROW', details: { row: 1, field: 'x' } });
    const unknown = await post('/v1/models/churn/predict', keys.predict, { features: [{ x: 1, colour: 'red' }] });
    expect(unknown.json().error).toMatchObject({ code: 'INVALID_ROW', message: 'rows[0].colour: is not a feature of this model' });
    const nested = await post('/v1/models/churn/predict', keys.predict, { features: [{ x: { value: 1 } }] });
    expect(nested.statusCode).toBe(400);
    expect(nested.json().error.message).toContain('/features/0/x');
  });

  it('answers raw source rows for a version registered without a serving recipe with 400 that says to send features', async () => {
    const response = await post('/v1/models/churn/predict', keys.predict, { rows: [{ x: 2, color: 'red' }] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'RAW_ROWS_NOT_SERVABLE', details: { send: 'features' } });
    expect(response.json().error.message).toContain('{ "features": [...] }');
  });

  it('answers 400 for no rows or more than 1000', async () => {
    expect((await post('/v1/models/churn/predict', keys.predict, { features: [] })).statusCode).toBe(400);
    const many = Array.from({ length: 1001 }, () => ({ x: 1 }));
    expect((await post('/v1/models/churn/predict', keys.predict, { features: many })).statusCode).toBe(400);
  });

  it('answers 404 for an unknown model and for a model without a production version', async () => {
    const unknown = await post('/v1/models/nope/predict', keys.predict, { features: [{ x: 1 }] });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('MODEL_NOT_FOUND');
    const undeployed = await post('/v1/models/undeployed/predict', keys.predict, { features: [{ x: 1 }] });
    expect(undeployed.statusCode).toBe(404);
    expect(undeployed.json().error.code).toBe('NO_PRODUCTION_VERSION');
  });

  it('refuses a key without the predict role', async () => {
    expect((await post('/v1/models/churn/predict', keys.engineer, { features: [{ x: 1 }] })).statusCode).toBe(403);
  });
});

describe('GET /v1/models', () => {
  it('lists models with their production and latest versions', async () => {
    const response = await get('/v1/models', keys.engineer);
    expect(response.statusCode).toBe(200);
    expect(response.json().models).toEqual([
      expect.objectContaining({ name: 'churn', task: 'binary', productionVersion: 2, latestVersion: 4, versionCount: 4 }),
      expect.objectContaining({ name: 'undeployed', productionVersion: null, latestVersion: 1 }),
    ]);
  });

  it('shows versions with status and lineage, aliases, and the alias history newest first', async () => {
    const response = await get('/v1/models/churn', keys.engineer);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
      [1, 'retired'],
      [2, 'deployed'],
      [3, 'rejected'],
      [4, 'approved'],
    ]);
    expect(body.versions[1].lineage).toEqual({ runId: 'churn-2', snapshotSha256: 'f'.repeat(64), parentVersion: null, evaluationReportId: null });
    expect(body.aliases).toEqual([{ alias: 'production', version: 2, updatedAt: expect.any(String) }]);
    expect(body.history.map((h: { action: string; fromVersion: number | null; toVersion: number }) => [h.action, h.fromVersion, h.toVersion])).toEqual([
      ['deploy', 1, 2],
      ['deploy', null, 1],
    ]);
    expect((await get('/v1/models/nope', keys.engineer)).statusCode).toBe(404);
  });
});

describe('POST /v1/models/:name/rollback', () => {
  it('refuses a rejected version (422), the current one (409), an unknown one (404) and a non-ops key (403)', async () => {
    const rejected = await post('/v1/models/churn/rollback', keys.ops, { version: 3, reason: 'try' });
    expect(rejected.statusCode).toBe(422);
    expect(rejected.json().error.code).toBe('VERSION_NOT_DEPLOYABLE');
    expect((await post('/v1/models/churn/rollback', keys.ops, { version: 2, reason: 'try' })).statusCode).toBe(409);
    expect((await post('/v1/models/churn/rollback', keys.ops, { version: 9, reason: 'try' })).statusCode).toBe(404);
    expect((await post('/v1/models/nope/rollback', keys.ops, { version: 1, reason: 'try' })).statusCode).toBe(404);
    expect((await post('/v1/models/churn/rollback', keys.engineer, { version: 1, reason: 'try' })).statusCode).toBe(403);
  });

  // Found by test/route-fuzz.test.ts (seed 934613273): 1e308 is an integer to JSON Schema, and the int4 query failed (500).
  it.each([
    [{ version: 1e308, reason: 'fuzz', expectedProduction: null }, '/version'],
    [{ version: 2_147_483_648, reason: 'one past int4' }, '/version'],
    [{ version: 1, reason: 'fuzz', expectedProduction: 1e308 }, '/expectedProduction'],
  ])('when the body is %j, a version no integer column holds, then 400 names the field %s and nothing moves', async (body, field) => {
    const auditsBefore = await database.db.select().from(auditLog);
    const response = await post('/v1/models/churn/rollback', keys.ops, body);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain(`body${field}`);
    expect(await database.db.select().from(auditLog)).toHaveLength(auditsBefore.length);
    expect((await get('/v1/models/churn', keys.engineer)).json().history[0]).toMatchObject({ action: 'deploy', toVersion: 2 });
  });

  it('refuses a version whose artifact no longer matches its sha256', async () => {
    const response = await post('/v1/models/churn/rollback', keys.ops, { version: 4, reason: 'try' });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('VERSION_NOT_LOADABLE');
  });

  it('refuses a rollback whose expectedProduction is not production (409 PRODUCTION_MOVED), changing nothing', async () => {
    const response = await post('/v1/models/churn/rollback', keys.ops, { version: 1, reason: 'v3 drifts', expectedProduction: 3 });
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toMatchObject({ code: 'PRODUCTION_MOVED', details: { expectedVersion: 3, actualVersion: 2 } });
    const detail = (await get('/v1/models/churn', keys.engineer)).json();
    expect(detail.history[0]).toMatchObject({ action: 'deploy', toVersion: 2 });
  });

  it('points production back to version 1, audited, and predictions come from it at once', async () => {
    const response = await post('/v1/models/churn/rollback', keys.ops, { version: 1, reason: 'v2 drifts', expectedProduction: 2 });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ model: 'churn', alias: 'production', version: 1, previousVersion: 2 });
    const predicted = await post('/v1/models/churn/predict', keys.predict, { features: [{ x: 2, color: 'red' }] });
    expect(predicted.json()).toMatchObject({ version: 1, predictions: [{ probability: expect.closeTo(sigmoid(1), 6) }] });
    const detail = (await get('/v1/models/churn', keys.engineer)).json();
    expect(detail.history[0]).toMatchObject({ action: 'rollback', fromVersion: 2, toVersion: 1, actor: 'ops-key', reason: 'v2 drifts' });
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.action, 'model.rollback'));
    expect(audits).toEqual([expect.objectContaining({ actor: 'ops-key', role: 'ops', subject: 'model:churn' })]);
  });
});
