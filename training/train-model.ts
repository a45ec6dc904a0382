// The train stage: snapshot → split → GBDT (resumable, checkpointed) or linear trainer → ONNX + the trainer's
// model JSON in the artifact store, with metrics. Progress, abort and resume come in through `TrainingControl`.
// Spec and data problems throw KeelError TRAINING_FAILED; anything else (I/O, crashes, bugs) is left retryable.
import { ArtifactIntegrityError, ArtifactNotFoundError, type ArtifactStore } from '../artifacts/artifact-store.js';
import { isDataPlaneError } from '../data/errors.js';
import { startSplitForRun } from '../data/split-assignment.js';
import { selectCodedRows } from '../data/read-snapshot-columns.js';
import { describeParquet, loadCodedTrainingData, TrainingDataError } from '../data/training-data.js';
import { KeelError } from '../errors/keel-error.js';
import { defaultGbdtParams, defaultNumThreads, GBDT_EXECUTION_PARAMS, resolveGbdtParams, resolveNumThreads } from '../ml/gbdt/index.js';
import { defaultLinearParams, resolveLinearParams, type LinearParams } from '../ml/linear/index.js';
import type { Model, TrainResult } from '../ml/model.js';
import { exportModelToOnnx } from '../ml/onnx/index.js';
import type { TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import { fitLinear } from './fit-linear.js';
import { DEFAULT_CHECKPOINT_POLICY, trainGbdtResumably, type CheckpointPolicy } from './resumable-gbdt.js';
import { checkedTrainerParams, refusingBadParams } from './trainer-params.js';
import { TrainingCheckpointStore, trainingFingerprint } from './training-checkpoints.js';
import { metricsAtBest } from './training-metrics.js';
import { initialProgress, type TrainingControl, type TrainingProgress } from './training-progress.js';

export interface TrainingDeps {
  artifacts: ArtifactStore;
  /** Local directory for in-progress checkpoints (one sub-directory per run, removed after success). */
  checkpointDir: string;
  /** Written into the ONNX metadata. */
  keelVersion: string;
  /** Milliseconds since the epoch; tests pass a fake one. */
  clock?: () => number;
  checkpointPolicy?: Partial<CheckpointPolicy>;
  /** Trainings this worker runs at once: a GBDT whose spec sets no numThreads gets its share of the cores. */
  trainingSlots?: number;
}

export async function trainModel(deps: TrainingDeps, input: TrainModelInput, control: TrainingControl = {}): Promise<TrainModelResult> {
  try {
    return await train(deps, input, control);
  } catch (error) {
    throw asTrainingFailure(error);
  }
}

async function train(deps: TrainingDeps, input: TrainModelInput, control: TrainingControl): Promise<TrainModelResult> {
  const progress = initialProgress();
  const report = () => control.onProgress?.({ ...progress });
  report();
  // Wall time of each part, returned with the result: what a run waits for in this stage.
  const clock = deps.clock ?? Date.now;
  let partStart = clock();
  const lap = (): number => {
    const now = clock();
    const ms = now - partStart;
    partStart = now;
    return ms;
  };

  const snapshotPath = await deps.artifacts.localPath(input.snapshotSha256);
  const { data, trainSet, valid, holdoutRows, resolvedSplit, loadMs } = await loadAndSplit(deps, snapshotPath, input, control, progress, report, lap);
  const validOrNone = valid.rowCount > 0 ? valid : undefined;
  const splitMs = lap();

  let trained: TrainResult;
  let params: Record<string, unknown>;
  let checkpoints: TrainingCheckpointStore | null = null;
  progress.phase = 'training';
  if (input.trainer.kind === 'gbdt') {
    // numThreads is how to train, not what: it stays out of the model's params (and checkpoint fingerprint).
    const { numThreads: specThreads, ...modelParams } = checkedTrainerParams(input.trainer.params, [...Object.keys(defaultGbdtParams), ...GBDT_EXECUTION_PARAMS]);
    const numThreads = refusingBadParams(() => resolveNumThreads(specThreads ?? defaultNumThreads(deps.trainingSlots ?? 1)));
    const gbdtParams = refusingBadParams(() =>
      resolveGbdtParams({
        ...modelParams,
        task: input.task,
        features: data.features,
        seed: input.seed,
        ...(input.task === 'multiclass' ? { numClass: data.labelClasses!.length } : {}),
      }),
    );
    params = { ...gbdtParams };
    checkpoints = new TrainingCheckpointStore(deps.checkpointDir, input.runId, trainingFingerprint(input, gbdtParams));
    trained = await trainGbdtResumably({
      train: trainSet,
      valid: validOrNone,
      params: gbdtParams,
      numThreads,
      store: checkpoints,
      progress,
      report,
      control,
      clock: deps.clock ?? Date.now,
      policy: { ...DEFAULT_CHECKPOINT_POLICY, ...deps.checkpointPolicy },
    });
  } else if (input.trainer.kind === 'linear') {
    const linearParams: LinearParams = refusingBadParams(() =>
      resolveLinearParams({
        ...checkedTrainerParams(input.trainer.params, Object.keys(defaultLinearParams)),
        task: input.task,
        features: data.features,
        ...(input.task === 'multiclass' ? { numClass: data.labelClasses!.length } : {}),
      }),
    );
    params = { ...linearParams };
    progress.numIterations = linearParams.maxIterations;
    report();
    // Newton's method: each iteration is reported; on large data it runs in a thread that a cancellation stops.
    trained = await fitLinear(trainSet, validOrNone, linearParams, {
      signal: control.signal,
      onIteration: (point) => {
        progress.iteration = point.iteration;
        progress.numIterations = linearParams.maxIterations;
        progress.bestIteration = point.iteration;
        progress.bestValidMetric = point.validMetric;
        report();
      },
    });
  } else {
    throw new TrainingDataError(`unknown trainer kind ${JSON.stringify((input.trainer as { kind: unknown }).kind)}`);
  }
  if (data.labelClasses !== null) params.labelClasses = data.labelClasses;
  // The trainers code classes 0..K-1; the model (and its ONNX graph) answers in the target's own values.
  if (input.task === 'multiclass') nameClasses(trained.model, data.labelClasses!);
  // Stored with the version: a later run's evaluation applies it to its holdout to count rows this model trained on.
  params.split = resolvedSplit;

  const trainMs = lap();
  const metrics = metricsAtBest(trained, trainSet, validOrNone);
  const metricsMs = lap();
  progress.phase = 'exporting';
  report();
  const onnx = exportModelToOnnx(trained.model, { snapshotSha256: input.snapshotSha256, keelVersion: deps.keelVersion });
  const exportMs = lap();
  // Content-addressed: a retried attempt writes the same bytes to the same address.
  const [onnxArtifact, modelJson] = await Promise.all([
    deps.artifacts.putBytes(onnx, { extension: '.onnx' }),
    deps.artifacts.putBytes(Buffer.from(JSON.stringify(trained.model)), { extension: '.json' }),
  ]);
  // Only now is the checkpoint worthless: a failed write above retries from it instead of from scratch.
  await checkpoints?.remove();
  const storeMs = lap();

  return {
    trainer: input.trainer.kind,
    artifactSha256: onnxArtifact.sha256,
    artifactUri: onnxArtifact.uri,
    modelJsonSha256: modelJson.sha256,
    featureSchema: trained.model.features,
    params,
    metrics,
    bestIteration: trained.bestIteration,
    importance: trained.importance,
    trainRows: trainSet.rowCount,
    validRows: valid.rowCount,
    holdoutRows,
    resumedFromIteration: progress.resumedFromIteration,
    ...(data.ignoredFeatures.length > 0 ? { ignoredFeatures: data.ignoredFeatures } : {}),
    stageTimings: { loadMs, splitMs, trainMs, metricsMs, exportMs, storeMs },
  };
}

/**
 * The snapshot's rows in the run's training and validation parts. Every row is read (the label and feature checks
 * see all of them), but only the parts leave this function: the whole snapshot is garbage before training starts.
 */
async function loadAndSplit(
  deps: TrainingDeps,
  snapshotPath: string,
  input: TrainModelInput,
  control: TrainingControl,
  progress: TrainingProgress,
  report: () => void,
  lap: () => number,
) {
  const features = input.features ?? (await describeParquet(snapshotPath)).map((column) => column.name).filter((name) => name !== input.target);
  // The split reads the snapshot in its own DuckDB session beside the load: a run waits for the longer of the two,
  // not their sum. A bad spec still fails with the load's message (it is awaited first).
  // Hashing every row is most of the split's time: it gets this training's share of the cores (the load one thread).
  const splitting = startSplitForRun(snapshotPath, { ...input, features }, { signal: control.signal, threads: defaultNumThreads(deps.trainingSlots ?? 1) });
  // Loading a large snapshot takes many seconds: heartbeat while it reads, stop between chunks when cancelled.
  const loaded = await loadCodedTrainingData(
    snapshotPath,
    { target: input.target, task: input.task, features: input.features },
    {
      signal: control.signal,
      onRows: everySecond(deps.clock ?? Date.now, (rowsRead) => {
        progress.rowsLoaded = rowsRead;
        report();
      }),
    },
  );
  control.signal?.throwIfAborted();
  report();
  const loadMs = lap();
  const { dataset, ...data } = loaded;
  const split = await splitting.parts(dataset.rowCount);
  // Text is decoded for these rows only; the snapshot's codes are garbage once this function returns.
  const trainSet = selectCodedRows(dataset, split.train);
  const valid = selectCodedRows(dataset, split.valid);
  if (trainSet.rowCount === 0) {
    throw new TrainingDataError(`the snapshot has ${dataset.rowCount} rows and none fell into the training split; add rows`);
  }
  // Early stopping needs validation rows and the evaluation needs holdout rows: refuse rather than skip either.
  if (valid.rowCount === 0 || split.holdout.length === 0) {
    throw new TrainingDataError(
      `the snapshot has ${dataset.rowCount} rows, split into ${trainSet.rowCount} training, ${valid.rowCount} validation and ` +
        `${split.holdout.length} holdout rows; every part needs at least one row: add rows`,
    );
  }
  return { data, trainSet, valid, holdoutRows: split.holdout.length, resolvedSplit: split.resolved, loadMs };
}

/** `report`, called at most once a second however often the returned function is. */
function everySecond<A extends unknown[]>(clock: () => number, report: (...args: A) => void): (...args: A) => void {
  let last = clock();
  return (...args) => {
    if (clock() - last < 1_000) return;
    last = clock();
    report(...args);
  };
}

function nameClasses(model: Model, classes: string[]): void {
  if (model.kind === 'gbdt') model.classes = [...classes];
  else if (model.multiclass !== undefined) model.multiclass.classes = [...classes];
}

/** A snapshot or model the store cannot give back cannot be trained on: TRAINING_FAILED, like bad data. */
export function asTrainingFailure(error: unknown): unknown {
  if (error instanceof ArtifactNotFoundError || error instanceof ArtifactIntegrityError) {
    return new KeelError('TRAINING_FAILED', error.message, undefined, { cause: error });
  }
  // Reading the (verified) snapshot failed part-way: a read problem, retried, not a refused source.
  if (isDataPlaneError(error)) return new SnapshotReadError(error);
  return error;
}

/** Retryable on purpose: not a KeelError, so no failure mapping turns it into a permanent refusal. */
export class SnapshotReadError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
    this.name = 'SnapshotReadError';
  }
}
