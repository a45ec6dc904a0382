import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Info } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import type { GbdtModel } from '../ml/model.js';
import { createOnnxScorer, readOnnxMetadata } from '../ml/onnx/index.js';
import { splitPart } from '../ml/split.js';
import type { TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import { FAILURE_TYPES } from '../workflows/failure-types.js';
import { loadTrainingData, selectRows } from '../data/training-data.js';
import { createTrainingActivities, type TrainingHeartbeat } from './training-activities.js';
import { SEATTLE_TRAINING_SQL, storeParquetSnapshot } from '../test/support/training-snapshots.js';

let root: string;
let artifacts: FsArtifactStore;
let seattle: string;
const checkpointDirs: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-training-activity-'));
  artifacts = new FsArtifactStore(join(root, 'artifacts'));
  seattle = await storeParquetSnapshot(artifacts, SEATTLE_TRAINING_SQL);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const weatherFeatures = ['precipitation', 'temp_max', 'temp_min', 'wind', 'month'];

function sunnyInput(overrides: Partial<TrainModelInput> = {}): TrainModelInput {
  return {
    runId: 'run-sunny',
    model: 'sunny-days',
    snapshotSha256: seattle,
    target: 'sunny',
    task: 'binary',
    features: weatherFeatures,
    trainer: {
      kind: 'gbdt',
      // Bagging and feature sampling: a resumed run must also restore the sampler's state.
      params: { numIterations: 40, numLeaves: 15, minDataInLeaf: 10, learningRate: 0.1, baggingFraction: 0.8, featureFraction: 0.8 },
    },
    seed: 7,
    ...overrides,
  };
}

/** Failed activities are expected here: keep the SDK's warnings out of the test output. */
function mockEnvironment(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

function activitiesWith(checkpointEveryIterations = 5) {
  const checkpointDir = join(root, `checkpoints-${checkpointDirs.length}`);
  checkpointDirs.push(checkpointDir);
  const activities = createTrainingActivities({
    artifacts,
    checkpointDir,
    keelVersion: '0.1.0-test',
    checkpointPolicy: { everyIterations: checkpointEveryIterations, everyMs: Number.POSITIVE_INFINITY },
  });
  return { activities, checkpointDir };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function expectTrainingFailed(promise: Promise<unknown>, messagePart: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect(failure.type).toBe(FAILURE_TYPES.trainingFailed);
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toMatch(messagePart);
}

describe('trainModel', () => {
  let uninterrupted: TrainModelResult;
  let heartbeats: TrainingHeartbeat[];
  let checkpointDir: string;

  beforeAll(async () => {
    const setup = activitiesWith(5);
    checkpointDir = setup.checkpointDir;
    const env = mockEnvironment();
    heartbeats = [];
    env.on('heartbeat', (details: TrainingHeartbeat) => heartbeats.push(details));
    uninterrupted = await env.run(setup.activities.trainModel, sunnyInput());
  });

  it('when trained on the seattle-weather snapshot, then it stores an ONNX model that scores like the trainer', async () => {
    expect(uninterrupted).toMatchObject({ trainer: 'gbdt', resumedFromIteration: null, metrics: { iterations: 40 } });
    expect(uninterrupted.bestIteration).toBeGreaterThan(0);
    expect(uninterrupted.trainRows + uninterrupted.validRows + uninterrupted.holdoutRows).toBe(1461);
    expect(uninterrupted.trainRows).toBeGreaterThan(900);
    expect(uninterrupted.metrics.validAuc).toBeGreaterThan(0.7);
    expect(uninterrupted.metrics.trainLogloss).toBeLessThan(uninterrupted.metrics.validLogloss);
    expect(Object.keys(uninterrupted.importance).sort()).toEqual([...weatherFeatures].sort());
    expect(uninterrupted.params).toMatchObject({ numIterations: 40, numLeaves: 15, seed: 7, task: 'binary' });
    expect(uninterrupted.featureSchema).toContainEqual(expect.objectContaining({ name: 'month', kind: 'categorical' }));

    const onnx = await artifacts.read(uninterrupted.artifactSha256);
    expect(readOnnxMetadata(onnx)).toMatchObject({ snapshotSha256: seattle, keelVersion: '0.1.0-test', task: 'binary' });
    expect(uninterrupted.artifactUri).toMatch(/^file:\/\/.*\.onnx$/);
    const model = JSON.parse((await artifacts.read(uninterrupted.modelJsonSha256)).toString('utf8')) as GbdtModel;
    // Early-stopping semantics: the model keeps the trees up to the best validation iteration.
    expect(model.trees).toHaveLength(uninterrupted.bestIteration);

    // The holdout the evaluation activity will score: the ONNX graph agrees with the trainer on it.
    const data = await loadTrainingData(await artifacts.localPath(seattle), { target: 'sunny', task: 'binary', features: weatherFeatures });
    const holdoutRows = Uint32Array.from({ length: 1461 }, (_, i) => i).filter((i) => splitPart(7, i) === 'holdout');
    const holdout = selectRows(data.dataset, holdoutRows);
    expect(holdout.rowCount).toBe(uninterrupted.holdoutRows);
    const scorer = await createOnnxScorer(onnx);
    try {
      const { probability } = await scorer.score(holdout);
      const expected = predictGbdt(model, holdout);
      for (let i = 0; i < holdout.rowCount; i++) expect(probability![i]).toBeCloseTo(expected[i], 5);
    } finally {
      await scorer.close();
    }
  });

  it('heartbeats every iteration with the best validation metric and the checkpoint it saved', () => {
    const training = heartbeats.filter((h) => h.phase === 'training' && h.iteration > 0);
    expect(training.map((h) => h.iteration)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const last = training[training.length - 1];
    expect(last).toMatchObject({ numIterations: 40, bestIteration: uninterrupted.bestIteration, checkpointIteration: 35 });
    expect(last.bestValidMetric).toBeCloseTo(uninterrupted.metrics.validLogloss, 12);
    expect(training.find((h) => h.iteration === 12)?.checkpointIteration).toBe(10);
    expect(last.checkpointPath).toMatch(/run-sunny\/gbdt-[0-9a-f]{24}\.json$/);
  });

  it('removes its checkpoints after success', async () => {
    expect(await filesUnder(checkpointDir)).toEqual([]);
  });

  it('when retried after the model was stored, then it returns the same artifacts', async () => {
    const again = await mockEnvironment({ attempt: 2 }).run(activitiesWith().activities.trainModel, sunnyInput());
    expect(again).toEqual(uninterrupted);
  });

  it('when an attempt is interrupted and retried, then it resumes from the checkpoint and builds the identical model', async () => {
    const { activities, checkpointDir: dir } = activitiesWith(4);
    const first = mockEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000 });
    let lastBeat: TrainingHeartbeat | undefined;
    first.on('heartbeat', (details: TrainingHeartbeat) => {
      lastBeat = details;
      // The worker's view of a heartbeat timeout: cancelled, but not by the workflow.
      if (details.iteration === 18) first.cancel('TIMED_OUT', new ActivityCancellationDetails({ timedOut: true }));
    });
    await expect(first.run(activities.trainModel, sunnyInput())).rejects.toBeInstanceOf(CancelledFailure);
    const [checkpointFile] = await filesUnder(dir);
    const saved = JSON.parse(await readFile(checkpointFile, 'utf8')) as { checkpoint: { iteration: number } };
    // Stopped before the next iteration, and left that freshest state behind for the retry.
    expect(saved.checkpoint.iteration).toBe(18);

    const second = mockEnvironment({ attempt: 2, heartbeatDetails: lastBeat });
    const resumed: TrainModelResult = await second.run(activities.trainModel, sunnyInput());
    expect(resumed.resumedFromIteration).toBe(18);
    expect(resumed.artifactSha256).toBe(uninterrupted.artifactSha256);
    expect(resumed.modelJsonSha256).toBe(uninterrupted.modelJsonSha256);
    expect({ ...resumed, resumedFromIteration: null }).toEqual(uninterrupted);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('when cancelled by the workflow, then it stops before the next iteration and discards its checkpoint', async () => {
    const { activities, checkpointDir: dir } = activitiesWith(2);
    const env = mockEnvironment();
    const iterations: number[] = [];
    env.on('heartbeat', (details: TrainingHeartbeat) => {
      if (details.phase !== 'training') return;
      iterations.push(details.iteration);
      if (details.iteration === 5) env.cancel();
    });
    const input = sunnyInput({ trainer: { kind: 'gbdt', params: { numIterations: 5000, numLeaves: 15 } } });
    await expect(env.run(activities.trainModel, input)).rejects.toBeInstanceOf(CancelledFailure);
    expect(Math.max(...iterations)).toBe(5);
    expect(await filesUnder(dir)).toEqual([]);
  });
});

describe('trainModel inputs', () => {
  const run = (input: Partial<TrainModelInput>): Promise<TrainModelResult> => mockEnvironment().run(activitiesWith().activities.trainModel, sunnyInput(input));

  it('rejects a target with more than two classes, naming the column', async () => {
    await expectTrainingFailed(run({ target: 'weather' }), /target "weather" is not binary/);
  });

  it('rejects a feature the snapshot does not have', async () => {
    await expectTrainingFailed(run({ features: ['temp_max', 'humidity'] }), /feature "humidity" is not a column/);
  });

  it('rejects an unknown trainer parameter instead of ignoring it', async () => {
    await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { num_leaves: 31 } } }), /unknown trainer parameter "num_leaves"/);
  });

  it('rejects an invalid trainer parameter value', async () => {
    await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { numLeaves: 1 } } }), /numLeaves/);
  });

  it('rejects a target with missing values', async () => {
    const sha = await storeParquetSnapshot(artifacts, `SELECT temp_max, CASE WHEN wind > 6 THEN NULL ELSE sunny END AS sunny FROM (${SEATTLE_TRAINING_SQL})`);
    await expectTrainingFailed(run({ snapshotSha256: sha, features: ['temp_max'] }), /target "sunny" has a missing/);
  });

  it('rejects a snapshot whose rows all fall outside the training split', async () => {
    // One row, and a seed that puts row 0 in the holdout.
    const seed = Array.from({ length: 100 }, (_, s) => s).find((s) => splitPart(s, 0) === 'holdout')!;
    const sha = await storeParquetSnapshot(artifacts, `SELECT 1.5 AS x, true AS sunny`);
    await expectTrainingFailed(run({ snapshotSha256: sha, features: ['x'], seed }), /none fell into the training split/);
  });

  it('when the binary target is text, then the larger value is the positive class and is reported', async () => {
    const result = await run({ target: 'wet_or_dry', trainer: { kind: 'gbdt', params: { numIterations: 10 } } });
    expect(result.params.labelClasses).toEqual(['dry', 'wet']);
    // Wet days have precipitation: the model must have learnt that, in the right direction.
    expect(result.metrics.validAuc).toBeGreaterThan(0.8);
    const model = JSON.parse((await artifacts.read(result.modelJsonSha256)).toString('utf8')) as GbdtModel;
    const [dryDay, wetDay] = predictGbdt(model, [
      { precipitation: 0, temp_max: 20, temp_min: 10, wind: 3, month: 'July' },
      { precipitation: 15, temp_max: 8, temp_min: 4, wind: 3, month: 'November' },
    ]);
    expect(wetDay).toBeGreaterThan(0.5);
    expect(dryDay).toBeLessThan(0.5);
  });

  it('trains the linear baseline and a regression model with the same activity', async () => {
    const linear = await run({ trainer: { kind: 'linear', params: { l2: 0.01 } } });
    expect(linear).toMatchObject({ trainer: 'linear', resumedFromIteration: null });
    expect(linear.metrics.validAuc).toBeGreaterThan(0.7);
    expect(linear.params).toMatchObject({ l2: 0.01, task: 'binary' });

    const regression = await run({
      target: 'temp_max',
      task: 'regression',
      features: ['temp_min', 'precipitation', 'wind', 'month'],
      trainer: { kind: 'gbdt', params: { numIterations: 30 } },
    });
    expect(regression.metrics.validRmse).toBeLessThan(4);
    expect(regression.metrics.validRmse).toBeGreaterThan(0);
    expect(regression.metrics.validAuc).toBeUndefined();
  });
});
