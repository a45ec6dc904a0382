// What a running training reports, and what it is given to report with, stop by and resume from: the activity
// heartbeats the progress and hands the last one of a failed attempt back; nothing here knows of Temporal.

/** Progress after each step; the `trainModel` activity heartbeats exactly this, and a retried attempt reads it back. */
export interface TrainingProgress {
  phase: 'loading' | 'training' | 'exporting';
  iteration: number;
  numIterations: number;
  bestIteration: number;
  bestValidMetric: number | null;
  checkpointIteration: number | null;
  checkpointPath: string | null;
  resumedFromIteration: number | null;
  /** While loading: the snapshot rows read so far (absent before the first chunk, and in older heartbeats). */
  rowsLoaded?: number;
}

export interface TrainingLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface TrainingControl {
  /** Called with a copy of the progress at every step. */
  onProgress?(progress: TrainingProgress): void;
  /** When aborted, training stops before its next iteration and throws the signal's reason. */
  signal?: AbortSignal;
  /**
   * Asked after an abort: true when nobody will resume this training (its checkpoint is discarded), false for a
   * timeout or a shutdown (the freshest checkpoint is kept for the next attempt). Default false.
   */
  abandoned?(): boolean;
  /** The last progress an earlier attempt of the same run reported, if any. */
  previous?: Partial<TrainingProgress> | null;
  log?: TrainingLog;
}

export function initialProgress(): TrainingProgress {
  return {
    phase: 'loading',
    iteration: 0,
    numIterations: 0,
    bestIteration: 0,
    bestValidMetric: null,
    checkpointIteration: null,
    checkpointPath: null,
    resumedFromIteration: null,
  };
}

/** An earlier attempt's progress as given back by the caller, which may be anything (heartbeat details are untyped). */
export function previousProgress(details: unknown): Partial<TrainingProgress> | null {
  return details !== null && typeof details === 'object' ? (details as Partial<TrainingProgress>) : null;
}

export const silentTrainingLog: TrainingLog = { info: () => undefined, warn: () => undefined };
