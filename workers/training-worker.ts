// The `training` task queue: CPU-heavy model training, scaled separately from the pipeline queue.
import { createRequire } from 'node:module';
import path from 'node:path';
import { createTrainingActivities } from '../activities/training-activities.js';
import { loadConfig, type KeelConfig } from '../config.js';
import { isMain } from '../is-main.js';
import { createProcessLogger } from './logger.js';
import { runWorker } from './run-worker.js';
import { createWorkerDeps } from './worker-deps.js';
import { temporalConnectionOptions } from '../temporal/connection-options.js';
import { keelDataConverter } from '../temporal/payload-encryption-codec.js';

/** Keel's version (package.json), written into every exported model's metadata. */
export const KEEL_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** In-progress training checkpoints; local to the worker machine, removed after each successful run. */
export function trainingCheckpointDir(config: KeelConfig): string {
  return path.join(config.dataDir, 'checkpoints');
}

export const TRAINING_WORKER_TUNING = {
  // One training at a time unless the worker is given slots (runTrainingWorker: KEEL_TRAINING_SLOTS).
  maxConcurrentActivityTaskExecutions: 1,
  // Cancellation reaches an activity only through a heartbeat's response; flush heartbeats every second (not every
  // 0.8 × heartbeatTimeout = 24 s) so a cancelled run stops within about a second, and the server's copy of the
  // progress stays fresh.
  maxHeartbeatThrottleInterval: '1 second',
} as const;

export interface TrainingWorkerOptions {
  /** Default `training`; tests and dedicated pools poll their own queue. */
  taskQueue?: string;
}

export async function runTrainingWorker(options: TrainingWorkerOptions = {}): Promise<void> {
  const config = loadConfig();
  const logger = createProcessLogger('keel-worker-training', config.logLevel);
  const deps = await createWorkerDeps(config, logger);
  await runWorker({
    connection: temporalConnectionOptions(config),
    namespace: config.temporalNamespace,
    taskQueue: options.taskQueue ?? config.taskQueues.training,
    logger,
    worker: {
      activities: {
        ...createTrainingActivities({
          artifacts: deps.artifacts,
          checkpointDir: trainingCheckpointDir(config),
          keelVersion: KEEL_VERSION,
          trainingSlots: config.trainingSlots,
        }),
      },
      ...TRAINING_WORKER_TUNING,
      // Activity inputs and results are encrypted like every payload when KEEL_PAYLOAD_KEY is set.
      dataConverter: keelDataConverter(config),
      // Concurrent trainings overlap one's snapshot reads, export and stores with another's boosting.
      maxConcurrentActivityTaskExecutions: config.trainingSlots,
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
