// Shared worker lifecycle: connect, run until SIGINT/SIGTERM (or the parent's IPC channel closes), shut down gracefully.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type pino from 'pino';
import type { TemporalConnectionOptions } from '../temporal/connection-options.js';

/** Longest a worker waits for its graceful shutdown before it exits anyway (e.g. Temporal is gone). */
export const DEFAULT_WORKER_STOP_TIMEOUT_MS = 15_000;

export interface RunWorkerOptions {
  /** From temporalConnectionOptions(config): address, TLS, API key. */
  connection: TemporalConnectionOptions;
  namespace: string;
  taskQueue: string;
  logger: pino.Logger;
  worker: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue'>;
  onShutdown?: () => Promise<void>;
  /** Default DEFAULT_WORKER_STOP_TIMEOUT_MS. */
  stopTimeoutMs?: number;
}

export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const { logger } = options;
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_WORKER_STOP_TIMEOUT_MS;
  const connection = await NativeConnection.connect(options.connection);
  let stopRequested = false;
  let requestStop!: () => void;
  const stopRequestedPromise = new Promise<void>((resolve) => (requestStop = resolve));
  const stop = (reason: string) => {
    // The parent's SIGTERM, a terminal's SIGINT and the IPC channel closing may all arrive: shut down once.
    if (stopRequested) return;
    stopRequested = true;
    logger.info({ reason, taskQueue: options.taskQueue }, 'worker stopping');
    // Shutdown (and closing its resources) waits on the server and the database; when either is gone it may never
    // finish, and no parent is left to kill us after a `disconnect`. Unref'd: a clean stop exits before it fires.
    setTimeout(() => {
      logger.error({ taskQueue: options.taskQueue, stopTimeoutMs }, 'worker did not stop in time; exiting');
      process.exit(1);
    }, stopTimeoutMs).unref();
    requestStop();
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  const onDisconnect = () => stop('parent exited');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Started by `npm start` with an IPC channel: stop when that parent goes away, even if it was killed.
  if (process.send) process.once('disconnect', onDisconnect);
  try {
    const worker = await Worker.create({
      ...options.worker,
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
    });
    logger.info({ taskQueue: options.taskQueue }, 'worker started');
    // Shuts down once a stop is requested, also one that came while the worker was being created (bundling).
    await worker.runUntil(stopRequestedPromise);
    logger.info({ taskQueue: options.taskQueue }, 'worker stopped');
  } finally {
    await connection.close();
    await options.onShutdown?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('disconnect', onDisconnect);
  }
}
