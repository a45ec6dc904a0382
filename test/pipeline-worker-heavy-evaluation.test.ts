// Issue 12: a CPU-heavy evaluation must not starve the pipeline worker's workflows. The real pipeline worker runs
// in its own process (its production entry point, evaluation in its thread pool) while a run evaluates a model
// on a large holdout; the run's status query is asked over and over meanwhile and must answer every time.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainingActivities } from '../activities/training-activities.js';
import { startRun } from '../api/runs/runs-service.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { childProcessEnv } from '../config.js';
import { openDuckDb } from '../data/duckdb-session.js';
import { KEEL_VERSION, TRAINING_WORKER_TUNING } from '../workers/training-worker.js';
import { statusQuery, type PipelineStatus } from '../workflows/pipeline-messages.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import { flightsTrainingSql } from './support/training-snapshots.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const pipelineWorkerScript = fileURLToPath(new URL('../workers/pipeline-worker.ts', import.meta.url));
/** 400k flights: a holdout of about 60k rows, seconds of scoring (candidate, trainer reference, parity, metrics). */
const ROWS = 400_000;
/** A give-up bound for one query on a broken worker, not a performance assertion. */
const QUERY_GIVE_UP_MS = 60_000;

let database: TestDatabase;
let temporal: TestTemporal;
let root: string;
let dataRoot: string;
let worker: ChildProcess | undefined;
let workerOutput = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-heavy-evaluation-'));
  dataRoot = join(root, 'data', 'datasets');
  await mkdir(dataRoot, { recursive: true });
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const session = await openDuckDb({ threads: 1 });
  try {
    await session.connection.run(`COPY (${flightsTrainingSql(ROWS)}) TO '${join(dataRoot, 'flights.parquet')}' (FORMAT parquet)`);
  } finally {
    session.close();
  }
});

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await Promise.allSettled([database?.close(), temporal?.close()]);
  if (root) await rm(root, { recursive: true, force: true });
});

function startPipelineWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', pipelineWorkerScript], {
    cwd: repoRoot,
    env: childProcessEnv({ ...env, LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    workerOutput = (workerOutput + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

describe('a heavy evaluation on the real pipeline worker', () => {
  it('when a large holdout is being scored, then the run answers its status query throughout', async () => {
    const taskQueues = { pipeline: uniqueName('pipeline-heavy'), training: uniqueName('training-heavy') };
    const dataDir = join(root, 'data');
    const artifactDir = join(dataDir, 'artifacts');
    worker = startPipelineWorker({
      TEMPORAL_ADDRESS: temporal.address,
      DATABASE_URL: database.url,
      KEEL_DATA_DIR: dataDir,
      KEEL_PIPELINE_TASK_QUEUE: taskQueues.pipeline,
      KEEL_TRAINING_TASK_QUEUE: taskQueues.training,
    });
    const training = await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: taskQueues.training,
      activities: createTrainingActivities({
        artifacts: new FsArtifactStore(artifactDir),
        checkpointDir: join(root, 'checkpoints'),
        keelVersion: KEEL_VERSION,
      }),
      ...TRAINING_WORKER_TUNING,
    });
    const model = uniqueName('flight-delays');

    const outcome = await training.runUntil(async () => {
      const { run } = await startRun(
        { db: database.db, client: temporal.client, taskQueues },
        {
          spec: {
            model,
            dataset: { uri: join(dataRoot, 'flights.parquet') },
            target: 'delayed',
            task: 'binary',
            trainer: { kind: 'gbdt', params: { numIterations: 20, numLeaves: 63 } },
          },
          principal: { keyId: randomUUID(), name: 'erin', user: 'erin', roles: ['engineer'] },
          role: 'engineer',
        },
      );
      const handle = temporal.client.workflow.getHandle(run.workflowId);
      const latencies: { stage: PipelineStatus['stage']; ms: number }[] = [];
      let status: PipelineStatus | undefined;
      try {
        // The worker process may still be starting (it bundles the workflows): wait for its first answer.
        const startedBy = Date.now() + 300_000;
        for (;;) {
          const answered = await handle.query(statusQuery).then(
            () => true,
            (error: unknown) => {
              if (Date.now() > startedBy) throw error;
              return false;
            },
          );
          if (answered) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const giveUpAt = Date.now() + 600_000;
        // Asked back to back: while the worker's event loop is blocked, a query waits for it.
        while (Date.now() < giveUpAt) {
          const asked = Date.now();
          status = await Promise.race([
            handle.query(statusQuery),
            new Promise<never>((_, reject) =>
              setTimeout(() => reject(new Error(`the status query gave no answer in ${QUERY_GIVE_UP_MS} ms`)), QUERY_GIVE_UP_MS).unref(),
            ),
          ]);
          latencies.push({ stage: status.stage, ms: Date.now() - asked });
          if (status.status !== 'running' || status.stage === 'awaiting_review') break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return { status, latencies };
      } finally {
        await handle.terminate('test done').catch(() => undefined);
      }
    });

    expect(outcome.status, workerOutput).toMatchObject({ stage: 'awaiting_review', status: 'awaiting_review' });
    const duringEvaluation = outcome.latencies.filter((latency) => latency.stage === 'evaluate').map((latency) => latency.ms);
    // The query was answered while the evaluation ran, not only before and after it.
    expect(duringEvaluation.length, workerOutput).toBeGreaterThan(0);
    const sorted = [...duringEvaluation].sort((a, b) => a - b);
    const evaluation = outcome.status!.timings.find((timing) => timing.stage === 'evaluate');
    console.log(
      `[heavy evaluation] ${ROWS} rows, evaluate stage ${evaluation?.durationMs} ms: ${sorted.length} status queries answered during it, ` +
        `latency p50 ${percentile(sorted, 0.5)} ms, p90 ${percentile(sorted, 0.9)} ms, max ${sorted.at(-1)} ms`,
    );
  }, 900_000);
});
