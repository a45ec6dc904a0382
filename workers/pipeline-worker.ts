// The `pipeline` task queue: workflows plus the light activities (ingest, validate, evaluate, registry, deploy).
// Evaluation, the one CPU-bound step among them, runs in worker threads so the workflows never wait on it.
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type KeelConfig } from '../config.js';
import { createDataActivities } from '../activities/data-activities.js';
import { createEvaluateActivities } from '../activities/evaluate-activities.js';
import { createExternalTrainingActivities } from '../activities/external-training-activities.js';
import { createMonitorActivities, createMonitoringActivities } from '../activities/monitor-activities.js';
import { createRegistryActivities, type RegistryActivityDeps } from '../activities/registry-activities.js';
import { createRunActivities } from '../activities/run-activities.js';
import { createSystemActivities } from '../activities/system-activities.js';
import { signalProductionChanged } from '../monitoring/monitor-client.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { isMain } from '../is-main.js';
import { ConcurrencyLimit, withConcurrencyLimits } from './activity-concurrency.js';
import { createEvaluationThreads, type EvaluationThreads } from './evaluation-threads.js';
import { createProcessLogger } from './logger.js';
import { runWorker } from './run-worker.js';
import { createWorkerDeps, dataPlaneSettings, type WorkerDeps } from './worker-deps.js';
import { resolveSigningKey } from '../runs/review-signing-key.js';
import { signingKeyWebpackHook, workflowsPath } from './workflow-bundle.js';
import { temporalConnectionOptions } from '../temporal/connection-options.js';
import { keelDataConverter } from '../temporal/payload-encryption-codec.js';

/** Resources the pipeline's activities share, created and closed by whoever runs the worker. */
export interface PipelineResources {
  /** The deploy's smoke test loads production through it. */
  modelCache: ModelCache;
  logger: RegistryActivityDeps['logger'];
  /** Where evaluations run; without it they run on the worker's own thread (tests that need no isolation). */
  evaluationThreads?: EvaluationThreads;
}

/** Every activity the pipeline queue serves, from the worker's deps. */
export function createPipelineActivities(deps: WorkerDeps, client: Client, resources: PipelineResources) {
  const { db, pool } = deps.db;
  return {
    ...createSystemActivities({ pool }),
    ...createRunActivities({ db }),
    ...createDataActivities({ db, artifacts: deps.artifacts, settings: dataPlaneSettings(deps.config) }),
    ...createEvaluateActivities({ db, artifacts: deps.artifacts, runEvaluation: resources.evaluationThreads?.evaluate }),
    ...createExternalTrainingActivities({ artifacts: deps.artifacts }),
    ...createRegistryActivities({
      db,
      modelCache: resources.modelCache,
      logger: resources.logger,
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

/** The heavy kinds (DuckDB sessions, holdout scoring) each run only so many at once; see README "Configuration". */
export function limitPipelineActivities(
  activities: ReturnType<typeof createPipelineActivities>,
  config: KeelConfig,
): ReturnType<typeof createPipelineActivities> {
  return withConcurrencyLimits(activities, {
    snapshotDataset: new ConcurrencyLimit(config.maxConcurrentIngests),
    validateDataset: new ConcurrencyLimit(config.maxConcurrentValidations),
    evaluateModel: new ConcurrencyLimit(config.maxConcurrentEvaluations),
  });
}

export async function runPipelineWorker(): Promise<void> {
  const config = loadConfig();
  const logger = createProcessLogger('keel-worker-pipeline', config.logLevel);
  const deps = await createWorkerDeps(config, logger);
  const connectionOptions = temporalConnectionOptions(config);
  const dataConverter = keelDataConverter(config);
  const connection = await Connection.connect(connectionOptions);
  const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter });
  const modelCache = createModelCache({ db: deps.db.db, pool: deps.db.pool, artifacts: deps.artifacts, logger });
  const evaluationThreads = createEvaluationThreads(
    { databaseUrl: config.databaseUrl!, artifactDir: config.artifactDir, logLevel: config.logLevel },
    config.cpuThreads,
  );
  await runWorker({
    connection: connectionOptions,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueues.pipeline,
    logger,
    worker: {
      workflowsPath,
      // Encrypts and decrypts outside the workflow sandbox: the bundle and replay are the same with or without it.
      dataConverter,
      // The review validator verifies the API's signatures with this key; it stays in this process's memory.
      bundlerOptions: { webpackConfigHook: signingKeyWebpackHook(resolveSigningKey(config)) },
      activities: limitPipelineActivities(createPipelineActivities(deps, client, { modelCache, logger, evaluationThreads }), config),
      maxConcurrentActivityTaskExecutions: config.pipelineMaxActivities,
      // A cancellation reaches an activity only in a heartbeat's response: flush them every second, not every
      // 0.8 × the 2-minute heartbeat timeout, so a cancelled evaluation or ingest stops within seconds.
      maxHeartbeatThrottleInterval: '1 second',
    },
    onShutdown: async () => {
      await evaluationThreads.close();
      await modelCache.close();
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
