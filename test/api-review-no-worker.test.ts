// POST /v1/runs/:id/review when no pipeline worker polls the run's task queue: the update cannot be taken, so the
// API answers 503 with Retry-After once its deadline passes instead of holding the request forever. Once a worker
// is back, the reviewer's retry of the same decision succeeds and the decision is recorded once.
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { REVIEW_RETRY_AFTER_SECONDS } from '../api/runs/runs-service.js';
import { loadConfig } from '../config.js';
import { runs } from '../db/schema.js';
import { statusQuery } from '../workflows/pipeline-messages.js';
import { bundleKeelWorkflows } from '../workers/workflow-bundle.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { createScriptedActivities } from './support/scripted-activities.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
let bundle: WorkflowBundleWithSourceMap;
const taskQueues = { pipeline: uniqueName('no-worker'), training: uniqueName('no-worker-training') };
const keys = { admin: '', engineer: '', reviewer: '' };
const startedWorkflows: string[] = [];
// The API signs reviews with it; the worker's workflows verify them by the same key.
const signingKey = `review-deadline-signing-key-${uniqueName('k')}-0123456789abcdef`;

beforeAll(async () => {
  [database, temporal, bundle] = await Promise.all([createTestDatabase(), connectTestTemporal(), bundleKeelWorkflows(signingKey)]);
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    // A task queue nobody polls, and a short deadline so the test does not wait the default 15 s.
    config: loadConfig({
      KEEL_PIPELINE_TASK_QUEUE: taskQueues.pipeline,
      KEEL_TRAINING_TASK_QUEUE: taskQueues.training,
      KEEL_REVIEW_TIMEOUT_MS: '1500',
      KEEL_SIGNING_KEY: signingKey,
    }),
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  for (const [name, role] of [['engineer', 'engineer'], ['reviewer', 'reviewer']] as const) {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: { authorization: `Bearer ${keys.admin}` },
      payload: { name: uniqueName(name), roles: [role] },
    });
    keys[name] = response.json().secret;
  }
});

afterAll(async () => {
  await Promise.allSettled(startedWorkflows.map((id) => temporal.client.workflow.getHandle(id).terminate('test cleanup')));
  await app?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

describe('POST /v1/runs/:id/review with no pipeline worker', () => {
  it('when no worker takes the review before the deadline, then it answers 503 NO_WORKER with Retry-After', async () => {
    const model = uniqueName('m');
    const started = await app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { authorization: `Bearer ${keys.engineer}` },
      payload: { model, dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary' },
    });
    expect(started.statusCode).toBe(201);
    const run = started.json() as { id: string; workflowId: string };
    startedWorkflows.push(run.workflowId);
    // As the workflow would have recorded it on reaching the review gate (no worker ever ran it here).
    await database.db.update(runs).set({ status: 'awaiting_review', stage: 'awaiting_review' }).where(eq(runs.id, run.id));

    const review = await app.inject({
      method: 'POST',
      url: `/v1/runs/${run.id}/review`,
      headers: { authorization: `Bearer ${keys.reviewer}` },
      payload: { decision: 'approve', comment: 'lgtm' },
    });
    expect(review.statusCode).toBe(503);
    expect(review.headers['retry-after']).toBe(String(REVIEW_RETRY_AFTER_SECONDS));
    expect(review.json().error.code).toBe('NO_WORKER');
    expect(review.json().error.message).toMatch(/no pipeline worker took the review/);
    // Nothing was decided: the run still awaits its review.
    const [row] = await database.db.select().from(runs).where(eq(runs.id, run.id));
    expect(row?.status).toBe('awaiting_review');
  });
});

describe('a review while the pipeline worker is down', () => {
  it('when the worker comes back, then the retried review succeeds and the decision is recorded once', async () => {
    const { activities, recorder } = createScriptedActivities({});
    const startWorkers = () =>
      Promise.all([
        Worker.create({ connection: temporal.workerConnection, taskQueue: taskQueues.pipeline, workflowBundle: bundle, activities }),
        Worker.create({ connection: temporal.workerConnection, taskQueue: taskQueues.training, activities }),
      ]);
    const during = async <T>(body: () => Promise<T>): Promise<T> => {
      const [pipelineWorker, trainingWorker] = await startWorkers();
      return pipelineWorker.runUntil(trainingWorker.runUntil(body));
    };
    const review = () =>
      app.inject({
        method: 'POST',
        url: `/v1/runs/${run.id}/review`,
        headers: { authorization: `Bearer ${keys.reviewer}` },
        payload: { decision: 'approve', comment: 'lgtm' },
      });

    const started = await app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { authorization: `Bearer ${keys.engineer}` },
      payload: { model: uniqueName('m'), dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary' },
    });
    const run = started.json() as { id: string; workflowId: string };
    startedWorkflows.push(run.workflowId);
    const handle = temporal.client.workflow.getHandle(run.workflowId);
    // The run reaches its review gate, then the worker stops (scripted activities do not write the row: we do).
    await during(async () => {
      for (let tries = 0; (await handle.query(statusQuery)).stage !== 'awaiting_review'; tries++) {
        if (tries > 600) throw new Error('the run never reached its review gate');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    await database.db.update(runs).set({ status: 'awaiting_review', stage: 'awaiting_review' }).where(eq(runs.id, run.id));

    const whileDown = await review();
    expect(whileDown.statusCode).toBe(503);
    expect(whileDown.json().error.code).toBe('NO_WORKER');

    const answer = await during(async () => {
      // The worker may take a moment to pick the run up again: retry on 503, as the client is told to.
      let retried = await review();
      for (let tries = 0; retried.statusCode === 503 && tries < 20; tries++) retried = await review();
      // The run goes on to the end, recording the decision on the way.
      if (retried.statusCode === 200) await handle.result();
      return retried;
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ decision: 'approve' });
    expect(recorder.decisions).toHaveLength(1);
    expect(recorder.decisions[0]).toMatchObject({ runId: run.id, result: { decision: 'approve' } });
    expect(recorder.deployed).toHaveLength(1);
  }, 180_000);
});
