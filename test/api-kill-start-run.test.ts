// Fault test: the real API process SIGKILLed in the middle of POST /v1/runs, at the two points where a run can be
// half-started (its row recorded but no workflow yet; the workflow started but the row not yet stamped). The
// client's retry with the same Idempotency-Key, against a fresh API process, gets the same run, and exactly one
// workflow exists for it. Traffic to Temporal goes through a proxy the test holds to stop the request at its point.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineInputFor, repairUnstartedRuns } from '../api/runs/runs-service.js';
import { runs } from '../db/schema.js';
import { startApiProcess, type ApiProcess } from './support/api-process.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTcpHoldProxy, type TcpHoldProxy } from './support/tcp-hold-proxy.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let proxy: TcpHoldProxy;
const adminKey = `keel_test_admin_${randomBytes(12).toString('hex')}`;
// No worker polls this queue: the runs stay queued, which is all this test needs of them.
const taskQueue = uniqueName('pipeline-kill-api');
const apis: ApiProcess[] = [];
const startedWorkflows: string[] = [];

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  proxy = await startTcpHoldProxy(temporal.address);
});

afterAll(async () => {
  await Promise.allSettled(apis.map((api) => api.process.stop({ graceMs: 5_000 })));
  await Promise.allSettled(startedWorkflows.map((id) => temporal.client.workflow.getHandle(id).terminate('test cleanup')));
  // Also what a restarted API's repair may have started for the runs left stuck (nothing stays running).
  const leftRunning: string[] = [];
  for await (const execution of temporal.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    leftRunning.push(execution.workflowId);
  }
  await Promise.allSettled(leftRunning.map((id) => temporal.client.workflow.getHandle(id).terminate('test cleanup')));
  await proxy?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

async function startApi(): Promise<ApiProcess> {
  const api = await startApiProcess({
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: proxy.address,
    KEEL_ADMIN_KEY: adminKey,
    KEEL_PIPELINE_TASK_QUEUE: taskQueue,
    KEEL_DEMO: 'false',
  });
  apis.push(api);
  return api;
}

async function createEngineerKey(api: ApiProcess): Promise<string> {
  const response = await fetch(`${api.url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: uniqueName('engineer'), roles: ['engineer'] }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { secret: string }).secret;
}

function postRun(api: ApiProcess, key: string, model: string, idempotencyKey: string): Promise<Response> {
  return fetch(`${api.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify({ model, dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary' }),
  });
}

async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function runRowOf(model: string) {
  const rows = await database.db.select().from(runs).where(eq(runs.model, model));
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0];
}

/** Every execution Temporal has under the workflow id (visibility), once at least one is listed. */
async function executionsOf(workflowId: string): Promise<string[]> {
  return poll(`an execution of ${workflowId} in visibility`, async () => {
    const runIds: string[] = [];
    for await (const execution of temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runIds.push(execution.runId);
    return runIds.length > 0 ? runIds : undefined;
  });
}

async function killMidRequest(api: ApiProcess, request: Promise<Response>): Promise<void> {
  api.process.child.kill('SIGKILL');
  await api.process.exited;
  // The client sees the connection drop: no answer, so it retries.
  await expect(request).rejects.toThrow();
  // Held bytes of the dead process must never reach Temporal: let go only once the proxy saw its connections close.
  await poll('the killed API\'s connections closed', async () => (proxy.openConnections() === 0 ? true : undefined));
  proxy.hold('none');
}

describe('the API killed mid-POST /v1/runs', () => {
  it('when it dies after recording the run but before starting the workflow, then the retry starts the one workflow of the same run', async () => {
    const first = await startApi();
    const key = await createEngineerKey(first);
    const model = uniqueName('m');
    const idempotencyKey = uniqueName('idem');

    proxy.hold('requests');
    const request = postRun(first, key, model, idempotencyKey);
    request.catch(() => undefined);
    const recorded = await poll('the run row', () => runRowOf(model));
    expect(recorded.workflowStartedAt).toBeNull();
    // More starts stuck on Temporal than the API's pool has connections (10): none holds one, so other routes answer.
    const stuck = Array.from({ length: 12 }, () => postRun(first, key, uniqueName('m-stuck'), uniqueName('idem')));
    for (const other of stuck) other.catch(() => undefined);
    await poll('the stuck starts recorded', async () => {
      const rows = await database.db.select().from(runs);
      return rows.filter((row) => row.model.startsWith('m-stuck')).length === 12 ? true : undefined;
    });
    const list = await fetch(`${first.url}/v1/runs?limit=5`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(30_000) });
    expect(list.status).toBe(200);
    await killMidRequest(first, request);
    startedWorkflows.push(recorded.workflowId);
    // Nothing reached Temporal before the kill.
    await expect(temporal.client.workflow.getHandle(recorded.workflowId).describe()).rejects.toThrow(/not found/i);

    const second = await startApi();
    const retry = await postRun(second, key, model, idempotencyKey);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const body = (await retry.json()) as { id: string; workflowId: string };
    expect(body).toMatchObject({ id: recorded.id, workflowId: recorded.workflowId });

    const description = await temporal.client.workflow.getHandle(recorded.workflowId).describe();
    expect(description.taskQueue).toBe(taskQueue);
    expect(await executionsOf(recorded.workflowId)).toEqual([description.runId]);
    expect((await runRowOf(model))?.workflowStartedAt).not.toBeNull();
    // A second retry changes nothing.
    expect(((await (await postRun(second, key, model, idempotencyKey)).json()) as { id: string }).id).toBe(recorded.id);
    expect(await executionsOf(recorded.workflowId)).toEqual([description.runId]);
    expect(await database.db.select().from(runs).where(eq(runs.model, model))).toHaveLength(1);
  }, 240_000);

  it('when it dies after starting the workflow but before recording that, then the retry gets the same run and no second workflow', async () => {
    const first = await startApi();
    const key = await createEngineerKey(first);
    const model = uniqueName('m');
    const idempotencyKey = uniqueName('idem');

    // A new gRPC connection needs the server's answers to open: let one run open the API's connection first.
    const warmUp = await postRun(first, key, uniqueName('m'), uniqueName('idem'));
    expect(warmUp.status).toBe(201);
    startedWorkflows.push(((await warmUp.json()) as { workflowId: string }).workflowId);

    proxy.hold('responses');
    const request = postRun(first, key, model, idempotencyKey);
    request.catch(() => undefined);
    const recorded = await poll('the run row', () => runRowOf(model));
    startedWorkflows.push(recorded.workflowId);
    // The start reached Temporal; only its answer is held.
    const started = await poll('the started workflow', () => temporal.client.workflow.getHandle(recorded.workflowId).describe());
    await killMidRequest(first, request);
    expect((await runRowOf(model))?.workflowStartedAt).toBeNull();

    const second = await startApi();
    const retry = await postRun(second, key, model, idempotencyKey);
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { id: string }).id).toBe(recorded.id);
    expect(await executionsOf(recorded.workflowId)).toEqual([started.runId]);
    expect((await runRowOf(model))?.workflowStartedAt).not.toBeNull();
  }, 240_000);
});

describe('runs a killed API left without their workflow, repaired without a client retry', () => {
  it('stamps a run whose workflow exists, starts a keyed one, and ends an unkeyed one failed', async () => {
    const requester = { keyId: '00000000-0000-4000-8000-000000000001', name: 'alice', user: 'alice' };
    const halfStarted = async (suffix: string, idempotencyKey: string | null) => {
      const model = uniqueName(`m-${suffix}`);
      const id = `r-${uniqueName(suffix)}`;
      const workflowId = `pipeline/${model}/${id}`;
      const spec = { model, dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary' as const };
      // As POST /v1/runs leaves it when killed after its first step.
      await database.db.insert(runs).values({
        id,
        workflowId,
        model,
        spec,
        specHash: 'h',
        idempotencyKey,
        requestedBy: requester.keyId,
        requestedByName: requester.name,
        status: 'running',
        stage: 'queued',
        workflowStartedAt: null,
      });
      startedWorkflows.push(workflowId);
      return { id, workflowId, spec };
    };
    const startedBeforeKill = await halfStarted('started', null);
    await temporal.client.workflow.start('pipeline', {
      taskQueue,
      workflowId: startedBeforeKill.workflowId,
      args: [pipelineInputFor(startedBeforeKill.id, startedBeforeKill.spec, requester)],
    });
    const keyed = await halfStarted('keyed', `${requester.keyId}:${uniqueName('idem')}`);
    const unkeyed = await halfStarted('unkeyed', null);

    const deps = { db: database.db, client: temporal.client, taskQueues: { pipeline: taskQueue, training: 'training' } };
    const outcome = await repairUnstartedRuns(deps, { olderThanMs: 0 });
    expect(outcome).toMatchObject({ [startedBeforeKill.id]: 'stamped', [keyed.id]: 'started', [unkeyed.id]: 'failed' });
    expect((await temporal.client.workflow.getHandle(keyed.workflowId).describe()).taskQueue).toBe(taskQueue);
    await expect(temporal.client.workflow.getHandle(unkeyed.workflowId).describe()).rejects.toThrow(/not found/i);
    const rows = await database.db.select().from(runs);
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(startedBeforeKill.id)?.workflowStartedAt).not.toBeNull();
    expect(byId.get(keyed.id)?.workflowStartedAt).not.toBeNull();
    expect(byId.get(unkeyed.id)).toMatchObject({ status: 'failed', workflowStartedAt: null });
    expect(byId.get(unkeyed.id)?.reason).toMatch(/API stopped before the run's workflow started/);
    // Once repaired, nothing is left to repair.
    const again = await repairUnstartedRuns(deps, { olderThanMs: 0 });
    expect(Object.keys(again).filter((id) => [startedBeforeKill.id, keyed.id, unkeyed.id].includes(id))).toEqual([]);
  });
});
