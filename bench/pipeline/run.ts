// bench/pipeline: what orchestration costs. Starts its own dev server, embedded Postgres and workers, then
//  1. one auto-approved run on the shipped dataset: wall time vs the sum of its activities' own times;
//  2. N runs started at once (default 20): all must finish; wall time and per-run overhead, and, so the wall time can be
//     read on a shared machine, the CPU time of the workers (both run in this process) and how many trainings each
//     training slot ran.
// The pipeline worker is built as runPipelineWorker builds it (evaluation threads, activity limits); the training
// worker's activities run on this process's event loop, as in the training worker's process.
// Usage: npx tsx bench/pipeline/run.ts [--concurrent 20] [--training-slots N (default KEEL_TRAINING_SLOTS)]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import pino from 'pino';
import { createTrainingActivities } from '../../activities/training-activities.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { DEMO_DATASET, demoRunSpec } from '../../dev/bootstrap.js';
import { startEmbeddedPostgres } from '../../dev/embedded-postgres.js';
import { findTemporalCli } from '../../dev/temporal-cli.js';
import { freePort, startTemporalDevServer } from '../../dev/temporal-dev-server.js';
import { createModelCache } from '../../serving/model-cache.js';
import { createEvaluationThreads } from '../../workers/evaluation-threads.js';
import { createPipelineActivities, limitPipelineActivities } from '../../workers/pipeline-worker.js';
import { workflowsPath } from '../../workers/workflow-bundle.js';
import type { PipelineInput } from '../../workflows/contracts/pipeline-input.js';
import type { PipelineStatus } from '../../workflows/pipeline-messages.js';
import { pipelineWorkflowId } from '../../workflows/workflow-ids.js';
import { putApprovalPolicy } from '../../db/repositories/approval-policies.js';

const concurrentArg = process.argv.indexOf('--concurrent');
const concurrent = concurrentArg > 0 ? Number(process.argv[concurrentArg + 1]) : 20;
const slotsArg = process.argv.indexOf('--training-slots');
const trainingSlots = slotsArg > 0 ? Number(process.argv[slotsArg + 1]) : undefined;

interface RunTiming {
  wallMs: number;
  activityMs: number;
  activities: number;
  status: string;
}

