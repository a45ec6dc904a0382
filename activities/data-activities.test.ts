// The data activities as adapters: heartbeats, cancellation and failure mapping over data/ingest-snapshot.ts and
// data/validate-snapshot.ts (tested as plain functions next to them).
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { datasetSnapshots, modelAliases, models, modelVersions } from '../db/schema.js';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { createDataActivities, type DataActivities } from './data-activities.js';

let database: TestDatabase;
let sandbox: DataSandbox;
let activities: DataActivities;
const env = new MockActivityEnvironment();
const requestedBy = { keyId: null, name: 'engineer-1' };
/** Runs an activity in the mock context with its real input and output types. */
const run = <I, O>(activity: (input: I) => Promise<O>, input: I): Promise<O> => env.run(activity, input) as Promise<O>;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  sandbox = await createDataSandbox();
  activities = createDataActivities({ db: database.db, artifacts: sandbox.artifacts, settings: sandbox.settings });
});

afterEach(async () => {
  await sandbox.cleanup();
});

const weatherSpec = { uri: 'seattle-weather.csv' };

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => {
      throw new Error('expected the activity to fail');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
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

describe('snapshotDataset activity', () => {
  it('returns the recorded snapshot, and a retried activity returns the same one', async () => {
    await insertRunRow(database.db, 'run-a');
    const first = await run(activities.snapshotDataset, { runId: 'run-a', source: weatherSpec, requestedBy });
    const retried = await run(activities.snapshotDataset, { runId: 'run-a', source: weatherSpec, requestedBy });
    expect(retried).toEqual(first);
    expect(first.rowCount).toBe(1461);
    const rows = await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, first.sha256));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: first.snapshotId, createdByRun: 'run-a', createdBy: 'engineer-1', rowCount: 1461, source: weatherSpec });
  });

  it('heartbeats while it works, and a cancelled activity stops its DuckDB query', async () => {
    const local = new MockActivityEnvironment();
    const beats: unknown[] = [];
    local.on('heartbeat', (details: unknown) => beats.push(details));
    const pending = local.run(activities.snapshotDataset, {
      runId: 'run-cancel',
      source: weatherSpec,
      transform: 'SELECT a.x, b.x AS y FROM range(100000) a(x), range(100000) b(x)',
      requestedBy,
    });
    setTimeout(() => local.cancel(), 500);
    await expect(pending).rejects.toBeTruthy();
    expect(beats).toContain('snapshot');
    expect(await sandbox.files()).toEqual([]);
  });

  it('when the run has no runs row (a pipeline started by hand in Temporal), then RUN_NOT_REGISTERED for good', async () => {
    // Content no other test stored: an already known snapshot is not written again, so its row would not be checked.
    const transform = 'SELECT * FROM source WHERE month(date) = 1';
    const failure = await failureOf(run(activities.snapshotDataset, { runId: 'run-by-hand', source: weatherSpec, transform, requestedBy }));
    expect(failure).toMatchObject({ type: 'RUN_NOT_REGISTERED', nonRetryable: true });
    expect(failure.message).toMatch(/start runs through the API/);
  });

  it('turns a refused source into a non-retryable failure typed by its code, writing nothing', async () => {
    const failure = await failureOf(
      run(activities.snapshotDataset, { runId: 'run-escape', source: { uri: '../../etc/passwd' }, requestedBy }),
    );
    expect(failure).toMatchObject({ type: 'SOURCE_NOT_ALLOWED', nonRetryable: true });
    expect(failure.message).toMatch(/outside the allowed data roots/);
    expect(await sandbox.files()).toEqual([]);
  });

  it('refuses feature SQL that is not a single SELECT', async () => {
    const failure = await failureOf(
      run(activities.snapshotDataset, {
        runId: 'run-drop',
        source: weatherSpec,
        transform: 'SELECT * FROM source; DROP VIEW source',
        requestedBy,
      }),
    );
    expect(failure).toMatchObject({ type: 'TRANSFORM_REJECTED', nonRetryable: true });
  });
});

