// /v1/runs and /v1/schedules through app.inject() against real Postgres and the real dev server
// (no worker polls here: these tests cover the API's side; the e2e test drives whole runs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { loadConfig } from '../config.js';
import { auditLog, runs } from '../db/schema.js';
import { eq } from 'drizzle-orm';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
const keys: Record<'admin' | 'engineer' | 'engineer2' | 'reviewer' | 'ops' | 'aliceReviewer', string> = {
  admin: '',
  aliceReviewer: '',
  engineer: '',
  engineer2: '',
  reviewer: '',
  ops: '',
};
const startedWorkflows: string[] = [];
const createdSchedules: string[] = [];

async function createKey(name: string, roles: string[], user?: string): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/keys',
    headers: { authorization: `Bearer ${keys.admin}` },
    payload: { name, roles, ...(user ? { user } : {}) },
  });
  expect(response.statusCode).toBe(201);
  return response.json().secret;
}

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    config: loadConfig({ KEEL_SIGNING_KEY: 'api-runs-test-signing-key-0123456789abcdef' }),
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  keys.engineer = await createKey('alice', ['engineer']);
  keys.engineer2 = await createKey('carol', ['engineer']);
  keys.reviewer = await createKey('bob', ['reviewer']);
  keys.ops = await createKey('olga', ['ops']);
  // Alice's second key: she reviews other people's runs with it, never her own.
  keys.aliceReviewer = await createKey('alice-reviewing', ['reviewer'], 'alice');
});

afterAll(async () => {
  // Nothing left running on the shared dev server.
  await Promise.allSettled(
    startedWorkflows.map((id) => temporal.client.workflow.getHandle(id).terminate('test cleanup')),
  );
  await Promise.allSettled(createdSchedules.map((id) => temporal.client.schedule.getHandle(`keel-${id}`).delete()));
  await app?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

const spec = (model: string) => ({
  model,
  dataset: { uri: '/data/flights.csv' },
  target: 'delayed',
  task: 'binary',
  gates: { auc: { min: 0.7 }, maxRegression: { auc: 0.005 } },
  policy: { approvalTimeout: '2h' },
});

function post(url: string, key: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, ...headers }, payload: payload as object });
}

describe('POST /v1/runs', () => {
  it('starts a pipeline workflow and records the run', async () => {
    const model = uniqueName('m');
    const response = await post('/v1/runs', keys.engineer, spec(model));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    startedWorkflows.push(body.workflowId);
    expect(body).toMatchObject({ status: 'running', stage: 'queued', model });
    expect(body.workflowId).toBe(`pipeline/${model}/${body.id}`);
    const description = await temporal.client.workflow.getHandle(body.workflowId).describe();
    expect(description.type).toBe('pipeline');
    expect(description.searchAttributes.KeelModel).toEqual([model]);
    expect(await description.memo).toMatchObject({ spec: { model, task: 'binary' } });
    const [audit] = await database.db.select().from(auditLog).where(eq(auditLog.subject, `run:${body.id}`));
    expect(audit).toMatchObject({ action: 'run.start', actor: 'alice' });
  });

  it('returns the same run for a repeated Idempotency-Key with the same body, and 422 for a different body', async () => {
    const model = uniqueName('m');
    const headers = { 'idempotency-key': 'nightly-2026-11-28' };
    const first = await post('/v1/runs', keys.engineer, spec(model), headers);
    const again = await post('/v1/runs', keys.engineer, { ...spec(model) }, headers);
    startedWorkflows.push(first.json().workflowId);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    const different = await post('/v1/runs', keys.engineer, { ...spec(model), target: 'cancelled' }, headers);
    expect(different.statusCode).toBe(422);
    expect(different.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // Another caller's identical key is a different request.
    const otherCaller = await post('/v1/runs', keys.engineer2, spec(model), headers);
    startedWorkflows.push(otherCaller.json().workflowId);
    expect(otherCaller.json().id).not.toBe(first.json().id);
    expect(await database.db.select().from(runs).where(eq(runs.model, model))).toHaveLength(2);
  });

  it.each([
    [{ extra: 1 }, 'body/extra'],
    [{ model: 'Bad Name!' }, 'body/model'],
    [{ task: 'ranking' }, 'body/task'],
    [{ policy: { approvalTimeout: 'soon' } }, 'body/policy/approvalTimeout'],
    [{ gates: { auc: { minimum: 0.8 } } }, 'body/gates/auc/minimum'],
    [{ features: ['delayed'] }, 'body/features'],
    [{ sources: { airports: { uri: '/data/airports.csv' } } }, 'body/sources'],
    [{ transform: 'SELECT * FROM source', sources: { source: { uri: '/x.csv' } } }, 'body/sources/source'],
  ])('rejects %j with a 400 naming %s, and starts nothing', async (patch, field) => {
    const model = uniqueName('m');
    const response = await post('/v1/runs', keys.engineer, { ...spec(model), ...patch });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(field);
    expect(await database.db.select().from(runs).where(eq(runs.model, model))).toHaveLength(0);
  });

  it('refuses a caller without the engineer role', async () => {
    const response = await post('/v1/runs', keys.reviewer, spec(uniqueName('m')));
    expect(response.statusCode).toBe(403);
  });
});

describe('auto-approval is the model policy ops set, never the requester', () => {
  it('refuses a run spec with policy.autoApprove: true (400 naming the field) and starts nothing; false is accepted', async () => {
    const model = uniqueName('m');
    const response = await post('/v1/runs', keys.engineer, { ...spec(model), policy: { autoApprove: true } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('body/policy/autoApprove');
    expect(await database.db.select().from(runs).where(eq(runs.model, model))).toEqual([]);
    const explicitFalse = await post('/v1/runs', keys.engineer, { ...spec(model), policy: { autoApprove: false } });
    expect(explicitFalse.statusCode).toBe(201);
    startedWorkflows.push(explicitFalse.json().workflowId);
  });

  it('lets only ops (and admin) set the approval policy, versioned and audited; engineers and reviewers read it', async () => {
    const model = uniqueName('m');
    const put = (key: string, body: unknown) =>
      app.inject({ method: 'PUT', url: `/v1/models/${model}/policy`, headers: { authorization: `Bearer ${key}` }, payload: body as object });
    const body = { autoApprove: true, gates: { auc: { min: 0.8 }, maxRegression: { auc: 0.005 } } };
    expect((await put(keys.engineer, body)).statusCode).toBe(403);
    expect((await put(keys.reviewer, body)).statusCode).toBe(403);
    const first = await put(keys.ops, body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ model, version: 1, autoApprove: true, allowFirstDeployment: false, updatedBy: 'olga' });
    const second = await put(keys.admin, { autoApprove: false });
    expect(second.json()).toMatchObject({ version: 2, autoApprove: false, gates: {}, updatedBy: 'admin' });
    const read = await app.inject({ url: `/v1/models/${model}/policy`, headers: { authorization: `Bearer ${keys.engineer}` } });
    expect(read.json()).toMatchObject({ version: 2, autoApprove: false });
    const none = await app.inject({ url: `/v1/models/${uniqueName('m')}/policy`, headers: { authorization: `Bearer ${keys.reviewer}` } });
    expect(none.json()).toMatchObject({ version: 0, autoApprove: false });
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.subject, `model:${model}`));
    expect(audit.map((row) => [row.action, row.actor, (row.after as { version: number }).version])).toEqual([
      ['model.approval_policy', 'olga', 1],
      ['model.approval_policy', 'admin', 2],
    ]);
    const badGate = await put(keys.ops, { autoApprove: true, gates: { maxRegression: { auc: -1 } } });
    expect(badGate.statusCode).toBe(400);
    expect(badGate.json().error.message).toContain('body/gates/maxRegression/auc');
    expect((await put(keys.ops, { autoApprove: 'yes' })).json().error.message).toContain('body/autoApprove');
  });
});

