import pino from 'pino';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { getAliasVersion, listDeployments, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { approvals, auditLog, runs } from '../db/schema.js';
import { featureSchemaOf } from '../ml/onnx/index.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { onnxBytesOf, sigmoid, stumpModel } from '../test/support/model-fixtures.js';
import { registrationInput } from '../test/support/registration-input.js';
import { insertRunRow } from '../test/support/run-rows.js';
import type { RegisterModelVersionInput } from '../workflows/contracts/pipeline-activities.js';
import { createRegistryActivities, type RegistryActivities } from './registry-activities.js';

let database: TestDatabase;
let artifactDir: string;
let artifacts: FsArtifactStore;
let cache: ModelCache;
let activities: RegistryActivities;
// Expected failures (smoke tests) would otherwise be logged as activity warnings.
const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
/** Runs the activity in a mock activity context (its `run` does not infer the result type). */
const inActivity = <P extends unknown[], R>(fn: (...args: P) => Promise<R>, ...args: P): Promise<R> => env.run(fn, ...args) as Promise<R>;

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-registry-'));
  artifacts = new FsArtifactStore(artifactDir);
  cache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'registry-test', level: 'error' }) });
  activities = createRegistryActivities({ db: database.db, modelCache: cache, logger: { warn: () => undefined } });
});
afterAll(async () => {
  await cache?.close();
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

/** A register input for `runId` (given its runs row), its artifact being the stump model (or `bytes`). */
async function registration(model: string, runId: string, options: { shift?: number; bytes?: Uint8Array } = {}): Promise<RegisterModelVersionInput> {
  await insertRunRow(database.db, runId, model);
  const gbdt = stumpModel('binary', options.shift ?? 0);
  const onnx = await artifacts.putBytes(options.bytes ?? onnxBytesOf(gbdt), { extension: '.onnx' });
  const json = await artifacts.putBytes(Buffer.from(JSON.stringify(gbdt)), { extension: '.json' });
  return registrationInput(model, runId, {
    training: {
      artifactSha256: onnx.sha256,
      artifactUri: onnx.uri,
      modelJsonSha256: json.sha256,
      featureSchema: featureSchemaOf(gbdt.features),
      params: { learningRate: 0.1 },
      metrics: { validLogloss: 0.4 },
    },
  });
}

const approve = (model: string, runId: string, version: number) =>
  activities.recordReviewDecision({
    runId,
    model,
    version,
    result: { decision: 'approve', reviewer: 'rita', comment: 'looks good', decidedAt: '2026-01-02T03:04:05.000Z' },
    reviewerKeyId: null,
  });

const deploy = (model: string, runId: string, version: number) =>
  inActivity(activities.deployModelVersion, { runId, model, version, actor: 'rita', reason: `run ${runId} approved` });

async function smokeFailureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('registry activities', () => {
  it('registers version 1 then 2 with lineage, and a retried register returns the same version', async () => {
    const first = await registration('churn', 'churn-run-1');
    const v1 = await inActivity(activities.registerModelVersion, first);
    const again = await inActivity(activities.registerModelVersion, first);
    expect(again).toEqual(v1);
    const second = await registration('churn', 'churn-run-2', { shift: 1 });
    second.training.metrics = { ...second.training.metrics, requestedIterations: 200, keptIterations: 200 };
    second.evaluation.champion = { version: 1, metrics: { auc: 0.75 } };
    const v2 = await inActivity(activities.registerModelVersion, second);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    const model = await getModelByName(database.db, 'churn');
    const row = await getModelVersion(database.db, model!.id, 2);
    expect(row).toMatchObject({
      status: 'pending_approval',
      runId: 'churn-run-2',
      parentVersion: 1,
      snapshotSha256: 'e'.repeat(64),
      artifactSha256: second.training.artifactSha256,
      metrics: { auc: 0.8 },
      // The trees asked for and kept are on the version, where reviewers read its params.
      params: { learningRate: 0.1, bestIteration: 1, requestedIterations: 200, keptIterations: 200, modelJsonSha256: second.training.modelJsonSha256 },
    });
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.action, 'model_version.register'));
    expect(audits).toHaveLength(2);
  });

  it('records a review once: approvals row, audit row and the version approved', async () => {
    await approve('churn', 'churn-run-1', 1);
    await approve('churn', 'churn-run-1', 1);
    const rows = await database.db.select().from(approvals).where(eq(approvals.runId, 'churn-run-1'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ decision: 'approve', reviewer: 'rita', comment: 'looks good' });
    expect(rows[0]!.createdAt.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    const model = await getModelByName(database.db, 'churn');
    expect((await getModelVersion(database.db, model!.id, 1))?.status).toBe('approved');
    expect(await database.db.select().from(auditLog).where(eq(auditLog.subject, 'run:churn-run-1'))).toHaveLength(1);
  });

  it('marks a version rejected or expired by the decision', async () => {
    await inActivity(activities.registerModelVersion, await registration('expiring', 'expiring-1'));
    await activities.recordReviewDecision({
      runId: 'expiring-1',
      model: 'expiring',
      version: 1,
      result: { decision: 'expire', reviewer: 'system', decidedAt: new Date().toISOString() },
      reviewerKeyId: null,
    });
    const model = await getModelByName(database.db, 'expiring');
    expect((await getModelVersion(database.db, model!.id, 1))?.status).toBe('expired');
  });

  it('deploys an approved version: production alias, history row, smoke prediction through serving; a retry adds nothing', async () => {
    const result = await deploy('churn', 'churn-run-1', 1);
    expect(result.previousVersion).toBeNull();
    // No evaluation report: the smoke row is typical values (x = 0, color = red) → leaf -1.
    expect(result.smoke.prediction).toMatchObject({ label: 0, probability: expect.closeTo(sigmoid(-1), 6) });
    await deploy('churn', 'churn-run-1', 1);
    const model = await getModelByName(database.db, 'churn');
    expect(await getAliasVersion(database.db, model!.id, PRODUCTION_ALIAS)).toBe(1);
    const history = await listDeployments(database.db, model!.id);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ action: 'deploy', fromVersion: null, toVersion: 1, actor: 'rita', runId: 'churn-run-1' });
    expect((await getModelVersion(database.db, model!.id, 1))?.status).toBe('deployed');
  });

  it('refuses to deploy a version nobody approved', async () => {
    const failure = await smokeFailureOf(deploy('churn', 'churn-run-2', 2));
    expect(failure).toMatchObject({ type: 'INVALID_SPEC', nonRetryable: true });
    expect(failure.message).toMatch(/pending_approval, not approved/);
  });

  it('when the smoke prediction fails, then production never moved, the version is deploy_failed and the failure is permanent', async () => {
    const broken = await registration('churn', 'churn-run-3', { bytes: Buffer.from('these bytes are not an ONNX model') });
    const { version } = await inActivity(activities.registerModelVersion, broken);
    await approve('churn', 'churn-run-3', version);
    const model = await getModelByName(database.db, 'churn');
    const historyBefore = await listDeployments(database.db, model!.id);
    const failure = await smokeFailureOf(deploy('churn', 'churn-run-3', version));
    expect(failure).toMatchObject({ type: 'SMOKE_TEST_FAILED', nonRetryable: true });
    expect(failure.message).toMatch(/^smoke prediction with version 3 of "churn" failed: .*; nothing switched: production is on version 1$/);

    expect(await getAliasVersion(database.db, model!.id, PRODUCTION_ALIAS)).toBe(1);
    expect(await listDeployments(database.db, model!.id)).toEqual(historyBefore);
    expect((await getModelVersion(database.db, model!.id, 3))?.status).toBe('deploy_failed');
    expect((await getModelVersion(database.db, model!.id, 1))?.status).toBe('deployed');
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.action, 'model.deploy_smoke_failed'));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ subject: 'model:churn', after: { version: 3, runId: 'churn-run-3', production: 1 } });

    // A retry of the activity reports the same failure and changes nothing.
    const retried = await smokeFailureOf(deploy('churn', 'churn-run-3', version));
    expect(retried).toMatchObject({ type: 'SMOKE_TEST_FAILED', nonRetryable: true });
    expect(await listDeployments(database.db, model!.id)).toEqual(historyBefore);
    expect(await database.db.select().from(auditLog).where(eq(auditLog.action, 'model.deploy_smoke_failed'))).toHaveLength(1);
  });

  it('when the first deploy of a model fails its smoke test, then the model still has no production version', async () => {
    const broken = await registration('fresh', 'fresh-1', { bytes: Buffer.from('still not ONNX') });
    await inActivity(activities.registerModelVersion, broken);
    await approve('fresh', 'fresh-1', 1);
    const failure = await smokeFailureOf(deploy('fresh', 'fresh-1', 1));
    expect(failure.message).toMatch(/nothing switched: the model has no production version$/);
    const model = await getModelByName(database.db, 'fresh');
    expect(await getAliasVersion(database.db, model!.id, PRODUCTION_ALIAS)).toBeNull();
    expect(await listDeployments(database.db, model!.id)).toEqual([]);
  });

  it('records run progress on the run row, stamping finished_at on a terminal status', async () => {
    await database.db.insert(runs).values({ id: 'progress-1', workflowId: 'pipeline/m/progress-1', model: 'm', spec: {}, specHash: 'h' });
    await activities.recordRunProgress({ runId: 'progress-1', stage: 'train', status: 'running' });
    let [row] = await database.db.select().from(runs).where(eq(runs.id, 'progress-1'));
    expect(row).toMatchObject({ stage: 'train', status: 'running', finishedAt: null });
    await activities.recordRunProgress({ runId: 'progress-1', stage: 'done', status: 'deployed', modelVersion: 4, snapshotSha256: 'abc' });
    [row] = await database.db.select().from(runs).where(eq(runs.id, 'progress-1'));
    expect(row).toMatchObject({ stage: 'done', status: 'deployed', modelVersion: 4, snapshotSha256: 'abc' });
    expect(row!.finishedAt).toBeInstanceOf(Date);
  });
});
