// Issue 14 §3: long training steps heartbeat and stop when cancelled, on data large enough that each step takes
// seconds: loading 3M rows, and a linear fit whose every Newton iteration is a long synchronous computation (it
// runs in a worker thread, which the cancellation terminates). Real worker (training tuning), real dev server.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { CancelledFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainingActivities, type TrainingHeartbeat } from '../activities/training-activities.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { KEEL_VERSION, TRAINING_WORKER_TUNING } from '../workers/training-worker.js';
import type { TrainModelInput } from '../workflows/contracts/pipeline-activities.js';
import type { trainOnly } from './support/training-train-only-workflow.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import { FLIGHTS_3M_PARQUET, storeParquetSnapshot } from './support/training-snapshots.js';

const workflowsPath = fileURLToPath(new URL('./support/training-train-only-workflow.ts', import.meta.url));

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;
let root: string;
let artifacts: FsArtifactStore;
const ALL_FLIGHTS_ROWS = 3_000_000;
/** Every flight (3M rows): loading it takes seconds. */
let allFlights: string;
/** 1M flights with their route (thousands of categories): a warm start and five Newton iterations of seconds each. */
let routes: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-training-cancel-large-'));
  artifacts = new FsArtifactStore(join(root, 'artifacts'));
  [temporal, bundle, allFlights, routes] = await Promise.all([
    connectTestTemporal(),
    bundleWorkflowCode({ workflowsPath }),
    storeParquetSnapshot(
      artifacts,
      `SELECT distance::DOUBLE AS distance, origin, destination, hour(date) AS hour, delay > 15 AS delayed FROM read_parquet('${FLIGHTS_3M_PARQUET}')`,
    ),
    storeParquetSnapshot(
      artifacts,
      `SELECT distance::DOUBLE AS distance, origin || '-' || destination AS route, hour(date) AS hour, delay > 15 AS delayed
       FROM read_parquet('${FLIGHTS_3M_PARQUET}') LIMIT 1000000`,
    ),
  ]);
});

