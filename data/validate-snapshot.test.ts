// The validate stage as a plain function against the real data plane and Postgres: no Temporal.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { datasetSnapshots, modelAliases, models, modelVersions, validationReports } from '../db/schema.js';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { DataRejectedError } from './errors.js';
import { ingestSnapshot, type IngestDeps } from './ingest-snapshot.js';
import { validateSnapshot } from './validate-snapshot.js';

let database: TestDatabase;
let sandbox: DataSandbox;
let deps: IngestDeps;
const requestedBy = { keyId: null, name: 'engineer-1' };
const weatherSpec = { uri: 'seattle-weather.csv' };

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  sandbox = await createDataSandbox();
  deps = { db: database.db, artifacts: sandbox.artifacts, settings: sandbox.settings };
});

afterEach(async () => {
  await sandbox.cleanup();
});

async function rejectionOf(promise: Promise<unknown>): Promise<DataRejectedError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the validation to reject the data');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DataRejectedError);
  return error as DataRejectedError;
}

/** Makes `sha256` the training snapshot of `model`'s production version. */
async function promote(model: string, sha256: string): Promise<void> {
  const [row] = await database.db
    .insert(models)
    .values({ name: model, task: 'binary', target: 'weather', featureSchema: [] })
    .returning({ id: models.id });
  await insertRunRow(database.db, `train-${model}`, model);
  await database.db.insert(modelVersions).values({
    modelId: row!.id,
    version: 1,
    status: 'deployed',
    artifactUri: 'file:///model.onnx',
    artifactSha256: 'a'.repeat(64),
    trainer: 'gbdt',
    metrics: {},
    params: {},
    featureSchema: [],
    runId: `train-${model}`,
    snapshotSha256: sha256,
  });
  await database.db.insert(modelAliases).values({ modelId: row!.id, alias: 'production', version: 1 });
}

describe('validateSnapshot', () => {
  it('stores a report once per run: a rejection and its retry name the same report, a pass is returned again', async () => {
    await insertRunRow(database.db, 'run-pass');
    await insertRunRow(database.db, 'run-pass-2');
    const snapshot = await ingestSnapshot(deps, { runId: 'run-pass', source: weatherSpec, requestedBy });
    const input = { runId: 'run-pass', model: 'weather-a', snapshotSha256: snapshot.sha256, target: 'weather', task: 'binary' as 'binary' | 'regression' };
    const steps: string[] = [];
    // Five weather classes are not a binary target: the stored report says so, and a retry sees the same report.
    const rejected = await rejectionOf(
      validateSnapshot(deps, { ...input, expectations: { minRows: 100 } }, (name, work) => {
        steps.push(name);
        return work(undefined);
      }),
    );
    expect(steps).toEqual(['profile snapshot']);
    expect(rejected).toMatchObject({ code: 'DATA_REJECTED', retryable: false });
    expect(rejected.details).toEqual({ reportId: expect.any(String), summary: rejected.message });
    const again = await rejectionOf(validateSnapshot(deps, input));
    expect(again.details.reportId).toBe(rejected.details.reportId);

    const passing = await validateSnapshot(deps, { ...input, runId: 'run-pass-2', target: 'temp_max', task: 'regression' });
    expect(passing).toMatchObject({ passed: true, referenceSha256: null });
    const retried = await validateSnapshot(deps, { ...input, runId: 'run-pass-2', target: 'temp_max', task: 'regression' });
    expect(retried.reportId).toBe(passing.reportId);
    const rows = await database.db.select().from(validationReports).where(eq(validationReports.runId, 'run-pass-2'));
    expect(rows).toHaveLength(1);
    const [snapshotRow] = await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, snapshot.sha256));
    expect(snapshotRow!.profile).toMatchObject({ rowCount: 1461 });
  });

  it('when the snapshot was never recorded, then it fails SOURCE_NOT_FOUND', async () => {
    await expect(
      validateSnapshot(deps, { runId: 'run-ghost', model: 'weather-g', snapshotSha256: 'f'.repeat(64), target: 'temp_max', task: 'regression' }),
    ).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND', details: { sha256: 'f'.repeat(64) } });
  });

  it('when the data shifted from the production snapshot, then it stores a failing report and rejects the data', async () => {
    await insertRunRow(database.db, 'run-ref');
    await insertRunRow(database.db, 'run-summer');
    await insertRunRow(database.db, 'run-same');
    const reference = await ingestSnapshot(deps, { runId: 'run-ref', source: weatherSpec, requestedBy });
    await promote('weather-b', reference.sha256);
    const summer = await ingestSnapshot(deps, {
      runId: 'run-summer',
      source: weatherSpec,
      transform: 'SELECT * FROM source WHERE month(date) IN (6, 7, 8)',
      requestedBy,
    });
    const steps: string[] = [];
    const rejected = await rejectionOf(
      validateSnapshot(
        deps,
        { runId: 'run-summer', model: 'weather-b', snapshotSha256: summer.sha256, target: 'temp_max', task: 'regression' },
        (name, work) => {
          steps.push(name);
          return work(undefined);
        },
      ),
    );
    expect(steps).toEqual(['profile reference', 'profile snapshot']);
    expect(rejected.message).toMatch(/^Rejected: .*shifted by PSI/);
    const reportId = rejected.details.reportId as string;
    const [row] = await database.db.select().from(validationReports).where(eq(validationReports.id, reportId));
    expect(row).toMatchObject({ runId: 'run-summer', passed: false, referenceSha256: reference.sha256 });
    const checks = (row!.report as { checks: { name: string; column?: string; passed: boolean; severity: string }[] }).checks;
    expect(checks.find((check) => check.name === 'psi' && check.column === 'temp_max')).toMatchObject({
      passed: false,
      severity: 'error',
    });
    // Both profiles are stored for later runs; the new one without its bins computed against this reference.
    const [referenceRow] = await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, reference.sha256));
    expect(referenceRow!.profile).toMatchObject({ rowCount: 1461 });
    const [summerRow] = await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, summer.sha256));
    expect(summerRow!.profile).toMatchObject({ rowCount: summer.rowCount });
    expect(JSON.stringify(summerRow!.profile)).not.toContain('onReferenceEdges');

    const same = await validateSnapshot(deps, {
      runId: 'run-same',
      model: 'weather-b',
      snapshotSha256: reference.sha256,
      target: 'temp_max',
      task: 'regression',
    });
    expect(same).toMatchObject({ passed: true, referenceSha256: reference.sha256 });
  });

  it('when a binary target is all positive, then the data is rejected naming the class and its count (not a failed training later)', async () => {
    const transform = 'SELECT temp_max, wind, 1 AS sunny FROM source';
    await insertRunRow(database.db, 'run-one-class');
    const snapshot = await ingestSnapshot(deps, { runId: 'run-one-class', source: weatherSpec, transform, requestedBy });
    const rejected = await rejectionOf(
      validateSnapshot(deps, { runId: 'run-one-class', model: 'sunny-one-class', snapshotSha256: snapshot.sha256, target: 'sunny', task: 'binary' }),
    );
    expect(rejected.code).toBe('DATA_REJECTED');
    expect(rejected.message).toContain('binary target "sunny" has one class: 1 (1,461 rows)');
  });
});
