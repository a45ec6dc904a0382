// The `pipeline` task queue: workflows plus the light activities (ingest, validate, evaluate, registry, deploy).
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { createDataActivities, dataPlaneSettings } from '../activities/data-activities.js';
import { createEvaluateActivities } from '../activities/evaluate-activities.js';
import { createMonitorActivities, createMonitoringActivities } from '../activities/monitor-activities.js';
import { createRegistryActivities } from '../activities/registry-activities.js';
import { createRunActivities } from '../activities/run-activities.js';
import { createSystemActivities } from '../activities/system-activities.js';
import { signalProductionChanged } from '../monitoring/monitor-client.js';
import { isMain } from './is-main.js';
import { createProcessLogger } from './logger.js';
import { runWorker } from './run-worker.js';
import { createWorkerDeps, type WorkerDeps } from './worker-deps.js';
import { workflowsPath } from './workflow-bundle.js';

/** Every activity the pipeline queue serves, from the worker's deps. */
export function createPipelineActivities(deps: WorkerDeps, client: Client) {
  const { db, pool } = deps.db;
  return {
    ...createSystemActivities({ pool }),
    ...createRunActivities({ db }),
    ...createDataActivities({ db, artifacts: deps.artifacts, settings: dataPlaneSettings(deps.config) }),
    ...createEvaluateActivities({ db, artifacts: deps.artifacts }),
    ...createRegistryActivities({
      db,
      pool,
      artifacts: deps.artifacts,
      notifyProductionChange: (change) => signalProductionChanged(client, change, deps.config.taskQueues.pipeline),
    }),
    ...createMonitorActivities({ client, taskQueue: deps.config.taskQueues.pipeline }),
    ...createMonitoringActivities({
      db,
      pool,
      client,
      taskQueue: deps.config.taskQueues.pipeline,
      trainingTaskQueue: deps.config.taskQueues.training,
    }),
  };
}

export async function runPipelineWorker(): Promise<void> {
  const config = loadConfig();
  const logger = createProcessLogger('keel-worker-pipeline', config.logLevel);
  const deps = await createWorkerDeps(config);
  const connection = await Connection.connect({ address: deps.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  await runWorker({
    address: deps.temporalAddress,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueues.pipeline,
    logger,
    worker: {
      workflowsPath,
      activities: createPipelineActivities(deps, client),
    },
    onShutdown: async () => {
      await connection.close();
      await deps.close();
    },
  });
}

if (isMain(import.meta.url)) {
  runPipelineWorker().catch((error: unknown) => {
    console.error('pipeline worker failed:', error);
    process.exit(1);
  });
}
