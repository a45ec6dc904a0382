// The whole stack behind a real HTTP port for tests that drive it from outside (the CLI as a child process): the
// API listening on 127.0.0.1, real pipeline and training workers, a fresh database, unique task queues.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createTrainingActivities } from '../../activities/training-activities.js';
import { buildApp, type KeelApp } from '../../api/app.js';
import { ensureAdminKey } from '../../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { loadConfig, type KeelConfig } from '../../config.js';
import { createModelCache } from '../../serving/model-cache.js';
import { createPipelineActivities } from '../../workers/pipeline-worker.js';
import { bundleKeelWorkflows } from '../../workers/workflow-bundle.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './temporal.js';

export interface HttpStack {
  config: KeelConfig;
  baseUrl: string;
  adminKey: string;
  database: TestDatabase;
  temporal: TestTemporal;
  app: KeelApp;
  scratch: string;
  /** Creates a key for `user` with `roles` through the API; returns its secret. */
  createKey(user: string, roles: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startHttpStack(options: { env?: Record<string, string> } = {}): Promise<HttpStack> {
  const [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-http-stack-'));
  const config = loadConfig({
    KEEL_DATA_DIR: scratch,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    KEEL_PIPELINE_TASK_QUEUE: uniqueName('pipeline'),
    KEEL_TRAINING_TASK_QUEUE: uniqueName('training'),
    KEEL_SIGNING_KEY: `http-stack-signing-key-${uniqueName('k')}-0123456789abcdef`,
    ...options.env,
  });
  await fs.mkdir(config.dataRoots[0]!, { recursive: true });
  const artifacts = new FsArtifactStore(config.artifactDir);
  const client = new Client({ connection: temporal.connection });
  const modelCache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'http-stack-model-cache', level: 'error' }) });
  const deps = { config, temporalAddress: temporal.address, db: database, artifacts, close: async () => undefined };
  const workers = [
    await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: config.taskQueues.pipeline,
      workflowBundle: await bundleKeelWorkflows(config.signingKey!),
      activities: createPipelineActivities(deps, client, { modelCache, logger: { warn: () => undefined } }),
    }),
    await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: config.taskQueues.training,
      activities: createTrainingActivities({ artifacts, checkpointDir: path.join(scratch, 'checkpoints'), keelVersion: 'test' }),
      maxConcurrentActivityTaskExecutions: 1,
    }),
  ];
  const workersDone = Promise.all(workers.map((worker) => worker.run()));
  const adminKey = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  const app = await buildApp({ config, db: database.db, pool: database.pool, temporal: { client: temporal.client, connection: temporal.connection }, logger: false });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });

  return {
    config,
    baseUrl,
    adminKey,
    database,
    temporal,
    app,
    scratch,
    async createKey(user, roles) {
      const response = await fetch(`${baseUrl}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${user}-key`, user, roles }),
      });
      const body = (await response.json()) as { secret?: string };
      if (response.status !== 201 || !body.secret) throw new Error(`creating a key for ${user} answered ${response.status}`);
      return body.secret;
    },
    async close() {
      await app.close();
      for (const worker of workers) worker.shutdown();
      await workersDone;
      await modelCache.close();
      await Promise.allSettled([database.close(), temporal.close()]);
      await fs.rm(scratch, { recursive: true, force: true });
    },
  };
}
