// The `training` task queue: CPU-heavy model training, scaled separately from the pipeline queue.
import { loadConfig } from '../config.js';
import { TASK_QUEUES } from '../workflows/definitions.js';
import { isMain } from './is-main.js';
import { createProcessLogger } from './logger.js';
import { runWorker } from './run-worker.js';
import { createWorkerDeps } from './worker-deps.js';

export async function runTrainingWorker(): Promise<void> {
  const config = loadConfig();
  const logger = createProcessLogger('keel-worker-training', config.logLevel);
  const deps = await createWorkerDeps(config);
  await runWorker({
    address: deps.temporalAddress,
    namespace: config.temporalNamespace,
    taskQueue: TASK_QUEUES.training,
    logger,
    worker: {
      activities: {},
      // Training saturates a core: one at a time per worker process.
      maxConcurrentActivityTaskExecutions: 1,
    },
    onShutdown: () => deps.close(),
  });
}

if (isMain(import.meta.url)) {
  runTrainingWorker().catch((error: unknown) => {
    console.error('training worker failed:', error);
    process.exit(1);
  });
}
