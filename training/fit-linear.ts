// The linear trainer as the train stage runs it. Newton's method is synchronous and one iteration over a large
// training set takes seconds: on such data it runs in a worker thread, so the activity keeps heartbeating and a
// cancellation stops the fit mid-iteration (its thread is terminated). Small fits stay in this thread, where
// they finish faster than a thread starts.
import type { ColumnarDataset } from '../ml/dataset.js';
import { trainLinear, type LinearParams } from '../ml/linear/index.js';
import type { TrainResult, TrainingCurvePoint } from '../ml/model.js';
import { createThreadPool } from '../threads/thread-pool.js';
import type { LinearFitTask } from './linear-fit-thread.js';

/** Training sets from this many rows fit in a worker thread. */
export const LINEAR_THREAD_MIN_ROWS = 50_000;

export interface LinearFitControl {
  onIteration(point: TrainingCurvePoint): void;
  signal?: AbortSignal;
}

export async function fitLinear(
  train: ColumnarDataset,
  valid: ColumnarDataset | undefined,
  params: LinearParams,
  control: LinearFitControl,
): Promise<TrainResult> {
  if (train.rowCount < LINEAR_THREAD_MIN_ROWS) {
    const trained = trainLinear(train, params, { valid, onIteration: control.onIteration });
    control.signal?.throwIfAborted();
    return trained;
  }
  // Newton's loop never yields, so an abort message could not reach it: a cancelled fit's thread is terminated.
  const pool = createThreadPool({ module: new URL('./linear-fit-thread.ts', import.meta.url), size: 1, abortGraceMs: 0 });
  try {
    const task: LinearFitTask = { train, valid, params };
    return await pool.run<TrainResult>('trainLinear', task, {
      signal: control.signal,
      onProgress: (point) => control.onIteration(point as TrainingCurvePoint),
    });
  } finally {
    await pool.close();
  }
}
