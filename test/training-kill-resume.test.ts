// kill -9 of a training worker mid-run: the retried attempt, on a fresh worker process, resumes from the last
// checkpoint and produces the same model, byte for byte, as a run that was never interrupted.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure, decodeTimeoutType, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTrainingActivities, type TrainingHeartbeat } from '../activities/training-activities.js';
import type { TrainingCheckpointFile } from '../training/training-checkpoints.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { childProcessEnv } from '../config.js';
import { KEEL_VERSION, TRAINING_WORKER_TUNING } from '../workers/training-worker.js';
import type { TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import type { trainOnly } from './support/training-train-only-workflow.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import { flightsTrainingSql, storeParquetSnapshot } from './support/training-snapshots.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const workerScript = fileURLToPath(new URL('./support/training-worker-process.ts', import.meta.url));
const workflowsPath = fileURLToPath(new URL('./support/training-train-only-workflow.ts', import.meta.url));

/** Kill once the server has seen a heartbeat reporting a checkpoint at or past this iteration. */
const KILL_AFTER_CHECKPOINT = 10;
const NUM_ITERATIONS = 60;

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;
let root: string;
let dataDir: string;
let artifactDir: string;
let artifacts: FsArtifactStore;
let snapshotSha256: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-training-kill-'));
  dataDir = join(root, 'data');
  artifactDir = join(root, 'artifacts');
  artifacts = new FsArtifactStore(artifactDir);
  [temporal, bundle, snapshotSha256] = await Promise.all([
    connectTestTemporal(),
    bundleWorkflowCode({ workflowsPath }),
    // 60k flights (42k training rows): a few seconds of training, long enough to kill it in the middle.
    storeParquetSnapshot(artifacts, flightsTrainingSql(60_000)),
  ]);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await temporal?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startWorkerProcess(taskQueue: string, standby = false): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript, taskQueue, ...(standby ? ['--standby'] : [])], {
    cwd: repoRoot,
    env: childProcessEnv({
      TEMPORAL_ADDRESS: temporal.address,
      DATABASE_URL: inject('databaseUrl'),
      KEEL_DATA_DIR: dataDir,
      KEEL_ARTIFACT_DIR: artifactDir,
      LOG_LEVEL: 'warn',
    }),
    stdio: [standby ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, diagnostics: () => string): Promise<T> {
  // A give-up bound for a broken run, not a performance assertion: a loaded 2-core machine needs its time.
  const giveUpAt = Date.now() + 90_000;
  while (Date.now() < giveUpAt) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}; worker output:\n${diagnostics()}`);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The checkpoint directory of the worker processes (trainingCheckpointDir of their config). */
const checkpointFiles = () => filesUnder(join(dataDir, 'checkpoints'));

async function readCheckpoint(): Promise<TrainingCheckpointFile | undefined> {
  const files = (await checkpointFiles()).filter((file) => file.endsWith('.json'));
  if (files.length === 0) return undefined;
  // Written by rename, so a file that exists is complete.
  return JSON.parse(await readFile(files[0], 'utf8')) as TrainingCheckpointFile;
}

/** The reference: the same input trained in this process, never interrupted. */
function trainUninterrupted(input: TrainModelInput): Promise<TrainModelResult> {
  const activities = createTrainingActivities({ artifacts, checkpointDir: join(root, 'uninterrupted-checkpoints'), keelVersion: KEEL_VERSION });
  return new MockActivityEnvironment().run(activities.trainModel, input);
}

/** The training progress the server holds for a pending `trainModel`, once it is on (or waiting for) `attempt`. */
async function heartbeatOnServer(handle: WorkflowHandle, attempt: number): Promise<TrainingHeartbeat | undefined> {
  const pending = (await handle.describe()).raw.pendingActivities?.[0];
  const payload = pending && (pending.attempt ?? 0) >= attempt ? pending.heartbeatDetails?.payloads?.[0] : undefined;
  return payload ? defaultPayloadConverter.fromPayload<TrainingHeartbeat>(payload as Payload) : undefined;
}

describe('training worker killed with SIGKILL', () => {
  it('when the worker dies mid-training, then the retry on a new worker resumes from the checkpoint and builds the identical model', async () => {
    const trainingTaskQueue = uniqueName('training-kill');
    const workflowTaskQueue = uniqueName('train-only');
    const training: TrainModelInput = {
      runId: uniqueName('kill-run'),
      model: 'flight-delays',
      snapshotSha256,
      target: 'delayed',
      task: 'binary',
      trainer: { kind: 'gbdt', params: { numIterations: NUM_ITERATIONS, numLeaves: 31, baggingFraction: 0.8, featureFraction: 0.8 } },
      seed: 11,
    };

    const T = { start: Date.now(), kill: 0, result: 0 };
    const first = startWorkerProcess(trainingTaskQueue);
    // Loaded now, polling only after the kill: the retry does not wait for a cold start.
    const second = startWorkerProcess(trainingTaskQueue, true);
    const workflowWorker = await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: workflowTaskQueue,
      workflowBundle: bundle,
    });
    const outcome = await workflowWorker.runUntil(async () => {
      const handle = await temporal.client.workflow.start<typeof trainOnly>('trainOnly', {
        taskQueue: workflowTaskQueue,
        workflowId: uniqueName('train-only'),
        // 10 s: on a loaded 2-core machine the retry's own heartbeats (flushed every second) may lag by seconds.
        args: [{ training, trainingTaskQueue, heartbeatTimeout: '10 seconds' }],
      });
      try {
        // Kill mid-run, as soon as a checkpoint at or past KILL_AFTER_CHECKPOINT is on disk: polled every 10 ms,
        // so even a fast machine is still training (waiting for more, e.g. a throttled heartbeat, let it finish).
        const onDisk = await waitFor(
          `a checkpoint at iteration >= ${KILL_AFTER_CHECKPOINT}`,
          async () => {
            const saved = await readCheckpoint();
            return saved !== undefined && saved.checkpoint.iteration >= KILL_AFTER_CHECKPOINT ? saved : undefined;
          },
          first.output,
        );
        T.kill = Date.now();
        first.child.kill('SIGKILL');
        const death = await first.exited;
        // The server times the dead attempt out on heartbeats and keeps its last progress for the retry.
        const serverBeat = await waitFor('the server to time out the first attempt', () => heartbeatOnServer(handle, 2), first.output);
        // The worker may have saved once more before the signal landed: the retry must pick up the latest.
        const lastSaved = (await readCheckpoint())!;
        const uninterrupted = trainUninterrupted(training);
        second.child.stdin!.end('go\n');
        const result = await handle.result();
        T.result = Date.now();
        second.child.kill('SIGTERM');
        await second.exited;
        const history = await handle.fetchHistory();
        return { death, onDisk, serverBeat, lastSaved, result, history, uninterrupted: await uninterrupted };
      } catch (error) {
        await handle.terminate('test failed').catch(() => undefined);
        throw error;
      }
    });

    expect(outcome.death.signal).toBe('SIGKILL');
    expect(outcome.lastSaved.checkpoint.iteration).toBeLessThan(NUM_ITERATIONS);

    // The activity completed on its second attempt, after the first one timed out on heartbeats; the server held
    // the first attempt's last progress heartbeat (loading or training: whichever the SDK's throttle flushed last).
    const events = outcome.history.events ?? [];
    const started = events.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started).toHaveLength(1);
    const attempt = started[0].activityTaskStartedEventAttributes!;
    expect(attempt.attempt).toBe(2);
    const timeout = attempt.lastFailure?.timeoutFailureInfo;
    expect(decodeTimeoutType(timeout?.timeoutType)).toBe('HEARTBEAT');
    expect(['loading', 'training']).toContain(outcome.serverBeat.phase);
    expect(outcome.serverBeat.resumedFromIteration).toBeNull();
    expect(events.some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);

    // It resumed from exactly the checkpoint the killed worker left, not from scratch, and cleaned up after itself.
    const result: TrainModelResult = outcome.result;
    expect(result.resumedFromIteration).toBe(outcome.lastSaved.checkpoint.iteration);
    expect(result.resumedFromIteration).toBeGreaterThanOrEqual(KILL_AFTER_CHECKPOINT);
    expect(await checkpointFiles()).toEqual([]);

    // The same model, byte for byte, as the uninterrupted run with the same seed.
    const uninterrupted = outcome.uninterrupted;
    expect(result.artifactSha256).toBe(uninterrupted.artifactSha256);
    expect(result.modelJsonSha256).toBe(uninterrupted.modelJsonSha256);
    expect({ ...result, resumedFromIteration: null, stageTimings: undefined }).toEqual({ ...uninterrupted, stageTimings: undefined });
    console.log(
      `[kill -9] killed after checkpoint ${outcome.onDisk.checkpoint.iteration}, resumed from ${result.resumedFromIteration}` +
        ` of ${result.bestIteration} iterations; model ${result.artifactSha256.slice(0, 12)} = uninterrupted;` +
        ` kill after ${T.kill - T.start} ms, retry done ${T.result - T.kill} ms later, reference done ${Date.now() - T.result} ms after that`,
    );
  }, 180_000);
});

describe('training cancelled through the server', () => {
  it('when the workflow cancels training, then the activity stops, acknowledges it and discards its checkpoint', async () => {
    const taskQueue = uniqueName('training-cancel');
    const checkpointDir = join(root, 'cancel-checkpoints');
    const worker = await Worker.create({
      connection: temporal.workerConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createTrainingActivities({ artifacts, checkpointDir, keelVersion: KEEL_VERSION, checkpointPolicy: { everyIterations: 2 } }),
      ...TRAINING_WORKER_TUNING,
    });
    const training: TrainModelInput = {
      runId: uniqueName('cancel-run'),
      model: 'flight-delays',
      snapshotSha256,
      target: 'delayed',
      task: 'binary',
      // Far more iterations than the test could wait for: only cancellation ends it.
      trainer: { kind: 'gbdt', params: { numIterations: 100_000, numLeaves: 31 } },
      seed: 5,
    };
    const { failure, history, checkpointsWhileRunning } = await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.start<typeof trainOnly>('trainOnly', {
        taskQueue,
        workflowId: uniqueName('train-cancel'),
        args: [{ training, trainingTaskQueue: taskQueue, heartbeatTimeout: '10 seconds' }],
      });
      try {
        await waitFor(
          'a training heartbeat past iteration 2',
          async () => {
            const beat = await heartbeatOnServer(handle, 1);
            return beat?.phase === 'training' && (beat.checkpointIteration ?? 0) >= 2 ? beat : undefined;
          },
          () => '(in-process worker)',
        );
        // (A save may be in flight: count finished checkpoints, not its temp file.)
        const running = (await filesUnder(checkpointDir)).filter((file) => file.endsWith('.json'));
        await handle.cancel();
        const outcome = await handle.result().then(
          () => undefined,
          (error: unknown) => error,
        );
        return { failure: outcome, history: await handle.fetchHistory(), checkpointsWhileRunning: running };
      } catch (error) {
        await handle.terminate('test failed').catch(() => undefined);
        throw error;
      }
    });

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const events = history.events ?? [];
    expect(events.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
    // The activity itself reported the cancellation: it stopped training rather than being abandoned.
    expect(events.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
    expect(checkpointsWhileRunning).toHaveLength(1);
    expect(await filesUnder(checkpointDir)).toEqual([]);
  });
});
