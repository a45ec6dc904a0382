// GBDT training that survives a crash: it checkpoints every few iterations (or seconds), resumes from the saved
// checkpoint of the same run and spec, and on abort either keeps its freshest state for the next attempt or
// discards it when nobody will resume.
import { TrainingDataError } from '../data/training-data.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import { GbdtDataTooLarge, GbdtTrainingCancelled, trainGbdt, type GbdtCheckpoint, type GbdtParams, type GbdtProgress } from '../ml/gbdt/index.js';
import type { TrainResult } from '../ml/model.js';
import type { TrainingCheckpointStore } from './training-checkpoints.js';
import { silentTrainingLog, type TrainingControl, type TrainingProgress } from './training-progress.js';

export interface CheckpointPolicy {
  /** Save after this many iterations since the last save… */
  everyIterations: number;
  /** …or when this many milliseconds have passed since the last save, whichever comes first. */
  everyMs: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { everyIterations: 10, everyMs: 5_000 };

export interface ResumableGbdtRun {
  train: ColumnarDataset;
  valid: ColumnarDataset | undefined;
  params: GbdtParams;
  /** Threads for the trainer (the model does not depend on it). Default 1. */
  numThreads?: number;
  store: TrainingCheckpointStore;
  /** Updated in place as training goes; `report()` sends a copy of it. */
  progress: TrainingProgress;
  report(): void;
  control: TrainingControl;
  clock(): number;
  policy: CheckpointPolicy;
}

export async function trainGbdtResumably(run: ResumableGbdtRun): Promise<TrainResult> {
  const { store, progress, control, clock, policy } = run;
  const log = control.log ?? silentTrainingLog;
  const resumeFrom = await checkpointToResume(run);
  progress.numIterations = run.params.numIterations;
  if (resumeFrom !== undefined) {
    progress.resumedFromIteration = resumeFrom.iteration;
    progress.checkpointIteration = resumeFrom.iteration;
    progress.checkpointPath = store.path;
    progress.iteration = resumeFrom.iteration;
    progress.bestIteration = resumeFrom.bestIteration;
    progress.bestValidMetric = resumeFrom.bestMetric;
    log.info('resuming training from checkpoint', { iteration: resumeFrom.iteration, path: store.path });
  }
  run.report();

  let savedIteration = resumeFrom?.iteration ?? 0;
  let savedAt = clock();
  const save = async (checkpoint: GbdtCheckpoint) => {
    await store.save(checkpoint, new Date(clock()));
    savedIteration = checkpoint.iteration;
    savedAt = clock();
    progress.checkpointIteration = checkpoint.iteration;
    progress.checkpointPath = store.path;
  };

  try {
    return await trainGbdt(run.train, run.params, {
      valid: run.valid,
      resumeFrom,
      numThreads: run.numThreads,
      shouldStop: () => control.signal?.aborted === true,
      onIteration: async (step: GbdtProgress) => {
        progress.iteration = step.iteration;
        progress.bestIteration = step.bestIteration;
        progress.bestValidMetric = step.bestIteration > 0 ? bestValidMetric(step, progress.bestValidMetric) : null;
        const due = step.iteration - savedIteration >= policy.everyIterations || clock() - savedAt >= policy.everyMs;
        if (due && step.iteration < step.numIterations) await save(step.checkpoint());
        run.report();
      },
    });
  } catch (error) {
    if (error instanceof GbdtDataTooLarge) throw new TrainingDataError(error.message);
    if (!(error instanceof GbdtTrainingCancelled)) throw error;
    if (control.abandoned?.() === true) {
      // The caller gave up on this training: nothing will resume it.
      await store.remove();
    } else {
      // Timed out or shutting down: leave the freshest state for the next attempt.
      await save(error.checkpoint);
    }
    control.signal!.throwIfAborted();
    throw error;
  }
}

/** The saved checkpoint of this run when it was taken with the same parameters. */
async function checkpointToResume(run: ResumableGbdtRun): Promise<GbdtCheckpoint | undefined> {
  const { store, control } = run;
  const log = control.log ?? silentTrainingLog;
  const saved = await store.load((why) => log.warn('ignoring training checkpoint', { path: store.path, why }));
  if (saved !== null) {
    if (JSON.stringify(saved.params) === JSON.stringify(run.params)) return saved;
    log.warn('ignoring training checkpoint taken with other parameters', { path: store.path });
  } else if (control.previous?.checkpointIteration != null) {
    // The last attempt checkpointed on another machine (checkpoints are local): start over, same result.
    log.warn('previous attempt checkpointed but the file is not here; training from the start', {
      path: control.previous.checkpointPath,
      iteration: control.previous.checkpointIteration,
    });
  }
  return undefined;
}

function bestValidMetric(step: GbdtProgress, previousBest: number | null): number | null {
  if (step.validMetric === null) return null;
  return step.bestIteration === step.iteration ? step.validMetric : previousBest;
}