describe('reading, reviewing and cancelling runs', () => {
  it('lists runs by model and shows one; 404 for an unknown id', async () => {
    const model = uniqueName('m');
    const started = (await post('/v1/runs', keys.engineer, spec(model))).json();
    startedWorkflows.push(started.workflowId);
    const list = await app.inject({ url: `/v1/runs?model=${model}`, headers: { authorization: `Bearer ${keys.reviewer}` } });
    expect(list.json().runs.map((run: { id: string }) => run.id)).toEqual([started.id]);
    const shown = await app.inject({ url: `/v1/runs/${started.id}`, headers: { authorization: `Bearer ${keys.ops}` } });
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ id: started.id, model, status: 'running', spec: { target: 'delayed' } });
    const missing = await app.inject({ url: '/v1/runs/r-nope', headers: { authorization: `Bearer ${keys.ops}` } });
    expect(missing.statusCode).toBe(404);
    const badStatus = await app.inject({ url: '/v1/runs?status=bogus', headers: { authorization: `Bearer ${keys.ops}` } });
    expect(badStatus.statusCode).toBe(400);
  });

  it("refuses a review from the requester's user through another key (403), from admin and non-reviewers (403), and before the run awaits review (409)", async () => {
    const started = (await post('/v1/runs', keys.engineer, spec(uniqueName('m')))).json();
    startedWorkflows.push(started.workflowId);
    const url = `/v1/runs/${started.id}/review`;
    // Four eyes per person: alice started the run with her engineer key; her reviewer key cannot review it.
    const ownReview = await post(url, keys.aliceReviewer, { decision: 'approve' });
    expect(ownReview.statusCode).toBe(403);
    expect(ownReview.json().error).toMatchObject({ code: 'REQUESTER_CANNOT_REVIEW', message: expect.stringContaining('alice') });
    // admin manages keys and policies but is not a reviewer.
    const adminReview = await post(url, keys.admin, { decision: 'approve' });
    expect(adminReview.statusCode).toBe(403);
    expect(adminReview.json().error).toMatchObject({ code: 'FORBIDDEN', details: { requiredRoles: ['reviewer'] } });
    const shown = await app.inject({ url: `/v1/runs/${started.id}`, headers: { authorization: `Bearer ${keys.ops}` } });
    expect(shown.json().requestedBy).toBe('alice');
    const [row] = await database.db.select().from(runs).where(eq(runs.id, started.id));
    expect(row).toMatchObject({ requestedByUser: 'alice' });
    expect((await post(url, keys.engineer2, { decision: 'approve' })).statusCode).toBe(403);
    const early = await post(url, keys.reviewer, { decision: 'approve', comment: 'lgtm' });
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('NOT_AWAITING_REVIEW');
    expect((await post(url, keys.reviewer, { decision: 'maybe' })).statusCode).toBe(400);
  });

  it('cancels a running run, audited', async () => {
    const started = (await post('/v1/runs', keys.engineer, spec(uniqueName('m')))).json();
    startedWorkflows.push(started.workflowId);
    const response = await post(`/v1/runs/${started.id}/cancel`, keys.ops, {});
    expect(response.statusCode).toBe(202);
    const [audit] = await database.db.select().from(auditLog).where(eq(auditLog.action, 'run.cancel'));
    expect(audit).toMatchObject({ subject: `run:${started.id}`, role: 'ops', actor: 'olga' });
  });
});