afterAll(async () => {
  await temporal?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  // A give-up bound for a broken run, not a performance assertion.
  const giveUpAt = Date.now() + 120_000;
  while (Date.now() < giveUpAt) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function heartbeatOnServer(handle: WorkflowHandle): Promise<TrainingHeartbeat | undefined> {
  const payload = (await handle.describe()).raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<TrainingHeartbeat>(payload as Payload) : undefined;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** Starts `training`, cancels it once the server holds a heartbeat `ready` accepts, and returns what happened. */
async function cancelWhen(training: TrainModelInput, ready: (beat: TrainingHeartbeat) => boolean, options: { slowLoad?: boolean } = {}) {
  const taskQueue = uniqueName('training-cancel-large');
  // `slowLoad`: a clock that moves a second a call, so the load reports (heartbeats) after every chunk it reads, and
  // 20 ms of stall per chunk in the heartbeat below: a quiet machine reads 3M rows in about a second, faster than a
  // cancel travels (heartbeat flush, server, workflow task, heartbeat response), so the test makes the disk slow.
  let fakeNow = 0;
  const clock = options.slowLoad ? () => (fakeNow += 1_000) : undefined;
  const stall = new Int32Array(new SharedArrayBuffer(4));
  const { trainModel } = createTrainingActivities({ artifacts, checkpointDir: join(root, 'checkpoints'), keelVersion: KEEL_VERSION, clock });
  // Every heartbeat the activity sends, with when it sent it: what the training did after the cancel request.
  const beats: { at: number; progress: TrainingHeartbeat }[] = [];
  const worker = await Worker.create({
    connection: temporal.workerConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: {
      trainModel: (input: TrainModelInput) => {
        const context = Context.current();
        const send = context.heartbeat.bind(context);
        Object.assign(context, {
          heartbeat: (details: TrainingHeartbeat) => {
            beats.push({ at: Date.now(), progress: details });
            send(details);
            if (options.slowLoad && details.phase === 'loading' && (details.rowsLoaded ?? 0) > 0) Atomics.wait(stall, 0, 0, 20);
          },
        });
        return trainModel(input);
      },
    },
    ...TRAINING_WORKER_TUNING,
    // A cancel reaches the activity in a heartbeat's response: flushed every 100 ms here (1 s in production), so a
    // fast machine's Newton iterations cannot outrun the delivery and the count below measures the stop itself.
    maxHeartbeatThrottleInterval: '100 milliseconds',
  });
  let cancelledAt = Number.POSITIVE_INFINITY;
  const artifactsBefore = (await filesUnder(join(root, 'artifacts'))).length;
  const outcome = await worker.runUntil(async () => {
    const handle = await temporal.client.workflow.start<typeof trainOnly>('trainOnly', {
      taskQueue,
      workflowId: uniqueName('train-cancel-large'),
      // The pipeline's training heartbeat timeout.
      args: [{ training, trainingTaskQueue: taskQueue, heartbeatTimeout: '30 seconds' }],
    });
    try {
      const beat = await waitFor('the heartbeat to cancel on', async () => {
        const seen = await heartbeatOnServer(handle);
        return seen && ready(seen) ? seen : undefined;
      });
      cancelledAt = Date.now();
      await handle.cancel();
      const failure = await handle.result().then(
        () => undefined,
        (error: unknown) => error,
      );
      return { beat, failure, stoppedAfterMs: Date.now() - cancelledAt, history: await handle.fetchHistory() };
    } catch (error) {
      await handle.terminate('test failed').catch(() => undefined);
      throw error;
    }
  });
  const events = outcome.history.events ?? [];
  return {
    ...outcome,
    cancelRequested: events.some((event) => event.activityTaskCancelRequestedEventAttributes),
    // The activity itself acknowledged the cancellation (it did not complete, fail or time out).
    cancelled: events.some((event) => event.activityTaskCanceledEventAttributes),
    completed: events.some((event) => event.activityTaskCompletedEventAttributes),
    newArtifacts: (await filesUnder(join(root, 'artifacts'))).length - artifactsBefore,
    last: beats.at(-1)!.progress,
    afterCancel: beats.filter((beat) => beat.at > cancelledAt).map((beat) => beat.progress),
  };
}

const base = { model: 'flight-delays', target: 'delayed', task: 'binary' as const, seed: 3 };

describe('cancelling long training steps on large data', () => {
  it('when a training is cancelled while it loads 3M rows, then the load stops and the activity acknowledges it', async () => {
    const outcome = await cancelWhen(
      { ...base, runId: uniqueName('cancel-load'), snapshotSha256: allFlights, trainer: { kind: 'linear', params: {} } },
      (beat) => beat.phase === 'loading' && (beat.rowsLoaded ?? 0) > 0,
      { slowLoad: true },
    );
    expect(outcome.failure).toBeInstanceOf(WorkflowFailedError);
    expect((outcome.failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(outcome.cancelRequested).toBe(true);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.completed).toBe(false);
    expect(outcome.newArtifacts).toBe(0);
    // It stopped part-way through the rows (it reports them as it reads), not after reading them all.
    expect(outcome.last.phase).toBe('loading');
    expect(outcome.last.rowsLoaded).toBeGreaterThan(0);
    expect(outcome.last.rowsLoaded).toBeLessThan(ALL_FLIGHTS_ROWS);
    console.log(`[cancel while loading 3M rows] stopped after ${outcome.last.rowsLoaded} rows; the activity acknowledged the cancellation ${outcome.stoppedAfterMs} ms after it was requested`);
  }, 300_000);

  it('when a linear fit on large data is cancelled mid-fit, then its thread stops and the activity acknowledges it', async () => {
    const outcome = await cancelWhen(
      {
        ...base,
        runId: uniqueName('cancel-linear'),
        snapshotSha256: routes,
        // Far more iterations than the test could wait for: only cancellation ends it.
        trainer: { kind: 'linear', params: { maxIterations: 1000, tolerance: 1e-300 } },
      },
      (beat) => beat.phase === 'training',
    );
    expect(outcome.failure).toBeInstanceOf(WorkflowFailedError);
    expect((outcome.failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.completed).toBe(false);
    expect(outcome.newArtifacts).toBe(0);
    // Uncancelled, this fit runs 5 Newton iterations after its warm start, each one reported: a fit that ran on
    // after the cancel request would report them. The cancel reaches the activity with a heartbeat's response (flushed
    // every 100 ms here): the iteration in flight and at most one more may report after the request.
    expect(outcome.afterCancel.filter((progress) => progress.phase === 'training').length).toBeLessThanOrEqual(2);
    expect(outcome.last.phase).toBe('training');
    console.log(
      `[cancel a linear fit on 1M rows with a route feature] cancelled at iteration ${outcome.beat.iteration}; ` +
        `the activity acknowledged it ${outcome.stoppedAfterMs} ms after it was requested`,
    );
  }, 300_000);
});
