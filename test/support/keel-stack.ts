// The whole stack for end-to-end tests, in this process: the API listening on 127.0.0.1, real pipeline and training
// workers with every real activity, a fresh database and unique task queues on the shared dev server, the shipped
// seattle-weather data in the data root, and a key for each role. Tests drive it through HTTP (`api`, or the CLI as
// a child process at `baseUrl`); callers add their own workers (e.g. an external trainer) on their own task queues.
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
import { DEMO_DATASET } from '../../dev/bootstrap.js';
import { createModelCache } from '../../serving/model-cache.js';
import { createPipelineActivities } from '../../workers/pipeline-worker.js';
import type { WorkerDeps } from '../../workers/worker-deps.js';
import { bundleKeelWorkflows } from '../../workers/workflow-bundle.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './temporal.js';

export interface KeelStackOptions {
  /** Names the scratch directory, the signing key and the model cache's logger (e.g. `keel-e2e`). */
  prefix: string;
  /** Settings over the stack's own (data dir, database, dev server, unique task queues, signing key). */
  env?: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  body: Record<string, any>;
}

export interface KeelStack {
  config: KeelConfig;
  database: TestDatabase;
  temporal: TestTemporal;
  artifacts: FsArtifactStore;
  app: KeelApp;
  baseUrl: string;
  /** The bootstrapped admin key's secret. */
  adminKey: string;
  /** A temporary directory that holds the data root and artifacts; removed by `close`. */
  scratch: string;
  /** The shipped seattle-weather.csv, copied into the data root. */
  datasetPath: string;
  /** One key a role, each its own user: alice (engineer), bob (reviewer), olga (ops), predictor (predict). */
  keys: { engineer: string; reviewer: string; ops: string; predict: string };
  api(method: string, url: string, key: string, body?: unknown): Promise<ApiAnswer>;
  /** Creates a key named `name` with `roles` through the API (its user: `user`, else named after the key); returns its secret. */
  createKey(name: string, roles: string[], user?: string): Promise<string>;
  /** Polls the run (as ops) until its status is one of `wanted` (bounded); throws when it ends otherwise. */
  waitForStatus(runId: string, wanted: string[], attempts?: number): Promise<Record<string, any>>;
  close(): Promise<void>;
}

export async function startKeelStack(options: KeelStackOptions): Promise<KeelStack> {
  const { prefix } = options;
  const [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  const config = loadConfig({
    KEEL_DATA_DIR: scratch,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    KEEL_PIPELINE_TASK_QUEUE: uniqueName('pipeline'),
    KEEL_TRAINING_TASK_QUEUE: uniqueName('training'),
    KEEL_SIGNING_KEY: `${prefix}-signing-key-${uniqueName('k')}-0123456789abcdef`,
    ...options.env,
  });
  await fs.mkdir(config.dataRoots[0]!, { recursive: true });
  const datasetPath = path.join(config.dataRoots[0]!, 'seattle-weather.csv');
  await fs.copyFile(DEMO_DATASET, datasetPath);
  const artifacts = new FsArtifactStore(config.artifactDir);
  const deps: WorkerDeps = { config, temporalAddress: temporal.address, db: database, artifacts, close: async () => undefined };
  const client = new Client({ connection: temporal.connection });
  const modelCache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: `${prefix}-model-cache`, level: 'error' }) });
  const workers = [
    await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: config.taskQueues.pipeline,
      // The API signs reviews with config.signingKey; this worker's workflows verify them by the same key.
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
  const app = await buildApp({
    config,
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });

  const api: KeelStack['api'] = async (method, url, key, body) => {
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const createKey: KeelStack['createKey'] = async (name, roles, user) => {
    const created = await api('POST', '/v1/keys', adminKey, { name, roles, ...(user === undefined ? {} : { user }) });
    if (created.status !== 201 || typeof created.body.secret !== 'string') {
      throw new Error(`creating the key ${name} answered ${created.status}: ${JSON.stringify(created.body)}`);
    }
    return created.body.secret;
  };
  const keys = {
    engineer: await createKey('alice', ['engineer']),
    reviewer: await createKey('bob', ['reviewer']),
    ops: await createKey('olga', ['ops']),
    predict: await createKey('predictor', ['predict']),
  };

  return {
    config,
    database,
    temporal,
    artifacts,
    app,
    baseUrl,
    adminKey,
    scratch,
    datasetPath,
    keys,
    api,
    createKey,
    async waitForStatus(runId, wanted, attempts = 1_500) {
      for (let attempt = 0; attempt < attempts; attempt++) {
        const { body } = await api('GET', `/v1/runs/${runId}`, keys.ops);
        if (wanted.includes(body.status)) return body;
        if (!['running', 'awaiting_review'].includes(body.status)) throw new Error(`run ${runId} ended ${body.status}: ${body.reason}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`run ${runId} never reached ${wanted.join(' or ')}`);
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
