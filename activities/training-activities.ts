// The `trainModel` activity (training task queue): snapshot → split → GBDT or linear trainer → ONNX + model JSON
// in the artifact store. GBDT runs heartbeat every iteration, checkpoint to disk, resume after a crash, and stop
// promptly when cancelled.
import { createHash } from 'node:crypto';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { ArtifactIntegrityError, ArtifactNotFoundError, type ArtifactStore } from '../artifacts/artifact-store.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import {
  defaultGbdtParams,
  GbdtTrainingCancelled,
  resolveGbdtParams,
  trainGbdt,
  type GbdtCheckpoint,
  type GbdtParams,
  type GbdtProgress,
} from '../ml/gbdt/index.js';
import {
  defaultLinearParams,
  predictLinear,
  resolveLinearParams,
  trainLinear,
  type LinearParams,
} from '../ml/linear/index.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import { rocAuc } from '../ml/metrics/index.js';
import type { Model, TrainResult } from '../ml/model.js';
import { exportModelToOnnx } from '../ml/onnx/index.js';
import { splitRows } from '../ml/split.js';
import type { TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import { FAILURE_TYPES } from '../workflows/failure-types.js';
import { TrainingCheckpointStore } from '../training/training-checkpoints.js';
import { loadTrainingData, selectRows, TrainingDataError } from '../data/training-data.js';

export interface CheckpointPolicy {
  /** Save after this many iterations since the last save… */
  everyIterations: number;
  /** …or when this many milliseconds have passed since the last save, whichever comes first. */
  everyMs: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { everyIterations: 10, everyMs: 5_000 };

export interface TrainingActivityDeps {
  artifacts: ArtifactStore;
  /** Local directory for in-progress checkpoints (one sub-directory per run, removed after success). */
  checkpointDir: string;
  /** Written into the ONNX metadata. */
  keelVersion: string;
  /** Milliseconds since the epoch; tests pass a fake one. */
  clock?: () => number;
  checkpointPolicy?: Partial<CheckpointPolicy>;
}

/** Heartbeat details of a running `trainModel`; a retried attempt reads the last ones back. */
export interface TrainingHeartbeat {
  phase: 'loading' | 'training' | 'exporting';
  iteration: number;
  numIterations: number;
  bestIteration: number;
  bestValidMetric: number | null;
  checkpointIteration: number | null;
  checkpointPath: string | null;
  resumedFromIteration: number | null;
}

export interface TrainingActivities {
  trainModel(input: TrainModelInput): Promise<TrainModelResult>;
}

export function createTrainingActivities(deps: TrainingActivityDeps): TrainingActivities {
  const clock = deps.clock ?? Date.now;
  const policy: CheckpointPolicy = { ...DEFAULT_CHECKPOINT_POLICY, ...deps.checkpointPolicy };

  async function trainModel(input: TrainModelInput): Promise<TrainModelResult> {
    const context = Context.current();
    const beat: TrainingHeartbeat = {
      phase: 'loading',
      iteration: 0,
      numIterations: 0,
      bestIteration: 0,
      bestValidMetric: null,
      checkpointIteration: null,
      checkpointPath: null,
      resumedFromIteration: null,
    };
    const heartbeat = () => context.heartbeat({ ...beat });
    const throwIfCancelled = () => {
      if (context.cancellationSignal.aborted) throw cancelledFailure(context);
    };
    heartbeat();

    try {
      const snapshotPath = await deps.artifacts.localPath(input.snapshotSha256);
      const data = await loadTrainingData(snapshotPath, { target: input.target, task: input.task, features: input.features });
      throwIfCancelled();
      heartbeat();
      const split = splitRows(data.dataset.rowCount, input.seed);
      const train = selectRows(data.dataset, split.train);
      const valid = selectRows(data.dataset, split.valid);
      if (train.rowCount === 0) {
        throw new TrainingDataError(`the snapshot has ${data.dataset.rowCount} rows and none fell into the training split`);
      }
      const validOrNone = valid.rowCount > 0 ? valid : undefined;

      let trained: TrainResult;
      let params: Record<string, unknown>;
      let checkpoints: TrainingCheckpointStore | null = null;
      beat.phase = 'training';
      if (input.trainer.kind === 'gbdt') {
        const gbdtParams = refusingBadParams(() =>
          resolveGbdtParams({
            ...checkedTrainerParams(input.trainer.params, Object.keys(defaultGbdtParams)),
            task: input.task,
            features: data.features,
            seed: input.seed,
          }),
        );
        params = { ...gbdtParams };
        const fingerprint = trainingFingerprint(input, gbdtParams);
        checkpoints = new TrainingCheckpointStore(deps.checkpointDir, input.runId, fingerprint);
        trained = await trainGbdtResumably({
          train,
          valid: validOrNone,
          params: gbdtParams,
          store: checkpoints,
          beat,
          heartbeat,
          context,
          clock,
          policy,
        });
      } else if (input.trainer.kind === 'linear') {
        const linearParams: LinearParams = refusingBadParams(() =>
          resolveLinearParams({
            ...checkedTrainerParams(input.trainer.params, Object.keys(defaultLinearParams)),
            task: input.task,
            features: data.features,
          }),
        );
        params = { ...linearParams };
        // Newton's method takes a handful of (synchronous) iterations: heartbeat each, check cancellation around.
        trained = trainLinear(train, linearParams, {
          valid: validOrNone,
          onIteration: (point) => {
            beat.iteration = point.iteration;
            beat.numIterations = linearParams.maxIterations;
            beat.bestIteration = point.iteration;
            beat.bestValidMetric = point.validMetric;
            heartbeat();
          },
        });
        throwIfCancelled();
      } else {
        throw new TrainingDataError(`unknown trainer kind ${JSON.stringify((input.trainer as { kind: unknown }).kind)}`);
      }
      if (data.labelClasses !== null) params.labelClasses = data.labelClasses;

      beat.phase = 'exporting';
      heartbeat();
      const onnx = exportModelToOnnx(trained.model, { snapshotSha256: input.snapshotSha256, keelVersion: deps.keelVersion });
      // Content-addressed: a retried attempt writes the same bytes to the same address.
      const onnxArtifact = await deps.artifacts.putBytes(onnx, { extension: '.onnx' });
      const modelJson = await deps.artifacts.putBytes(Buffer.from(JSON.stringify(trained.model)), { extension: '.json' });
      // Only now is the checkpoint worthless: a failed write above retries from it instead of from scratch.
      await checkpoints?.remove();

      return {
        trainer: input.trainer.kind,
        artifactSha256: onnxArtifact.sha256,
        artifactUri: onnxArtifact.uri,
        modelJsonSha256: modelJson.sha256,
        featureSchema: trained.model.features,
        params,
        metrics: metricsAtBest(trained, train, validOrNone),
        bestIteration: trained.bestIteration,
        importance: trained.importance,
        trainRows: train.rowCount,
        validRows: valid.rowCount,
        holdoutRows: split.holdout.length,
        resumedFromIteration: beat.resumedFromIteration,
      };
    } catch (error) {
      throw asActivityFailure(error);
    }
  }

  return { trainModel };
}

interface ResumableRun {
  train: ColumnarDataset;
  valid: ColumnarDataset | undefined;
  params: GbdtParams;
  store: TrainingCheckpointStore;
  beat: TrainingHeartbeat;
  heartbeat(): void;
  context: Context;
  clock(): number;
  policy: CheckpointPolicy;
}

async function trainGbdtResumably(run: ResumableRun): Promise<TrainResult> {
  const { store, beat, context, clock, policy } = run;
  const log = context.log;
  const previous = previousHeartbeat(context.info.heartbeatDetails);
  let resumeFrom: GbdtCheckpoint | undefined;
  const saved = await store.load((why) => log.warn('ignoring training checkpoint', { path: store.path, why }));
  if (saved !== null) {
    if (JSON.stringify(saved.params) === JSON.stringify(run.params)) {
      resumeFrom = saved;
    } else {
      log.warn('ignoring training checkpoint taken with other parameters', { path: store.path });
    }
  } else if (previous?.checkpointIteration != null) {
    // The last attempt checkpointed on another machine (checkpointDir is local): start over, same result.
    log.warn('previous attempt checkpointed but the file is not here; training from the start', {
      path: previous.checkpointPath,
      iteration: previous.checkpointIteration,
    });
  }
  beat.numIterations = run.params.numIterations;
  if (resumeFrom !== undefined) {
    beat.resumedFromIteration = resumeFrom.iteration;
    beat.checkpointIteration = resumeFrom.iteration;
    beat.checkpointPath = store.path;
    beat.iteration = resumeFrom.iteration;
    beat.bestIteration = resumeFrom.bestIteration;
    beat.bestValidMetric = resumeFrom.bestMetric;
    log.info('resuming training from checkpoint', { iteration: resumeFrom.iteration, path: store.path });
  }
  run.heartbeat();

  let savedIteration = resumeFrom?.iteration ?? 0;
  let savedAt = clock();
  const save = async (checkpoint: GbdtCheckpoint) => {
    await store.save(checkpoint, new Date(clock()));
    savedIteration = checkpoint.iteration;
    savedAt = clock();
    beat.checkpointIteration = checkpoint.iteration;
    beat.checkpointPath = store.path;
  };

  try {
    return await trainGbdt(run.train, run.params, {
      valid: run.valid,
      resumeFrom,
      shouldStop: () => context.cancellationSignal.aborted,
      onIteration: async (progress: GbdtProgress) => {
        beat.iteration = progress.iteration;
        beat.bestIteration = progress.bestIteration;
        beat.bestValidMetric = progress.bestIteration > 0 ? bestValidMetric(progress, beat.bestValidMetric) : null;
        const due = progress.iteration - savedIteration >= policy.everyIterations || clock() - savedAt >= policy.everyMs;
        if (due && progress.iteration < progress.numIterations) await save(progress.checkpoint());
        run.heartbeat();
      },
    });
  } catch (error) {
    if (!(error instanceof GbdtTrainingCancelled)) throw error;
    if (context.cancellationDetails?.cancelRequested === true) {
      // The workflow gave up on this training: nothing will resume it.
      await store.remove();
    } else {
      // Timed out or the worker is shutting down: leave the freshest state for the next attempt.
      await save(error.checkpoint);
    }
    throw cancelledFailure(context);
  }
}

function bestValidMetric(progress: GbdtProgress, previousBest: number | null): number | null {
  if (progress.validMetric === null) return null;
  return progress.bestIteration === progress.iteration ? progress.validMetric : previousBest;
}

function previousHeartbeat(details: unknown): Partial<TrainingHeartbeat> | null {
  return details !== null && typeof details === 'object' ? (details as Partial<TrainingHeartbeat>) : null;
}

function cancelledFailure(context: Context): CancelledFailure {
  const reason: unknown = context.cancellationSignal.reason;
  return reason instanceof CancelledFailure ? reason : new CancelledFailure('training cancelled');
}

/** Trainer params from the spec, minus what the activity sets itself; unknown names are refused, not ignored. */
function checkedTrainerParams(params: Record<string, unknown> | undefined, known: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    // The pipeline passes the run's seed separately (it may come from these params).
    if (name === 'seed') continue;
    if (name === 'task' || name === 'features') {
      throw new TrainingDataError(`trainer parameter "${name}" comes from the run spec, not from trainer.params`);
    }
    if (!known.includes(name)) {
      throw new TrainingDataError(`unknown trainer parameter "${name}" (known: ${known.filter((k) => k !== 'seed').join(', ')})`);
    }
    out[name] = value;
  }
  return out;
}

/** Everything that shapes the model; a checkpoint only resumes a run with the same fingerprint. */
function trainingFingerprint(input: TrainModelInput, params: GbdtParams): string {
  const shape = { snapshotSha256: input.snapshotSha256, target: input.target, task: input.task, seed: input.seed, params };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}

function metricsAtBest(trained: TrainResult, train: ColumnarDataset, valid: ColumnarDataset | undefined): Record<string, number> {
  const name = trained.metricName === 'logloss' ? 'Logloss' : trained.metricName === 'rmse' ? 'Rmse' : trained.metricName;
  const point = trained.curve.find((p) => p.iteration === trained.bestIteration) ?? trained.curve[trained.curve.length - 1];
  const metrics: Record<string, number> = { iterations: trained.curve.length };
  if (point !== undefined) {
    metrics[`train${name}`] = point.trainMetric;
    if (point.validMetric !== null) metrics[`valid${name}`] = point.validMetric;
  }
  if (trained.model.task === 'binary') {
    const auc = (data: ColumnarDataset) => rocAuc(data.label!, predict(trained.model, data));
    const trainAuc = auc(train);
    if (Number.isFinite(trainAuc)) metrics.trainAuc = trainAuc;
    if (valid !== undefined) {
      const validAuc = auc(valid);
      if (Number.isFinite(validAuc)) metrics.validAuc = validAuc;
    }
  }
  return metrics;
}

function predict(model: Model, data: ColumnarDataset): Float64Array {
  return model.kind === 'gbdt' ? predictGbdt(model, data) : predictLinear(model, data);
}

/** The trainers' parameter checks throw RangeError for a value out of range: here that is the spec's fault. */
function refusingBadParams<T>(resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof RangeError) throw new TrainingDataError(error.message);
    throw error;
  }
}

/** Spec and data problems fail for good (TRAINING_FAILED); anything else (I/O, crashes, bugs) is retried. */
function asActivityFailure(error: unknown): unknown {
  if (error instanceof CancelledFailure || error instanceof ApplicationFailure) return error;
  if (
    error instanceof TrainingDataError ||
    error instanceof ArtifactNotFoundError ||
    error instanceof ArtifactIntegrityError
  ) {
    return ApplicationFailure.create({
      type: FAILURE_TYPES.trainingFailed,
      nonRetryable: true,
      message: error.message,
      details: error instanceof TrainingDataError && error.column !== undefined ? [{ column: error.column }] : [],
      cause: error,
    });
  }
  return error;
}
