// POST /v1/runs/:id/review when no pipeline worker polls the run's task queue: the update cannot be taken, so the
// API answers 503 with Retry-After once its deadline passes instead of holding the request forever.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { REVIEW_RETRY_AFTER_SECONDS } from '../api/runs/runs-service.js';
import { loadConfig } from '../config.js';
import { runs } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
const keys = { admin: '', engineer: '', reviewer: '' };
const startedWorkflows: string[] = [];

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    // A task queue nobody polls, and a short deadline so the test does not wait the default 15 s.
    config: loadConfig({ KEEL_PIPELINE_TASK_QUEUE: uniqueName('no-worker'), KEEL_REVIEW_TIMEOUT_MS: '1500' }),
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
