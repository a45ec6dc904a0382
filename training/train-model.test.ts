// The train stage as a plain function: no Temporal. Progress, abort and resume go through TrainingControl.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadTrainingData, selectRows } from '../data/training-data.js';
import { KeelError } from '../errors/keel-error.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import type { GbdtModel } from '../ml/model.js';
import { createOnnxScorer, readOnnxMetadata } from '../ml/onnx/index.js';
import { splitPart } from '../ml/split.js';
import { filesUnder } from '../test/support/files-under.js';
import { rejectionOf } from '../test/support/rejection-of.js';
import { useSeattleTrainingFixture, weatherFeatures } from '../test/support/seattle-training-fixture.js';
import { SEATTLE_TRAINING_SQL, storeParquetSnapshot } from '../test/support/training-snapshots.js';
import type { TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import { ArtifactIntegrityError, ArtifactNotFoundError } from '../artifacts/artifact-store.js';
import { SourceUnreadableError } from '../data/errors.js';
import { TrainingDataError } from '../data/training-data.js';
import { asTrainingFailure, SnapshotReadError, trainModel, type TrainingDeps } from './train-model.js';
import type { TrainingControl, TrainingProgress } from './training-progress.js';

const seattleTraining = useSeattleTrainingFixture('keel-train-model-');
const { sunnyInput, depsWith } = seattleTraining;

async function expectTrainingFailed(promise: Promise<unknown>, messagePart: RegExp): Promise<KeelError> {
  const failure = await rejectionOf(promise, KeelError);
  expect(failure.code).toBe('TRAINING_FAILED');
  expect(failure.retryable).toBe(false);
  expect(failure.message).toMatch(messagePart);
  return failure;
}

describe('trainModel', () => {
  let uninterrupted: TrainModelResult;
  let reports: TrainingProgress[];
  let deps: TrainingDeps;

  beforeAll(async () => {
    deps = depsWith(5);
    reports = [];
    uninterrupted = await trainModel(deps, sunnyInput(), { onProgress: (progress) => reports.push(progress) });
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

    const onnx = await seattleTraining.artifacts.read(uninterrupted.artifactSha256);
    expect(readOnnxMetadata(onnx)).toMatchObject({ snapshotSha256: seattleTraining.seattle, keelVersion: '0.1.0-test', task: 'binary' });
    expect(uninterrupted.artifactUri).toMatch(/^file:\/\/.*\.onnx$/);
    const model = JSON.parse((await seattleTraining.artifacts.read(uninterrupted.modelJsonSha256)).toString('utf8')) as GbdtModel;
    // No earlyStoppingRounds: the model keeps every requested tree, and the result says so.
    expect(model.trees).toHaveLength(40);
    expect(uninterrupted.metrics).toMatchObject({ requestedIterations: 40, keptIterations: 40 });

    // The holdout the evaluation stage will score: the ONNX graph agrees with the trainer on it.
    const data = await loadTrainingData(await seattleTraining.artifacts.localPath(seattleTraining.seattle), { target: 'sunny', task: 'binary', features: weatherFeatures });
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

  it('reports progress through loading, every iteration of training (with the best metric and checkpoint) and export', () => {
    expect(reports[0]).toMatchObject({ phase: 'loading', iteration: 0, checkpointPath: null });
    const training = reports.filter((p) => p.phase === 'training' && p.iteration > 0);
    expect(training.map((p) => p.iteration)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const last = training[training.length - 1];
    expect(last).toMatchObject({ numIterations: 40, bestIteration: uninterrupted.bestIteration, checkpointIteration: 35 });
    // The metrics are the kept model's (the last iteration's), never below the best one seen.
    expect(last.bestValidMetric).toBeLessThanOrEqual(uninterrupted.metrics.validLogloss);
    expect(training.find((p) => p.iteration === 12)?.checkpointIteration).toBe(10);
    expect(last.checkpointPath).toMatch(/run-sunny\/gbdt-[0-9a-f]{24}\.json$/);
    expect(reports[reports.length - 1]).toMatchObject({ phase: 'exporting', iteration: 40 });
  });

  it('removes its checkpoints after success', async () => {
    expect(await filesUnder(deps.checkpointDir)).toEqual([]);
  });

  it('when run again after the model was stored, then it returns the same artifacts', async () => {
    expect({ ...(await trainModel(depsWith(), sunnyInput())), stageTimings: undefined }).toEqual({ ...uninterrupted, stageTimings: undefined });
  });

  it('when aborted by a timeout and run again with the last progress, then it resumes from the checkpoint and builds the identical model', async () => {
    const resumable = depsWith(4);
    const abort = new AbortController();
    const timedOut = new Error('timed out');
    let last: TrainingProgress | undefined;
    const first: TrainingControl = {
      signal: abort.signal,
      abandoned: () => false,
      onProgress: (progress) => {
        last = progress;
        if (progress.iteration === 18) abort.abort(timedOut);
      },
    };
    // Stops with the signal's reason, not with an error of its own.
    await expect(trainModel(resumable, sunnyInput(), first)).rejects.toBe(timedOut);
    const [checkpointFile] = await filesUnder(resumable.checkpointDir);
    const saved = JSON.parse(await readFile(checkpointFile, 'utf8')) as { checkpoint: { iteration: number } };
    // Stopped before the next iteration, and left that freshest state behind for the next attempt.
    expect(saved.checkpoint.iteration).toBe(18);

    const warnings: string[] = [];
    const resumed = await trainModel(resumable, sunnyInput(), {
      previous: last,
      log: { info: () => undefined, warn: (message) => warnings.push(message) },
    });
    expect(warnings).toEqual([]);
    expect(resumed.resumedFromIteration).toBe(18);
    expect(resumed.artifactSha256).toBe(uninterrupted.artifactSha256);
    expect(resumed.modelJsonSha256).toBe(uninterrupted.modelJsonSha256);
    expect({ ...resumed, resumedFromIteration: null, stageTimings: undefined }).toEqual({ ...uninterrupted, stageTimings: undefined });
    expect(await filesUnder(resumable.checkpointDir)).toEqual([]);
  });

  it('when the previous attempt checkpointed elsewhere, then it says so and trains from the start to the same model', async () => {
    const warnings: string[] = [];
    const result = await trainModel(depsWith(), sunnyInput(), {
      previous: { checkpointIteration: 20, checkpointPath: '/elsewhere/run-sunny/gbdt.json' },
      log: { info: () => undefined, warn: (message) => warnings.push(message) },
    });
    expect(warnings).toEqual([expect.stringMatching(/file is not here; training from the start/)]);
    expect({ ...result, stageTimings: undefined }).toEqual({ ...uninterrupted, stageTimings: undefined });
  });

  it('when aborted and abandoned, then it stops before the next iteration and discards its checkpoint', async () => {
    const abandonedDeps = depsWith(2);
    const abort = new AbortController();
    const iterations: number[] = [];
    const input = sunnyInput({ trainer: { kind: 'gbdt', params: { numIterations: 5000, numLeaves: 15 } } });
    const stopped = trainModel(abandonedDeps, input, {
      signal: abort.signal,
      abandoned: () => true,
      onProgress: (progress) => {
        if (progress.phase !== 'training') return;
        iterations.push(progress.iteration);
        if (progress.iteration === 5) abort.abort();
      },
    });
    await expect(stopped).rejects.toMatchObject({ name: 'AbortError' });
    expect(Math.max(...iterations)).toBe(5);
    expect(await filesUnder(abandonedDeps.checkpointDir)).toEqual([]);
  });
});

describe('trainModel inputs', () => {
  const run = (input: Partial<TrainModelInput>): Promise<TrainModelResult> => trainModel(depsWith(), sunnyInput(input));

  it('rejects a target with more than two classes, naming the column', async () => {
    const failure = await expectTrainingFailed(run({ target: 'weather' }), /target "weather" is not binary/);
    expect(failure.details).toEqual({ column: 'weather' });
  });

  it('rejects a feature the snapshot does not have', async () => {
    await expectTrainingFailed(run({ features: ['temp_max', 'humidity'] }), /feature "humidity" is not a column/);
  });

  it('rejects an unknown trainer parameter instead of ignoring it', async () => {
    await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { num_leaves: 31 } } }), /unknown trainer parameter "num_leaves"/);
  });

  it('when the spec sets numThreads, then the ONNX is byte-identical and numThreads is not a model parameter; 0 threads is refused', async () => {
    const base = sunnyInput().trainer.params;
    const threaded = await run({ trainer: { kind: 'gbdt', params: { ...base, numThreads: 2 } } });
    const single = await run({ trainer: { kind: 'gbdt', params: { ...base, numThreads: 1 } } });
    expect(threaded.artifactSha256).toBe(single.artifactSha256);
    expect(threaded.params).not.toHaveProperty('numThreads');
    await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { ...base, numThreads: 0 } } }), /numThreads=0/);
  });

  it('rejects an invalid trainer parameter value', async () => {
    await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { numLeaves: 1 } } }), /numLeaves/);
  });

  it('rejects a target with missing values', async () => {
    const sha = await storeParquetSnapshot(seattleTraining.artifacts, `SELECT temp_max, CASE WHEN wind > 6 THEN NULL ELSE sunny END AS sunny FROM (${SEATTLE_TRAINING_SQL})`);
    await expectTrainingFailed(run({ snapshotSha256: sha, features: ['temp_max'] }), /target "sunny" has a missing/);
  });

  it('rejects a snapshot whose rows all fall outside the training split', async () => {
    // Two rows (one per class, so the target is binary), and a seed that puts both in the holdout.
    const seed = Array.from({ length: 1000 }, (_, s) => s).find((s) => splitPart(s, 0) === 'holdout' && splitPart(s, 1) === 'holdout')!;
    const sha = await storeParquetSnapshot(seattleTraining.artifacts, `SELECT * FROM (VALUES (1.5, true), (2.5, false)) t(x, sunny)`);
    await expectTrainingFailed(run({ snapshotSha256: sha, features: ['x'], seed }), /none fell into the training split/);
  });

  it('refuses a snapshot too small for non-empty training, validation and holdout parts, giving the part sizes', async () => {
    const sha = await storeParquetSnapshot(seattleTraining.artifacts, `SELECT i::DOUBLE AS x, i % 2 = 0 AS sunny FROM range(6) t(i)`);
    await expectTrainingFailed(run({ snapshotSha256: sha, features: ['x'], seed: 7 }), /6 rows, split into \d+ training, \d+ validation and \d+ holdout rows; every part needs at least one row/);
  });

  it.each([
    ['numeric', '1::INTEGER', '1'],
    ['boolean', 'false', '0'],
    ['text', `'yes'`, 'yes'],
  ])('when a binary target (%s) has one class, then it refuses naming the class and its count', async (_kind, value, named) => {
    const sha = await storeParquetSnapshot(seattleTraining.artifacts, `SELECT i::DOUBLE AS x, ${value} AS sunny FROM range(300) t(i)`);
    const failure = await expectTrainingFailed(run({ snapshotSha256: sha, features: ['x'] }), new RegExp(`has one class: ${named} \\(300 rows\\)`));
    expect(failure.details).toEqual({ column: 'sunny' });
  });

  it('when a feature is constant or entirely missing, then training goes on without it and the result names it', async () => {
    const sha = await storeParquetSnapshot(
      seattleTraining.artifacts,
      `SELECT temp_max, 'seattle' AS city, NULL::DOUBLE AS humidity, sunny FROM (${SEATTLE_TRAINING_SQL})`,
    );
    const result = await run({ snapshotSha256: sha, features: ['temp_max', 'city', 'humidity'], runId: 'run-ignored-features' });
    expect(result.ignoredFeatures).toEqual([
      { name: 'city', reason: 'constant (seattle)' },
      { name: 'humidity', reason: 'entirely missing' },
    ]);
    expect(result.importance).toMatchObject({ city: 0, humidity: 0 });
    expect(result.importance.temp_max).toBeGreaterThan(0);
    expect(result.featureSchema).toContainEqual(expect.objectContaining({ name: 'humidity' }));
  });

  it('when the snapshot is not in the artifact store, then it fails as TRAINING_FAILED without details', async () => {
    const failure = await expectTrainingFailed(run({ snapshotSha256: 'e'.repeat(64) }), /is not in the artifact store/);
    expect(failure.details).toBeUndefined();
    expect(failure.cause).toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
  });

  it('when the store fails with a plain error (a bug or an outage), then that error is left as it is, to be retried', async () => {
    const bug = new RangeError('offset out of range');
    const broken = { ...depsWith(), artifacts: Object.assign(Object.create(seattleTraining.artifacts) as FsArtifactStore, { localPath: () => Promise.reject(bug) }) };
    await expect(trainModel(broken, sunnyInput())).rejects.toBe(bug);
  });

  it('when the snapshot file cannot be read at all, then the error is not a KeelError: it is retried', async () => {
    const unreadable = { ...depsWith(), artifacts: Object.assign(Object.create(seattleTraining.artifacts) as FsArtifactStore, { localPath: () => Promise.resolve(join(seattleTraining.root, 'missing.parquet')) }) };
    const error = await trainModel(unreadable, sunnyInput()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(KeelError);
  });

  it('when the binary target is text, then the larger value is the positive class and is reported', async () => {
    const result = await run({ target: 'wet_or_dry', trainer: { kind: 'gbdt', params: { numIterations: 10 } } });
    expect(result.params.labelClasses).toEqual(['dry', 'wet']);
    // Wet days have precipitation: the model must have learnt that, in the right direction.
    expect(result.metrics.validAuc).toBeGreaterThan(0.8);
    const model = JSON.parse((await seattleTraining.artifacts.read(result.modelJsonSha256)).toString('utf8')) as GbdtModel;
    const [dryDay, wetDay] = predictGbdt(model, [
      { precipitation: 0, temp_max: 20, temp_min: 10, wind: 3, month: 'July' },
      { precipitation: 15, temp_max: 8, temp_min: 4, wind: 3, month: 'November' },
    ]);
    expect(wetDay).toBeGreaterThan(0.5);
    expect(dryDay).toBeLessThan(0.5);
  });

  it('trains the linear baseline and a regression model with the same function', async () => {
    const reports: TrainingProgress[] = [];
    const linear = await trainModel(depsWith(), sunnyInput({ trainer: { kind: 'linear', params: { l2: 0.01 } } }), {
      onProgress: (progress) => reports.push(progress),
    });
    expect(linear).toMatchObject({ trainer: 'linear', resumedFromIteration: null });
    expect(linear.metrics.validAuc).toBeGreaterThan(0.7);
    expect(linear.params).toMatchObject({ l2: 0.01, task: 'binary' });
    expect(reports.filter((p) => p.phase === 'training').length).toBeGreaterThan(0);

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

describe('asTrainingFailure', () => {
  it('when the artifact store cannot give the snapshot back, then it is TRAINING_FAILED without details, the store error as cause', () => {
    for (const cause of [new ArtifactNotFoundError('a'.repeat(64)), new ArtifactIntegrityError('a'.repeat(64), 'b'.repeat(64))]) {
      const failure = asTrainingFailure(cause) as KeelError;
      expect(failure).toBeInstanceOf(KeelError);
      expect(failure).toMatchObject({ code: 'TRAINING_FAILED', retryable: false, message: cause.message, details: undefined, cause });
    }
  });

  it('when the data plane fails reading the stored snapshot, then it stays retryable: not a KeelError, same message', () => {
    const cause = new SourceUnreadableError('snapshot changed while it was being read');
    const failure = asTrainingFailure(cause);
    expect(failure).toBeInstanceOf(SnapshotReadError);
    expect(failure).not.toBeInstanceOf(KeelError);
    expect(failure).toMatchObject({ message: cause.message, cause });
  });

  it('leaves bad data (already TRAINING_FAILED), bugs such as a RangeError, and anything else as they are', () => {
    for (const error of [new TrainingDataError('bad', 'y'), new RangeError('index out of range'), new Error('EIO')]) {
      expect(asTrainingFailure(error)).toBe(error);
    }
  });
});
