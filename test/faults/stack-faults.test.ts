// Fault tests on the real stack (issue 12 §2): a private Temporal dev server, Postgres, pipeline worker, training
// worker and API, each killed at a chosen point of a real run. Afterwards every run reaches the terminal state it
// should, with exactly one model version, exactly one production move and a complete, verifiable audit trail.
// The chosen points are made exact with table locks: a run's write blocks on a lock the test holds, so the fault
// lands while that activity is provably in flight.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb } from '../../data/duckdb-session.js';
import { FLIGHTS_3M_PARQUET } from '../support/training-snapshots.js';
import { startFaultStack, type FaultStack } from './fault-stack.js';

let stack: FaultStack;
let dataRoot: string;
const outcomes: string[] = [];

beforeAll(async () => {
  dataRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-faults-data-'));
  await fs.chmod(dataRoot, 0o755);
  // 40k real flights: a few seconds of training, so a fault can land in the middle of it.
  const session = await openDuckDb({ threads: 1 });
  try {
    await session.connection.run(
      `COPY (SELECT distance::DOUBLE AS distance, origin, destination, hour(date)::DOUBLE AS hour,
                    dayofweek(date)::DOUBLE AS weekday, CASE WHEN delay > 15 THEN 1 ELSE 0 END AS delayed
             FROM read_parquet('${FLIGHTS_3M_PARQUET}') LIMIT 40000)
       TO '${path.join(dataRoot, 'flights.parquet')}' (FORMAT parquet)`,
    );
  } finally {
    session.close();
  }
  stack = await startFaultStack({ dataRoots: [dataRoot] });
}, 300_000);

afterAll(async () => {
  if (outcomes.length > 0) console.log(`[faults]\n${outcomes.join('\n')}`);
  await stack?.stop();
  if (dataRoot) await fs.rm(dataRoot, { recursive: true, force: true });
});

/** Iterations of a training a fault is injected into: several seconds even on a fast machine, longer than the SDK's 1 s
 * heartbeat throttle, so the test sees a `training` heartbeat on the server before the training ends. */
const LONG_TRAINING = 800;

function runSpec(model: string, numIterations = 60) {
  return {
    model,
    dataset: { uri: path.join(dataRoot, 'flights.parquet') },
    target: 'delayed',
    task: 'binary' as const,
    trainer: { kind: 'gbdt' as const, params: { numIterations, numLeaves: 15, learningRate: 0.1 } },
    gates: { auc: { min: 0.5 } },
  };
}

/** A give-up bound for a broken run, not a performance assertion: a loaded 2-core machine needs its time. */
async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 240_000, intervalMs = 100): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < giveUpAt) {
    try {
      const found = await probe();
      if (found !== undefined) return found;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const logs = (['pipeline', 'training', 'api', 'temporal'] as const).map((name) => `--- ${name}\n${stack.output(name)}`).join('\n');
  throw new Error(`gave up waiting for ${what} (last error: ${String(lastError)})\n${logs}`);
}

async function startRun(model: string, numIterations?: number): Promise<{ id: string; workflowId: string }> {
  const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, runSpec(model, numIterations));
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return started.body;
}

interface RunRow {
  status: string;
  stage: string;
  reason: string | null;
}

const runRow = async (runId: string) => (await stack.query<RunRow>('SELECT status, stage, reason FROM runs WHERE id = $1', [runId]))[0];

async function waitForRunStatus(runId: string, wanted: string): Promise<RunRow> {
  return poll(`run ${runId} to be ${wanted}`, async () => {
    const row = await runRow(runId);
    if (row && row.status === wanted) return row;
    if (row && !['running', 'awaiting_review'].includes(row.status)) throw new Error(`run ${runId} ended ${row.status}: ${row.reason}`);
    return undefined;
  });
}

/** Resolves once the run's workflow has `activityType` started on a worker (and, if given, its heartbeat passes `beat`). */
async function waitForActivityStarted(workflowId: string, activityType: string, beat?: (details: any) => boolean): Promise<void> {
  await poll(`${activityType} to run in ${workflowId}`, async () => {
    const description = await stack.temporal().workflow.getHandle(workflowId).describe();
    const pending = description.raw.pendingActivities?.find((activity) => activity.activityType?.name === activityType);
    // PENDING_ACTIVITY_STATE_STARTED = 2
    if (!pending || pending.state !== 2) return undefined;
    if (!beat) return true;
    const payload = pending.heartbeatDetails?.payloads?.[0];
    return payload && beat(defaultPayloadConverter.fromPayload(payload as Payload)) ? true : undefined;
  }, 240_000, 50);
}

