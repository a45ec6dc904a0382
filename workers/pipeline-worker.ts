// The `pipeline` task queue: workflows plus the light activities (ingest, validate, evaluate, registry, deploy).
import { loadConfig } from '../config.js';
import { createSystemActivities } from '../activities/system-activities.js';
import { TASK_QUEUES } from '../workflows/definitions.js';
import { isMain } from './is-main.js';
import { createProcessLogger } from './logger.js';
import { runWorker } from './run-worker.js';
import { createWorkerDeps } from './worker-deps.js';
import { workflowsPath } from './workflow-bundle.js';

export async function runPipelineWorker(): Promise<void> {
  const config = loadConfig();
  const logger = createProcessLogger('keel-worker-pipeline', config.logLevel);
  const deps = await createWorkerDeps(config);
  await runWorker({
    address: deps.temporalAddress,
    namespace: config.temporalNamespace,
    taskQueue: TASK_QUEUES.pipeline,
    logger,
    worker: {
      workflowsPath,
      activities: {
        ...createSystemActivities({ pool: deps.db.pool }),
      },
    },
    onShutdown: () => deps.close(),
  });
}

if (isMain(import.meta.url)) {
  runPipelineWorker().catch((error: unknown) => {
    console.error('pipeline worker failed:', error);
    process.exit(1);
  });
}
