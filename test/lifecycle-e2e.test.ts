// The whole lifecycle over HTTP on the real stack: real API listening on a port, real pipeline and training
// workers with every real activity, real Postgres, the real dev server, the shipped seattle-weather data.
import pino from 'pino';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainingActivities } from '../activities/training-activities.js';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig, type KeelConfig } from '../config.js';
import { DEMO_DATASET, demoRunSpec } from '../dev/bootstrap.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { createPipelineActivities } from '../workers/pipeline-worker.js';
import type { WorkerDeps } from '../workers/worker-deps.js';
import { bundleKeelWorkflows } from '../workers/workflow-bundle.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { keepHistory as keepHistoryFile } from './support/keep-history.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
let baseUrl: string;
let scratch: string;
let config: KeelConfig;
let workers: { pipeline: Worker; training: Worker };
let workersDone: Promise<unknown>;
let modelCache: ModelCache;
const keys = { admin: '', engineer: '', reviewer: '', ops: '', predict: '' };
const model = uniqueName('seattle-rain');

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-e2e-'));
  config = loadConfig({
    KEEL_DATA_DIR: scratch,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    KEEL_PIPELINE_TASK_QUEUE: uniqueName('pipeline'),
    KEEL_TRAINING_TASK_QUEUE: uniqueName('training'),
    KEEL_SIGNING_KEY: `e2e-signing-key-${uniqueName('k')}-0123456789abcdef`,
  });
  await fs.mkdir(config.dataRoots[0]!, { recursive: true });
  const artifacts = new FsArtifactStore(config.artifactDir);
  const deps: WorkerDeps = {
    config,
    temporalAddress: temporal.address,
    db: database,
    artifacts,
    close: async () => undefined,
  };
  const client = new Client({ connection: temporal.connection });
  modelCache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'e2e-model-cache', level: 'error' }) });
  workers = {
    pipeline: await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: config.taskQueues.pipeline,
      // The API signs reviews with config.signingKey; this worker's workflows verify them by the same key.
      workflowBundle: await bundleKeelWorkflows(config.signingKey!),
      activities: createPipelineActivities(deps, client, { modelCache, logger: { warn: () => undefined } }),
    }),
    training: await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: config.taskQueues.training,
      activities: createTrainingActivities({ artifacts, checkpointDir: path.join(scratch, 'checkpoints'), keelVersion: 'test' }),
      maxConcurrentActivityTaskExecutions: 1,
    }),
  };
  workersDone = Promise.all([workers.pipeline.run(), workers.training.run()]);

  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    config,
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await temporal?.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
  workers?.pipeline.shutdown();
  workers?.training.shutdown();
  await workersDone;
  await modelCache?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

