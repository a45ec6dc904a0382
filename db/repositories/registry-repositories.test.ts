import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { insertRunRow } from '../../test/support/run-rows.js';
import { auditLog } from '../schema.js';
import { recordApproval } from './approvals.js';
import { saveEvaluationReport } from './evaluation-reports.js';
import { getAliasVersion, listDeployments, moveAlias, PRODUCTION_ALIAS } from './model-aliases.js';
import { getModelVersion, registerModelVersion, setModelVersionStatus, type NewModelVersion } from './model-versions.js';
import { getOrCreateModel, listModelOverviews } from './models.js';
import { RegistryError } from './registry-errors.js';
import { rollbackModel } from './rollback.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const sha = (c: string) => c.repeat(64);

function versionInput(modelId: string, runId: string): NewModelVersion {
  return {
    modelId,
    runId,
    artifactUri: `file:///artifacts/${runId}.onnx`,
    artifactSha256: sha('a'),
    trainer: 'gbdt',
    metrics: { auc: 0.8 },
    params: { learningRate: 0.1 },
    featureSchema: [{ name: 'x', kind: 'numeric' }],
    snapshotSha256: sha('b'),
    parentVersion: null,
    evaluationReportId: null,
  };
}

async function newModel(name: string) {
  return getOrCreateModel(database.db, { name, task: 'binary', target: 'y', featureSchema: [] });
}

const ops = { actor: 'ops-key', actorKeyId: null, role: 'ops' };

