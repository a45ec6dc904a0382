// Shared worker lifecycle: connect, run until SIGINT/SIGTERM, shut down gracefully.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type pino from 'pino';

export interface RunWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  logger: pino.Logger;
  worker: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue'>;
  onShutdown?: () => Promise<void>;
}

export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const connection = await NativeConnection.connect({ address: options.address });
  try {
    const worker = await Worker.create({
      ...options.worker,
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
    });
    const stop = () => worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Started by `npm start` with an IPC channel: stop when that parent goes away, even if it was killed.
    if (process.send) process.once('disconnect', stop);
    options.logger.info({ taskQueue: options.taskQueue }, 'worker started');
    await worker.run();
    options.logger.info({ taskQueue: options.taskQueue }, 'worker stopped');
  } finally {
    await connection.close();
    await options.onShutdown?.();
  }
}
