// A small pool of worker threads for CPU-bound steps (evaluation scoring, a linear fit): the calling thread's
// event loop stays free, so a worker keeps polling, answering queries, heartbeating and hearing cancellations
// while the work runs. Threads start on first use and are reused; a task that outlives its cancellation by
// `abortGraceMs` has its thread terminated (a synchronous loop never reads an abort message) and replaced.
import { Worker } from 'node:worker_threads';
import { deserializeError } from './thread-errors.js';
import type { FromThread, ThreadStartData, ToThread } from './thread-messages.js';

export interface ThreadTaskOptions {
  /** Aborting rejects the task with the signal's reason, stopping its thread if it does not stop by itself. */
  signal?: AbortSignal;
  /** Called with what the task reports as it goes (e.g. a linear fit's iterations). */
  onProgress?: (details: unknown) => void;
}

export interface ThreadPool {
  readonly size: number;
  run<T>(task: string, input: unknown, options?: ThreadTaskOptions): Promise<T>;
  /** Refuses queued tasks and terminates every thread. */
  close(): Promise<void>;
}

export interface ThreadPoolOptions {
  /** The thread module (it calls serveThreadTasks), as a file URL. */
  module: URL;
  size: number;
  /** Cloned into every thread: what its module builds its dependencies from. */
  data?: unknown;
  /** How long a cancelled task may take to stop by itself before its thread is terminated. Default 1 s. */
  abortGraceMs?: number;
}

const ENTRY = new URL('./thread-entry.mjs', import.meta.url);

interface Job {
  id: number;
  task: string;
  input: unknown;
  options: ThreadTaskOptions;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Set once cancelled: a task that then fails fails with this reason, whatever its thread threw. */
  cancelledWith?: { reason: unknown };
}

interface Slot {
  worker: Worker | null;
  job: Job | null;
}

export function createThreadPool(options: ThreadPoolOptions): ThreadPool {
  if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`thread pool size must be a positive integer, got ${options.size}`);
  const abortGraceMs = options.abortGraceMs ?? 1_000;
  const slots: Slot[] = Array.from({ length: options.size }, () => ({ worker: null, job: null }));
  const queue: Job[] = [];
  const cleanups = new Map<number, () => void>();
  let nextId = 1;
  let closed = false;

  function settle(job: Job, outcome: { value: unknown } | { error: unknown }): void {
    cleanups.get(job.id)?.();
    cleanups.delete(job.id);
    if ('error' in outcome) job.reject(outcome.error);
    else job.resolve(outcome.value);
  }

  function release(slot: Slot): void {
    slot.job = null;
    // An idle thread must not keep the process alive.
    slot.worker?.unref();
    dispatch();
  }

  function spawn(slot: Slot): Worker {
    const start: ThreadStartData = { module: options.module.href, data: options.data };
    const worker = new Worker(ENTRY, { workerData: start });
    worker.on('message', (message: FromThread) => {
      const job = slot.job;
      if (slot.worker !== worker || !job || job.id !== message.id) return;
      if (message.type === 'progress') {
        job.options.onProgress?.(message.details);
        return;
      }
      if (message.type === 'done') settle(job, { value: message.value });
      else settle(job, { error: job.cancelledWith ? job.cancelledWith.reason : deserializeError(message.error) });
      release(slot);
    });
    worker.on('error', (error) => failThread(slot, worker, error));
    worker.on('exit', (code) => failThread(slot, worker, new Error(`worker thread exited with code ${code}`)));
    return worker;
  }

  /** The thread died (an uncaught error, or it exited): its task fails retryably and the slot starts afresh. */
  function failThread(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    const job = slot.job;
    if (job) settle(job, { error });
    release(slot);
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (closed || queue.length === 0) return;
      if (slot.job) continue;
      const job = queue.shift()!;
      slot.worker ??= spawn(slot);
      slot.worker.ref();
      slot.job = job;
      slot.worker.postMessage({ type: 'run', id: job.id, task: job.task, input: job.input } satisfies ToThread);
    }
  }

  function cancel(job: Job, reason: unknown): void {
    const queued = queue.indexOf(job);
    if (queued >= 0) {
      queue.splice(queued, 1);
      settle(job, { error: reason });
      return;
    }
    const slot = slots.find((candidate) => candidate.job === job);
    if (!slot?.worker) return;
    const worker = slot.worker;
    job.cancelledWith = { reason };
    worker.postMessage({ type: 'abort', id: job.id } satisfies ToThread);
    setTimeout(() => {
      if (slot.job !== job || slot.worker !== worker) return;
      slot.worker = null;
      settle(job, { error: reason });
      void worker.terminate();
      release(slot);
    }, abortGraceMs).unref();
  }

  return {
    size: options.size,
    run<T>(task: string, input: unknown, taskOptions: ThreadTaskOptions = {}): Promise<T> {
      if (closed) return Promise.reject(new Error('the thread pool is closed'));
      const { signal } = taskOptions;
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<T>((resolve, reject) => {
        const job: Job = { id: nextId++, task, input, options: taskOptions, resolve: resolve as (value: unknown) => void, reject };
        if (signal) {
          const onAbort = () => cancel(job, signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          cleanups.set(job.id, () => signal.removeEventListener('abort', onAbort));
        }
        queue.push(job);
        dispatch();
      });
    },
    async close(): Promise<void> {
      closed = true;
      for (const job of queue.splice(0)) settle(job, { error: new Error('the thread pool is closed') });
      const workers = slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
      for (const slot of slots) {
        if (slot.job) settle(slot.job, { error: new Error('the thread pool is closed') });
        slot.job = null;
        slot.worker = null;
      }
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
