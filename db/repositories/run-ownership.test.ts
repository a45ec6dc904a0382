import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { insertRunRow } from '../../test/support/run-rows.js';
import { recordApproval } from './approvals.js';
import { recordSnapshot } from './dataset-snapshots.js';
import { saveEvaluationReport } from './evaluation-reports.js';
import { moveAlias, PRODUCTION_ALIAS } from './model-aliases.js';
import { registerModelVersion } from './model-versions.js';
import { getOrCreateModel } from './models.js';
import { saveValidationReport } from './validation-reports.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const sha = (c: string) => c.repeat(64);

describe('rows that belong to a run', () => {
  it('when the run has no runs row (started by hand in Temporal), then every run-owned write is refused with RUN_NOT_REGISTERED', async () => {
    const model = await getOrCreateModel(database.db, { name: 'orphan-model', task: 'binary', target: 'y', featureSchema: [] });
    const runId = 'never-registered';
    const writes: (() => Promise<unknown>)[] = [
      () => recordSnapshot(database.db, { sha256: sha('a'), uri: 'file:///a.parquet', rowCount: 1, columns: [], source: {}, createdByRun: runId }),
      () => saveValidationReport(database.db, { runId, snapshotSha256: sha('a'), referenceSha256: null, passed: true, report: {}, summary: 'ok' }),
      () => saveEvaluationReport(database.db, { runId, model: 'orphan-model', candidateSha256: sha('b'), championVersion: null, gatesPassed: true, report: {} }),
      () =>
        registerModelVersion(database.db, {
          modelId: model.id, runId, artifactUri: 'file:///m.onnx', artifactSha256: sha('c'), trainer: 'gbdt', metrics: {}, params: {},
          featureSchema: [], snapshotSha256: sha('a'), parentVersion: null, evaluationReportId: null,
        }),
      () => recordApproval(database.db, { runId, modelVersionId: null, decision: 'approve', reviewer: 'rita', reviewerKeyId: null, comment: null }),
      () =>
        database.db.transaction((tx) =>
          moveAlias(tx, { modelId: model.id, alias: PRODUCTION_ALIAS, toVersion: 1, action: 'deploy', actor: 'pipeline', reason: null, runId }),
        ),
    ];
    for (const write of writes) {
      await expect(write()).rejects.toMatchObject({ code: 'RUN_NOT_REGISTERED', retryable: false, details: { runId }, message: expect.stringMatching(/through the API/) });
    }
  });

  it('when the run has its runs row, then the same writes are stored', async () => {
    const runId = 'registered-run';
    await insertRunRow(database.db, runId, 'owned-model');
    const snapshot = await recordSnapshot(database.db, { sha256: sha('d'), uri: 'file:///d.parquet', rowCount: 1, columns: [], source: {}, createdByRun: runId });
    expect(snapshot?.createdByRun).toBe(runId);
    const report = await saveValidationReport(database.db, { runId, snapshotSha256: sha('d'), referenceSha256: null, passed: true, report: {}, summary: 'ok' });
    expect(report?.passed).toBe(true);
  });

  it('when a foreign key other than the run is violated, then the database error is not mistaken for an unregistered run', async () => {
    const runId = 'run-with-ghost-model';
    await insertRunRow(database.db, runId);
    const error = await registerModelVersion(database.db, {
      modelId: '00000000-0000-0000-0000-000000000000', runId, artifactUri: 'file:///m.onnx', artifactSha256: sha('e'), trainer: 'gbdt',
      metrics: {}, params: {}, featureSchema: [], snapshotSha256: sha('a'), parentVersion: null, evaluationReportId: null,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).not.toBe('RUN_NOT_REGISTERED');
  });
});
