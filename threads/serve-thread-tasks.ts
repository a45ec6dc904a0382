// The thread side of a thread pool: runs the tasks a thread module names, one message at a time from its pool,
// reports their results or errors, forwards progress and turns an abort message into an AbortSignal.
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from './thread-errors.js';
import type { FromThread, ThreadStartData, ToThread } from './thread-messages.js';

export interface ThreadTaskContext {
  /** Aborted when the pool cancels the task (a task in a synchronous loop is terminated instead). */
  signal: AbortSignal;
  progress(details: unknown): void;
}

export type ThreadTask = (input: never, context: ThreadTaskContext) => Promise<unknown>;

/** The data the pool was created with (ThreadPoolOptions.data). */
export function threadData<T>(): T {
  return (workerData as ThreadStartData).data as T;
}

export function serveThreadTasks(tasks: Record<string, ThreadTask>): void {
  const port = parentPort;
  if (!port) throw new Error('serveThreadTasks runs only in a worker thread');
  const running = new Map<number, AbortController>();
  const post = (message: FromThread) => port.postMessage(message);
  port.on('message', (message: ToThread) => {
    if (message.type === 'abort') {
      running.get(message.id)?.abort(new Error('cancelled'));
      return;
    }
    const { id } = message;
    const controller = new AbortController();
    running.set(id, controller);
    const task = tasks[message.task];
    const work = task
      ? task(message.input as never, { signal: controller.signal, progress: (details) => post({ type: 'progress', id, details }) })
      : Promise.reject(new Error(`this thread has no task ${JSON.stringify(message.task)}`));
    void work.then(
      (value) => post({ type: 'done', id, value }),
      (error: unknown) => post({ type: 'failed', id, error: serializeError(error) }),
    ).finally(() => running.delete(id));
  });
}
