// The thread pool runs tasks off the caller's event loop, brings errors back with their codes, and stops a
// cancelled task even when it never yields.
import { afterEach, describe, expect, it } from 'vitest';
import { KeelError } from '../errors/keel-error.js';
import { rejectionOf } from '../test/support/rejection-of.js';
import { createThreadPool, type ThreadPool } from './thread-pool.js';

const module = new URL('../test/support/busy-thread.ts', import.meta.url);
let pool: ThreadPool | undefined;

afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('createThreadPool', () => {
  it('when a task runs, then its value and its progress come back from another thread', async () => {
    pool = createThreadPool({ module, size: 1 });
    const progress: unknown[] = [];
    const result = await pool.run<{ input: unknown; threadId: number }>('echo', { rows: 3 }, { onProgress: (details) => progress.push(details) });
    expect(result.input).toEqual({ rows: 3 });
    expect(result.threadId).toBeGreaterThan(0);
    expect(progress).toEqual([{ step: 1 }]);
  });

  it('when a task throws a KeelError, then the caller gets a KeelError with its code and details', async () => {
    pool = createThreadPool({ module, size: 1 });
    const error = await rejectionOf(pool.run('fail', null), KeelError);
    expect(error).toMatchObject({ code: 'TRAINING_FAILED', message: 'the data has one class', details: { column: 'y' }, retryable: false });
  });

  it('when a task in a synchronous loop is cancelled, then it rejects with the reason and a new thread serves the next task', async () => {
    pool = createThreadPool({ module, size: 1, abortGraceMs: 100 });
    const first = await pool.run<{ threadId: number }>('echo', null);
    const controller = new AbortController();
    const spinning = pool.run('spin', null, { signal: controller.signal });
    // Queued behind the spinning task: it runs once the spinning thread is gone.
    const next = pool.run<{ threadId: number }>('echo', null);
    controller.abort(new Error('the run was cancelled'));
    await expect(spinning).rejects.toThrow('the run was cancelled');
    expect((await next).threadId).not.toBe(first.threadId);
  });

  it('when a task that honours its signal is cancelled, then it stops by itself, rejects with the reason and its thread is kept', async () => {
    pool = createThreadPool({ module, size: 1, abortGraceMs: 60_000 });
    const first = await pool.run<{ threadId: number }>('echo', null);
    const controller = new AbortController();
    const waiting = pool.run('waitForAbort', null, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('the run was cancelled')), 50);
    await expect(waiting).rejects.toThrow('the run was cancelled');
    expect((await pool.run<{ threadId: number }>('echo', null)).threadId).toBe(first.threadId);
  });

  it('when an unknown task is asked for, then it fails naming the task', async () => {
    pool = createThreadPool({ module, size: 1 });
    await expect(pool.run('nope', null)).rejects.toThrow('this thread has no task "nope"');
  });
});