describe('model registry repositories', () => {
  it('when a model is asked for twice, then one row exists, and a different task is refused', async () => {
    const first = await newModel('churn');
    const second = await newModel('churn');
    expect(second.id).toBe(first.id);
    await expect(
      getOrCreateModel(database.db, { name: 'churn', task: 'regression', target: 'y', featureSchema: [] }),
    ).rejects.toMatchObject({ code: 'MODEL_TASK_MISMATCH' });
  });

  it('when ten runs register at once, then versions are 1..10 and a retried run gets its own version back', async () => {
    const model = await newModel('concurrent');
    for (let i = 0; i < 10; i++) await insertRunRow(database.db, `concurrent-run-${i}`);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => registerModelVersion(database.db, versionInput(model.id, `concurrent-run-${i}`))),
    );
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const retried = await Promise.all([
      registerModelVersion(database.db, versionInput(model.id, 'concurrent-run-3')),
      registerModelVersion(database.db, versionInput(model.id, 'concurrent-run-3')),
    ]);
    const original = results.find((r) => r.version.runId === 'concurrent-run-3')!;
    for (const retry of retried) {
      expect(retry.created).toBe(false);
      expect(retry.version.version).toBe(original.version.version);
    }
  });

  it('when a deploy is retried for the same run, then the alias history has one row', async () => {
    const model = await newModel('retry-deploy');
    await insertRunRow(database.db, 'rd-1');
    await registerModelVersion(database.db, versionInput(model.id, 'rd-1'));
    const move = {
      modelId: model.id,
      alias: PRODUCTION_ALIAS,
      toVersion: 1,
      action: 'deploy' as const,
      actor: 'pipeline',
      reason: 'approved',
      runId: 'rd-1',
    };
    const first = await database.db.transaction((tx) => moveAlias(tx, move));
    const second = await database.db.transaction((tx) => moveAlias(tx, move));
    expect(first.moved).toBe(true);
    expect(second.moved).toBe(false);
    expect(await listDeployments(database.db, model.id)).toHaveLength(1);
  });

  it('rolls production back to an earlier approved version, with a history row and an audit row', async () => {
    const model = await newModel('rollback');
    for (const run of ['rb-1', 'rb-2']) {
      await insertRunRow(database.db, run);
      await registerModelVersion(database.db, versionInput(model.id, run));
    }
    for (const [version, run] of [[1, 'rb-1'], [2, 'rb-2']] as const) {
      await setModelVersionStatus(database.db, model.id, version, 'approved');
      await database.db.transaction((tx) =>
        moveAlias(tx, { modelId: model.id, alias: PRODUCTION_ALIAS, toVersion: version, action: 'deploy', actor: 'pipeline', reason: null, runId: run }),
      );
    }
    const result = await rollbackModel(database.db, { model: 'rollback', version: 1, actor: ops, reason: 'v2 misbehaves' });
    expect(result).toMatchObject({ version: 1, previousVersion: 2 });
    expect(await getAliasVersion(database.db, model.id, PRODUCTION_ALIAS)).toBe(1);
    const history = await listDeployments(database.db, model.id);
    expect(history[0]).toMatchObject({ action: 'rollback', fromVersion: 2, toVersion: 1, actor: 'ops-key', reason: 'v2 misbehaves' });
    expect((await getModelVersion(database.db, model.id, 1))?.status).toBe('deployed');
    const audits = await database.db.select().from(auditLog).where(eq(auditLog.subject, 'model:rollback'));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ action: 'model.rollback', actor: 'ops-key', before: { production: 2 } });
  });

  it('rejects a rollback to a version that was never approved, or to the one already in production', async () => {
    const model = await newModel('rollback-refused');
    await insertRunRow(database.db, 'rr-1');
    await registerModelVersion(database.db, versionInput(model.id, 'rr-1'));
    await setModelVersionStatus(database.db, model.id, 1, 'rejected');
    const refused = rollbackModel(database.db, { model: 'rollback-refused', version: 1, actor: ops, reason: 'x' });
    await expect(refused).rejects.toBeInstanceOf(RegistryError);
    await expect(refused).rejects.toMatchObject({ code: 'VERSION_NOT_DEPLOYABLE' });
    await expect(rollbackModel(database.db, { model: 'rollback-refused', version: 7, actor: ops, reason: 'x' })).rejects.toMatchObject({
      code: 'VERSION_NOT_FOUND',
    });
    await expect(rollbackModel(database.db, { model: 'nope', version: 1, actor: ops, reason: 'x' })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
    });
  });

  it('when an approval or an evaluation report is written twice for a run, then the first one stays', async () => {
    await insertRunRow(database.db, 'ap-1');
    await insertRunRow(database.db, 'ev-1');
    const first = await recordApproval(database.db, {
      runId: 'ap-1', modelVersionId: null, decision: 'approve', reviewer: 'rita', reviewerKeyId: null, comment: 'ok',
    });
    const second = await recordApproval(database.db, {
      runId: 'ap-1', modelVersionId: null, decision: 'reject', reviewer: 'rob', reviewerKeyId: null, comment: null,
    });
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, approval: { decision: 'approve', reviewer: 'rita' } });
    const report = { runId: 'ev-1', model: 'm', candidateSha256: sha('c'), championVersion: null, gatesPassed: true, report: { a: 1 } };
    const saved = await saveEvaluationReport(database.db, report);
    const again = await saveEvaluationReport(database.db, { ...report, gatesPassed: false });
    expect(again).toMatchObject({ created: false, report: { id: saved.report.id, gatesPassed: true } });
  });

  it('lists every model with its production version, latest version and version count', async () => {
    const model = await newModel('overview');
    await newModel('overview-empty');
    for (const run of ['ov-1', 'ov-2', 'ov-3']) {
      await insertRunRow(database.db, run);
      await registerModelVersion(database.db, versionInput(model.id, run));
    }
    await database.db.transaction((tx) =>
      moveAlias(tx, { modelId: model.id, alias: PRODUCTION_ALIAS, toVersion: 2, action: 'deploy', actor: 'pipeline', reason: null, runId: 'ov-2' }),
    );
    const overviews = await listModelOverviews(database.db, PRODUCTION_ALIAS);
    const byName = new Map(overviews.map((overview) => [overview.model.name, overview]));
    expect(byName.get('overview')).toMatchObject({ aliasVersion: 2, latestVersion: 3, versionCount: 3 });
    expect(byName.get('overview-empty')).toMatchObject({ aliasVersion: null, latestVersion: null, versionCount: 0 });
    expect(overviews.map((overview) => overview.model.name)).toEqual([...byName.keys()].sort());
  });
});