/** The attempt on which `activityType` finally ran in the run (Temporal records only the last attempt's start). */
async function lastAttempt(workflowId: string, activityType: string): Promise<number> {
  const events = (await stack.temporal().workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduledIds = new Set(
    events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((event) => String(event.eventId)),
  );
  const attempts = events.flatMap((event) => {
    const started = event.activityTaskStartedEventAttributes;
    return started && scheduledIds.has(String(started.scheduledEventId)) ? [started.attempt ?? 1] : [];
  });
  return Math.max(0, ...attempts);
}

/** Holds EXCLUSIVE locks on `tables`: reads go on, every write to them waits until `release()`. */
async function lockTables(tables: string[]): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: stack.databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${tables.join(', ')} IN EXCLUSIVE MODE`);
  return {
    release: async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Resolves once `count` sessions wait on a lock of `table` (the run's write is in flight, held by the test). */
async function waitForBlockedWrites(table: string, count = 1): Promise<void> {
  await poll(`${count} write(s) to ${table} to wait on the test's lock`, async () => {
    const [row] = await stack.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = $1`,
      [table],
    );
    return Number(row!.n) >= count ? true : undefined;
  });
}

async function approve(runId: string): Promise<void> {
  await waitForRunStatus(runId, 'awaiting_review');
  const review = await poll(`the review of ${runId} to be accepted`, async () => {
    const answer = await stack.api('POST', `/v1/runs/${runId}/review`, stack.keys.reviewer, { decision: 'approve', comment: 'fault test' });
    return answer.status === 503 ? undefined : answer;
  });
  expect(review.status, JSON.stringify(review.body)).toBe(200);
}

/** Exactly one version, one production move and one of each audit row the lifecycle writes, in order. */
async function expectOneCleanDeployment(model: string, runId: string): Promise<void> {
  expect(await runRow(runId)).toMatchObject({ status: 'deployed' });
  const versions = await stack.query<{ version: number; status: string; run_id: string }>(
    'SELECT v.version, v.status, v.run_id FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1',
    [model],
  );
  expect(versions).toEqual([{ version: 1, status: 'deployed', run_id: runId }]);
  const moves = await stack.query<{ action: string; from_version: number | null; to_version: number }>(
    'SELECT d.action, d.from_version, d.to_version FROM deployments d JOIN models m ON m.id = d.model_id WHERE m.name = $1',
    [model],
  );
  expect(moves).toEqual([{ action: 'deploy', from_version: null, to_version: 1 }]);
  const audit = await stack.query<{ action: string }>('SELECT action FROM audit_log WHERE subject IN ($1, $2) ORDER BY id', [`run:${runId}`, `model:${model}`]);
  expect(audit.map((row) => row.action)).toEqual(['run.start', 'model_version.register', 'run.approve', 'model.deploy']);
}

describe('fault tests on the real stack', () => {
  it('when the Temporal dev server is SIGKILLed mid-training and restarted on its database file, then the run deploys once', async () => {
    const model = 'faults-temporal-kill';
    const run = await startRun(model, LONG_TRAINING);
    await waitForActivityStarted(run.workflowId, 'trainModel', (beat) => beat?.phase === 'training');
    await stack.kill('temporal');
    // While Temporal is down the API still reads runs from Postgres.
    const whileDown = await stack.api('GET', `/v1/runs/${run.id}`, stack.keys.ops);
    expect(whileDown.status).toBe(200);
    await stack.start('temporal');
    await approve(run.id);
    expect({ pipeline: stack.running('pipeline'), training: stack.running('training'), api: stack.running('api') }).toEqual({
      pipeline: true,
      training: true,
      api: true,
    });
    await waitForRunStatus(run.id, 'deployed');
    await expectOneCleanDeployment(model, run.id);
    const trainAttempt = await lastAttempt(run.workflowId, 'trainModel');
    outcomes.push(`Temporal dev server SIGKILL mid-training, restarted on its SQLite file → deployed (trainModel attempt ${trainAttempt}); 1 version, 1 production move, audit complete (GET /v1/runs while down: ${whileDown.status})`);
  }, 480_000);

  it('when Postgres stops immediately during one run\'s training and another\'s register, then the API answers 503 and both runs deploy once after it restarts', async () => {
    const registering = { model: 'faults-pg-register', run: { id: '', workflowId: '' } };
    const training = { model: 'faults-pg-training', run: { id: '', workflowId: '' } };
    const lock = await lockTables(['model_versions']);
    try {
      registering.run = await startRun(registering.model);
      await waitForActivityStarted(registering.run.workflowId, 'registerModelVersion');
      await waitForBlockedWrites('model_versions');
      training.run = await startRun(training.model, LONG_TRAINING);
      await waitForActivityStarted(training.run.workflowId, 'trainModel', (beat) => beat?.phase === 'training');
      await stack.stopPostgresImmediately();
    } finally {
      await lock.release();
    }
    const whileDown = {
      get: await stack.api('GET', `/v1/runs/${training.run.id}`, stack.keys.ops),
      list: await stack.api('GET', '/v1/runs', stack.keys.ops),
      start: await stack.api('POST', '/v1/runs', stack.keys.engineer, runSpec('faults-pg-refused')),
    };
    for (const [route, answer] of Object.entries(whileDown)) {
      expect({ route, status: answer.status, code: answer.body?.error?.code }).toEqual({ route, status: 503, code: 'SERVICE_UNAVAILABLE' });
    }
    // Down long enough for the runs' activities and bookkeeping to fail a few times against it.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await stack.restartPostgres();
    // The API recovers by itself: its pool opens new connections.
    const recovered = await poll('the API to answer again', async () => {
      const answer = await stack.api('GET', `/v1/runs/${training.run.id}`, stack.keys.ops);
      return answer.status === 503 ? undefined : answer;
    }, 60_000, 200);
    expect(recovered.status).toBe(200);
    // No process died of the outage: a connection lost mid-query once crashed the pipeline worker.
    expect({ api: stack.running('api'), pipeline: stack.running('pipeline'), training: stack.running('training') }).toEqual({
      api: true,
      pipeline: true,
      training: true,
    });
    await Promise.all([approve(registering.run.id), approve(training.run.id)]);
    await Promise.all([waitForRunStatus(registering.run.id, 'deployed'), waitForRunStatus(training.run.id, 'deployed')]);
    await expectOneCleanDeployment(registering.model, registering.run.id);
    await expectOneCleanDeployment(training.model, training.run.id);
    const refused = await stack.query('SELECT id FROM runs WHERE model = $1', ['faults-pg-refused']);
    expect(refused).toEqual([]);
    // The register that was in flight failed with the outage and succeeded on a retry.
    const registerAttempt = await lastAttempt(registering.run.workflowId, 'registerModelVersion');
    expect(registerAttempt).toBeGreaterThanOrEqual(2);
    outcomes.push(
      `Postgres immediate stop during training (run A) and register (run B, registerModelVersion attempt ${registerAttempt}), restarted → both deployed; 1 version and 1 production move each, audit complete`,
      `  while down: GET /v1/runs/:id ${whileDown.get.status}, GET /v1/runs ${whileDown.list.status}, POST /v1/runs ${whileDown.start.status} (no run row left); after restart: ${recovered.status} without restarting the API`,
    );
  }, 480_000);

  it('when the pipeline worker is SIGKILLed during one run\'s evaluate and another\'s deploy, then a new worker finishes both, deploying each once', async () => {
    const deploying = { model: 'faults-worker-deploy', run: await startRun('faults-worker-deploy') };
    await approve(deploying.run.id);
    const evaluating = { model: 'faults-worker-evaluate', run: { id: '', workflowId: '' } };
    const lock = await lockTables(['evaluation_reports', 'deployments']);
    try {
      evaluating.run = await startRun(evaluating.model);
      await waitForActivityStarted(deploying.run.workflowId, 'deployModelVersion');
      await waitForActivityStarted(evaluating.run.workflowId, 'evaluateModel');
      await waitForBlockedWrites('deployments');
      await waitForBlockedWrites('evaluation_reports');
      await stack.kill('pipeline');
    } finally {
      await lock.release();
    }
    await stack.start('pipeline');
    await waitForRunStatus(deploying.run.id, 'deployed');
    await approve(evaluating.run.id);
    await waitForRunStatus(evaluating.run.id, 'deployed');
    await expectOneCleanDeployment(deploying.model, deploying.run.id);
    await expectOneCleanDeployment(evaluating.model, evaluating.run.id);
    const reports = await stack.query('SELECT id FROM evaluation_reports WHERE run_id = $1', [evaluating.run.id]);
    expect(reports).toHaveLength(1);
    // Both activities the worker was killed in ran again on the new worker.
    const attempts = {
      evaluate: await lastAttempt(evaluating.run.workflowId, 'evaluateModel'),
      deploy: await lastAttempt(deploying.run.workflowId, 'deployModelVersion'),
    };
    expect(attempts.evaluate).toBeGreaterThanOrEqual(2);
    expect(attempts.deploy).toBeGreaterThanOrEqual(2);
    outcomes.push(
      `pipeline worker SIGKILL during evaluate (run A, attempt ${attempts.evaluate}) and deploy (run B, attempt ${attempts.deploy}), new worker → both deployed; 1 version, 1 evaluation report, 1 production move each, audit complete`,
    );
  }, 600_000);
});