describe('validateDataset activity', () => {
  it('when the data is rejected, then DATA_REJECTED for good with details [{ reportId, summary }]; a retry names the same report', async () => {
    await insertRunRow(database.db, 'run-pass');
    await insertRunRow(database.db, 'run-pass-2');
    const snapshot = await run(activities.snapshotDataset, { runId: 'run-pass', source: weatherSpec, requestedBy });
    const input = { runId: 'run-pass', model: 'weather-a', snapshotSha256: snapshot.sha256, target: 'weather', task: 'regression' as 'binary' | 'regression' };
    // Five weather classes are not a binary target: the stored report says so, and a retry sees the same report.
    const failure = await failureOf(run(activities.validateDataset, { ...input, task: 'binary' as const, expectations: { minRows: 100 } }));
    expect(failure).toMatchObject({ type: 'DATA_REJECTED', nonRetryable: true });
    expect(failure.details).toEqual([{ reportId: expect.any(String), summary: failure.message }]);
    const [{ reportId }] = failure.details as [{ reportId: string }];
    const again = await failureOf(run(activities.validateDataset, { ...input, task: 'binary' as const }));
    expect(again).toMatchObject({ type: 'DATA_REJECTED', nonRetryable: true, message: failure.message });
    expect((again.details as [{ reportId: string }])[0].reportId).toBe(reportId);

    const passing = await run(activities.validateDataset, { ...input, runId: 'run-pass-2', target: 'temp_max' });
    expect(passing).toMatchObject({ passed: true, referenceSha256: null });
    const retried = await run(activities.validateDataset, { ...input, runId: 'run-pass-2', target: 'temp_max' });
    expect(retried).toEqual(passing);
  });

  it('when the data shifted from the production snapshot, then it heartbeats both profile steps and throws DATA_REJECTED', async () => {
    await insertRunRow(database.db, 'run-ref');
    await insertRunRow(database.db, 'run-summer');
    await insertRunRow(database.db, 'run-same');
    const reference = await run(activities.snapshotDataset, { runId: 'run-ref', source: weatherSpec, requestedBy });
    await promote('weather-b', reference.sha256);
    const summer = await run(activities.snapshotDataset, {
      runId: 'run-summer',
      source: weatherSpec,
      transform: 'SELECT * FROM source WHERE month(date) IN (6, 7, 8)',
      requestedBy,
    });
    const local = new MockActivityEnvironment();
    const beats: unknown[] = [];
    local.on('heartbeat', (details: unknown) => beats.push(details));
    const failure = await failureOf(
      local.run(activities.validateDataset, {
        runId: 'run-summer',
        model: 'weather-b',
        snapshotSha256: summer.sha256,
        target: 'temp_max',
        task: 'regression' as const,
      }),
    );
    expect(beats).toEqual(expect.arrayContaining(['profile reference', 'profile snapshot']));
    expect(failure).toMatchObject({ type: 'DATA_REJECTED', nonRetryable: true });
    expect(failure.message).toMatch(/^Rejected: .*shifted by PSI/);
    const [{ reportId, summary }] = failure.details as [{ reportId: string; summary: string }];
    expect(summary).toBe(failure.message);
    expect(reportId).toEqual(expect.any(String));

    const same = await run(activities.validateDataset, {
      runId: 'run-same',
      model: 'weather-b',
      snapshotSha256: reference.sha256,
      target: 'temp_max',
      task: 'regression',
    });
    expect(same).toMatchObject({ passed: true, referenceSha256: reference.sha256 });
  });

  it('when the snapshot was never recorded, then SOURCE_NOT_FOUND for good', async () => {
    const failure = await failureOf(
      run(activities.validateDataset, { runId: 'run-ghost', model: 'weather-g', snapshotSha256: 'f'.repeat(64), target: 'temp_max', task: 'regression' as const }),
    );
    expect(failure).toMatchObject({ type: 'SOURCE_NOT_FOUND', nonRetryable: true });
  });
});
