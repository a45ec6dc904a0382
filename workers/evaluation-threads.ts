// Evaluation runs in a small pool of worker threads: scoring a large holdout is seconds of synchronous work
// (ONNX input building, the trainer's own predictions, metrics, serving parity) that would otherwise hold the
// pipeline worker's event loop, delaying every workflow task and query it serves (issue 12).
import type { EvaluateModelInput, EvaluateModelResult } from '../workflows/contracts/pipeline-activities.js';
import { createThreadPool, type ThreadPool } from '../threads/thread-pool.js';
import type { EvaluationThreadData } from './evaluation-thread.js';

export interface EvaluationThreads {
  /** Runs `evaluateCandidate` in a thread; aborting the signal stops it (its thread is replaced). */
  evaluate(input: EvaluateModelInput, signal?: AbortSignal): Promise<EvaluateModelResult>;
  close(): Promise<void>;
}

export function createEvaluationThreads(data: EvaluationThreadData, size: number): EvaluationThreads {
  const pool: ThreadPool = createThreadPool({ module: new URL('./evaluation-thread.ts', import.meta.url), size, data });
  return {
    evaluate: (input, signal) => pool.run<EvaluateModelResult>('evaluateModel', input, { signal }),
    close: () => pool.close(),
  };
}