describe('/v1/schedules', () => {
  it('creates, lists, pauses, unpauses, triggers and deletes a schedule with overlap skip', async () => {
    const id = uniqueName('nightly');
    const model = uniqueName('m');
    createdSchedules.push(id);
    const created = await post('/v1/schedules', keys.engineer, { id, cron: '0 2 * * *', run: spec(model) });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ id, model, paused: false });
    expect(created.json().nextRunAt.length).toBeGreaterThan(0);
    const description = await temporal.client.schedule.getHandle(`keel-${id}`).describe();
    expect(description.policies.overlap).toBe('SKIP');
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'pipeline' });

    const duplicate = await post('/v1/schedules', keys.engineer, { id, cron: '0 2 * * *', run: spec(model) });
    expect(duplicate.statusCode).toBe(409);
    expect((await post(`/v1/schedules/${id}/pause`, keys.engineer, {})).statusCode).toBe(403);
    const paused = await post(`/v1/schedules/${id}/pause`, keys.ops, {});
    expect(paused.json().paused).toBe(true);
    const unpaused = await post(`/v1/schedules/${id}/unpause`, keys.ops, {});
    expect(unpaused.json().paused).toBe(false);
    expect((await post(`/v1/schedules/${id}/trigger`, keys.ops, {})).statusCode).toBe(200);
    // The triggered run is a pipeline workflow under the schedule's id prefix.
    let triggered: string | undefined;
    for (let attempt = 0; attempt < 50 && !triggered; attempt++) {
      for await (const workflow of temporal.client.workflow.list({ query: `WorkflowId STARTS_WITH "pipeline/${model}/sched-${id}"` })) {
        triggered = workflow.workflowId;
      }
      if (!triggered) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(triggered).toBeDefined();
    startedWorkflows.push(triggered!);

    const list = await app.inject({ url: '/v1/schedules', headers: { authorization: `Bearer ${keys.ops}` } });
    expect(list.json().schedules.map((schedule: { id: string }) => schedule.id)).toContain(id);
    const deleted = await app.inject({ method: 'DELETE', url: `/v1/schedules/${id}`, headers: { authorization: `Bearer ${keys.engineer}` } });
    expect(deleted.statusCode).toBe(204);
    const gone = await app.inject({ url: `/v1/schedules/${id}`, headers: { authorization: `Bearer ${keys.ops}` } });
    expect(gone.statusCode).toBe(404);
    const actions = (await database.db.select().from(auditLog).where(eq(auditLog.subject, `schedule:${id}`))).map((row) => row.action);
    expect(actions).toEqual(['schedule.create', 'schedule.pause', 'schedule.unpause', 'schedule.trigger', 'schedule.delete']);
    // The schedule's runs are its owner's (alice); a manual trigger's run is the triggering user's (olga).
    const scheduledInput = description.action.type === 'startWorkflow' ? (description.action.args?.[0] as { requestedBy: { user?: string } }) : undefined;
    expect(scheduledInput?.requestedBy.user).toBe('alice');
    const history = await temporal.client.workflow.getHandle(triggered!).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const triggeredInput = JSON.parse(Buffer.from(payload!.data!).toString('utf8')) as { requestedBy: { user: string }; scheduleId: string };
    expect(triggeredInput).toMatchObject({ requestedBy: { user: 'olga' }, scheduleId: id });
  });

  it("refuses a schedule whose run spec auto-approves itself (400 naming the field): a schedule cannot repeat a bypass nightly", async () => {
    const run = { ...spec(uniqueName('m')), policy: { autoApprove: true } };
    const response = await post('/v1/schedules', keys.engineer, { id: uniqueName('auto'), cron: '0 2 * * *', run });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('body/run/policy/autoApprove');
  });

  it('rejects a malformed cron with a 400 naming the field', async () => {
    const response = await post('/v1/schedules', keys.engineer, { id: uniqueName('bad'), cron: 'every night', run: spec('m') });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('body/cron');
  });
});