async function api(method: string, url: string, key: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function waitForStatus(runId: string, wanted: string): Promise<Record<string, any>> {
  for (let attempt = 0; attempt < 900; attempt++) {
    const { body } = await api('GET', `/v1/runs/${runId}`, keys.ops);
    if (body.status === wanted) return body;
    if (!['running', 'awaiting_review'].includes(body.status)) {
      throw new Error(`run ${runId} ended ${body.status}: ${body.reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`run ${runId} never reached ${wanted}`);
}

/** The run's live timings; the status query answers within 2 s or not at all, so a loaded machine may need a retry. */
async function liveTimings(runId: string): Promise<Record<string, any>[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { body } = await api('GET', `/v1/runs/${runId}`, keys.ops);
    if (body.timings !== null) return body.timings;
  }
  throw new Error(`run ${runId}: no worker answered the status query`);
}

/** `KEEL_RECORD_HISTORIES=1` keeps this real run's history as a replay fixture (see test/workflow-replay.test.ts). */
async function keepHistory(name: string, workflowId: string): Promise<void> {
  await keepHistoryFile(`pipeline-${name}`, temporal.client.workflow.getHandle(workflowId));
}

async function startAndApprove(spec: Record<string, unknown>, historyName?: string): Promise<Record<string, any>> {
  const started = await api('POST', '/v1/runs', keys.engineer, spec);
  expect(started.status).toBe(201);
  const waiting = await waitForStatus(started.body.id, 'awaiting_review');
  const review = await api('POST', `/v1/runs/${started.body.id}/review`, keys.reviewer, { decision: 'approve', comment: 'metrics look right' });
  expect(review.status).toBe(200);
  expect(review.body).toMatchObject({ decision: 'approve', reviewer: 'bob' });
  await waitForStatus(started.body.id, 'deployed');
  if (historyName) await keepHistory(historyName, started.body.workflowId);
  return waiting;
}

const row = { month: 11, temp_max: 9.4, temp_min: 4.4, wind: 5.1 };

describe('the lifecycle over HTTP', () => {
  it('runs, reviews, deploys, serves, retrains and rolls back a model on real data', async () => {
    for (const [name, roles] of [
      ['alice', ['engineer']],
      ['bob', ['reviewer']],
      ['olga', ['ops']],
      ['predictor', ['predict']],
    ] as const) {
      const created = await api('POST', '/v1/keys', keys.admin, { name, roles });
      expect(created.status).toBe(201);
      keys[roles[0]] = created.body.secret;
    }
    const datasetPath = path.join(config.dataRoots[0]!, 'seattle-weather.csv');
    await fs.copyFile(DEMO_DATASET, datasetPath);
    const spec = { ...demoRunSpec(datasetPath), model };

    // Run 1: ingested, validated, trained, evaluated, then waits for a reviewer.
    const waiting = await startAndApprove(spec, 'e2e-real-activities');
    expect(waiting.stage).toBe('awaiting_review');
    expect(waiting.validation.passed).toBe(true);
    expect(waiting.evaluation.report.result.candidateMetrics.auc).toBeGreaterThan(0.6);
    expect(waiting.evaluation.report.result.parity.passed).toBe(true);
    expect(waiting.version).toMatchObject({ version: 1, status: 'pending_approval' });
    // The train stage's parts as the training activity measured them, in the run's timings (the status query).
    const trainTiming = (await liveTimings(waiting.id)).find((timing) => timing.stage === 'train')!;
    expect(trainTiming.parts.map((part: { part: string }) => part.part)).toEqual(['load', 'split', 'train', 'metrics', 'export', 'store']);
    for (const part of trainTiming.parts) expect(part.durationMs).toBeGreaterThanOrEqual(0);

    const first = await api('POST', `/v1/models/${model}/predict`, keys.predict, { features: [row] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ model, version: 1 });
    expect(first.body.predictions[0].probability).toBeGreaterThan(0);
    expect(first.body.predictions[0].probability).toBeLessThan(1);
    expect([0, 1]).toContain(first.body.predictions[0].label);
    // The same row in the source's shape: the version's feature SQL computes month(date) in serving.
    const sourceRow = { date: '2015-11-03', precipitation: null, temp_max: row.temp_max, temp_min: row.temp_min, wind: row.wind, weather: null };
    const raw = await api('POST', `/v1/models/${model}/predict`, keys.predict, { rows: [sourceRow] });
    expect(raw.status).toBe(200);
    expect(raw.body.predictions[0].probability).toBeCloseTo(first.body.predictions[0].probability, 6);
    const servingParity = waiting.evaluation.report.servingParity;
    expect(servingParity.rows).toBeGreaterThan(20);
    expect(servingParity.maxAbsDiff).toBeLessThan(1e-5);
    expect(servingParity.unmatched).toBe(0);
    const missingField = await api('POST', `/v1/models/${model}/predict`, keys.predict, { rows: [{ ...sourceRow, weather: undefined }] });
    expect(missingField.status).toBe(400);
    expect(missingField.body.error.details).toMatchObject({ row: 0, field: 'weather' });
    const badRow = await api('POST', `/v1/models/${model}/predict`, keys.predict, { features: [{ ...row, wind: 'windy' }] });
    expect(badRow.status).toBe(400);
    expect(badRow.body.error.message).toContain('wind');

    // Run 2: a retrain, compared against version 1 as the champion.
    const retrain = { ...spec, trainer: { kind: 'gbdt', params: { numIterations: 40, numLeaves: 7, learningRate: 0.1 } } };
    const secondWaiting = await startAndApprove(retrain);
    expect(secondWaiting.evaluation.championVersion).toBe(1);
    const second = await api('POST', `/v1/models/${model}/predict`, keys.predict, { features: [row] });
    expect(second.body.version).toBe(2);

    // Ops roll production back to version 1; serving follows.
    const rollback = await api('POST', `/v1/models/${model}/rollback`, keys.ops, { version: 1, reason: 'v2 misbehaves on live traffic' });
    expect(rollback.status).toBe(200);
    let served = second.body.version;
    for (let attempt = 0; attempt < 100 && served !== 1; attempt++) {
      served = (await api('POST', `/v1/models/${model}/predict`, keys.predict, { features: [row] })).body.version;
      if (served !== 1) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(served).toBe(1);
    const shown = await api('GET', `/v1/models/${model}`, keys.ops);
    expect(shown.body.versions.map((version: { version: number }) => version.version).sort()).toEqual([1, 2]);
    expect(JSON.stringify(shown.body)).toContain('v2 misbehaves on live traffic');
    // Two whole runs on a loaded 2-core CI machine: generous, since nothing here is a timing assertion.
  }, 300_000);
});
