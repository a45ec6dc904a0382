// A thread module for the thread pool's tests: echoes, reports progress, fails with a KeelError, spins in a
// synchronous loop that no abort message can reach, or waits on its signal.
import { threadId } from 'node:worker_threads';
import { KeelError } from '../../errors/keel-error.js';
import { serveThreadTasks } from '../../threads/serve-thread-tasks.js';

serveThreadTasks({
  echo: async (input: unknown, { progress }) => {
    progress({ step: 1 });
    return { input, threadId };
  },
  fail: async () => {
    throw new KeelError('TRAINING_FAILED', 'the data has one class', { column: 'y' });
  },
  spin: async () => {
    for (;;) {
      // Busy forever: only terminating the thread ends it.
    }
  },
  waitForAbort: (_input: unknown, { signal }) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped by its signal')), { once: true })),
});