/** Sum of each activity's own execution (started → completed) from the workflow history. */
async function activityTime(client: Client, workflowId: string): Promise<{ ms: number; count: number }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const started = new Map<string, number>();
  let total = 0;
  let count = 0;
  for (const event of history.events ?? []) {
    const at = Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
    if (event.activityTaskStartedEventAttributes) {
      started.set(String(event.activityTaskStartedEventAttributes.scheduledEventId), at);
    }
    if (event.activityTaskCompletedEventAttributes) {
      const from = started.get(String(event.activityTaskCompletedEventAttributes.scheduledEventId));
      if (from !== undefined) {
        total += at - from;
        count++;
      }
    }
  }
  return { ms: total, count };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-bench-pipeline-'));
  await fs.chmod(scratch, 0o755);
  const cli = await findTemporalCli();
  const [temporalServer, postgres] = await Promise.all([
    (async () => startTemporalDevServer({ cli, port: await freePort() }))(),
    (async () => startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg'), port: await freePort(), persistent: false }))(),
  ]);
  try {
    await applyMigrations(postgres.url);
    const config = loadConfig({ KEEL_DATA_DIR: scratch, DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporalServer.address });
    await fs.mkdir(config.dataRoots[0]!, { recursive: true });
    const datasetPath = path.join(config.dataRoots[0]!, 'seattle-weather.csv');
    await fs.copyFile(DEMO_DATASET, datasetPath);
    const db = createDb(postgres.url, { logger: pino({ name: 'bench-pipeline', level: 'warn' }) });
    const artifacts = new FsArtifactStore(config.artifactDir);
    const connection = await Connection.connect({ address: temporalServer.address });
    const client = new Client({ connection });
    const workerConnection = await NativeConnection.connect({ address: temporalServer.address });
    const deps = { config, temporalAddress: temporalServer.address, db, artifacts, close: async () => undefined };
    const modelCache = createModelCache({ db: db.db, pool: db.pool, artifacts, logger: pino({ name: 'keel-bench-model-cache', level: 'warn' }) });
    // As runPipelineWorker builds it: evaluations in config.cpuThreads worker threads (off the event loop that also
    // runs every other activity here), ingests, validations and evaluations limited as configured.
    const evaluationThreads = createEvaluationThreads({ databaseUrl: postgres.url, artifactDir: config.artifactDir, logLevel: 'warn' }, config.cpuThreads);
    const pipelineWorker = await Worker.create({
      connection: workerConnection,
      taskQueue: config.taskQueues.pipeline,
      workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') }),
      activities: limitPipelineActivities(
        createPipelineActivities(deps, client, { modelCache, evaluationThreads, logger: { warn: (fields, message) => console.warn(message, fields) } }),
        config,
      ),
      maxConcurrentActivityTaskExecutions: config.pipelineMaxActivities,
    });
    const slots = trainingSlots ?? config.trainingSlots;
    const slotUse = createSlotUse(slots);
    const training = createTrainingActivities({ artifacts, checkpointDir: path.join(scratch, 'checkpoints'), keelVersion: 'bench', trainingSlots: slots });
    const trainingWorker = await Worker.create({
      connection: workerConnection,
      taskQueue: config.taskQueues.training,
      activities: { trainModel: (input: Parameters<typeof training.trainModel>[0]) => slotUse.run(() => training.trainModel(input)) },
      // KEEL_TRAINING_SLOTS, as the training worker reads it (--training-slots overrides); each GBDT's default
      // numThreads is its share of the cores, as in the training worker.
      maxConcurrentActivityTaskExecutions: slots,
    });
    const workersDone = Promise.all([pipelineWorker.run(), trainingWorker.run()]);

    const runOne = async (model: string, runId: string): Promise<RunTiming> => {
      const spec = { ...demoRunSpec(datasetPath), model };
      // Auto-approval is the model's approval policy (ops' PUT /v1/models/:name/policy), never the run spec's.
      await putApprovalPolicy(db.db, model, { autoApprove: true, allowFirstDeployment: true, gates: {}, updatedBy: 'bench' });
      const input: PipelineInput = { runId, spec, requestedBy: { keyId: null, name: 'bench' } };
      // The runs row normally comes from the API; the bench starts workflows directly.
      await db.pool.query(
        `INSERT INTO runs (id, workflow_id, model, spec, spec_hash, requested_by_name) VALUES ($1, $2, $3, $4, 'bench', 'bench')`,
        [runId, pipelineWorkflowId(model, runId), model, JSON.stringify(spec)],
      );
      const startedAt = performance.now();
      const result = await client.workflow.execute<(input: PipelineInput) => Promise<PipelineStatus>>('pipeline', {
        taskQueue: config.taskQueues.pipeline,
        workflowId: pipelineWorkflowId(model, runId),
        args: [input],
      });
      const wallMs = performance.now() - startedAt;
      const activities = await activityTime(client, pipelineWorkflowId(model, runId));
      return { wallMs, activityMs: activities.ms, activities: activities.count, status: result.status };
    };

    // Warm-up (first DuckDB/onnxruntime loads), not reported.
    await runOne('bench-warmup', 'warmup');
    const singleCpu0 = process.cpuUsage();
    const single = await runOne('bench-single', 'single');
    const singleCpu = process.cpuUsage(singleCpu0);
    slotUse.reset();
    const loadBefore = os.loadavg()[0]!;
    const batchCpu0 = process.cpuUsage();
    const batchStart = performance.now();
    const batch = await Promise.all(
      Array.from({ length: concurrent }, (_, i) => runOne(`bench-batch-${i}`, `batch-${i}`)),
    );
    const batchWallMs = performance.now() - batchStart;
    const batchCpu = process.cpuUsage(batchCpu0);
    const loadAfter = os.loadavg()[0]!;

    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const overheads = batch.map((run) => run.wallMs - run.activityMs);
    console.log('\nbench/pipeline — one auto-approved run on seattle-weather.csv (1,461 rows), GBDT 60 trees');
    console.log('| measure | value |');
    console.log('|---|---|');
    console.log(`| single run: wall time | ${fmt(single.wallMs)} |`);
    console.log(`| single run: sum of its ${single.activities} activities' own times (baseline) | ${fmt(single.activityMs)} |`);
    console.log(`| single run: orchestration overhead (wall − activities) | ${fmt(single.wallMs - single.activityMs)} |`);
    console.log(`| single run: CPU time of the workers (pipeline + training, this process) | ${fmt(cpuMs(singleCpu))} |`);
    console.log(`| ${concurrent} runs at once: finished deployed | ${batch.filter((run) => run.status === 'deployed').length}/${concurrent} |`);
    console.log(`| ${concurrent} runs at once: wall time for all | ${fmt(batchWallMs)} |`);
    console.log(`| ${concurrent} runs at once: CPU time of the workers (pipeline + training, this process) | ${fmt(cpuMs(batchCpu))} (${((100 * cpuMs(batchCpu)) / batchWallMs).toFixed(0)}% of one core over the wall time; ${os.availableParallelism()} cores) |`);
    console.log(`| ${concurrent} runs at once: load average (1 min) before → after | ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} |`);
    console.log(`| ${concurrent} runs at once: training slots (KEEL_TRAINING_SLOTS) | ${slots} |`);
    console.log(`| ${concurrent} runs at once: trainings run by each slot | ${slotUse.runs.join(', ')} (at most ${slotUse.most} at once) |`);
    console.log(`| ${concurrent} runs at once: mean per-run overhead (wall − activities, includes queueing for a training slot) | ${fmt(overheads.reduce((a, b) => a + b, 0) / concurrent)} |`);
    console.log(`| ${concurrent} runs at once: sum of all activities' own times | ${fmt(batch.reduce((a, run) => a + run.activityMs, 0))} |`);
    pipelineWorker.shutdown();
    trainingWorker.shutdown();
    await workersDone;
    await evaluationThreads.close();
    await modelCache.close();
    await connection.close();
    await workerConnection.close();
    await db.close();
  } finally {
    await Promise.allSettled([temporalServer.stop(), postgres.stop()]);
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/** Which training slot each training ran in (the lowest free one) and the most that ran at once. */
function createSlotUse(slots: number) {
  const busy: boolean[] = Array.from({ length: slots }, () => false);
  const use = {
    runs: Array.from({ length: slots }, () => 0),
    most: 0,
    reset() {
      use.runs.fill(0);
      use.most = 0;
    },
    async run<T>(train: () => Promise<T>): Promise<T> {
      const slot = busy.indexOf(false);
      // The worker never runs more than `slots` at once; a -1 here would mean it did.
      if (slot < 0) throw new Error(`more than ${slots} trainings at once`);
      busy[slot] = true;
      use.runs[slot]! += 1;
      use.most = Math.max(use.most, busy.filter(Boolean).length);
      try {
        return await train();
      } finally {
        busy[slot] = false;
      }
    },
  };
  return use;
}

await main();
