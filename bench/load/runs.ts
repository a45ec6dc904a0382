// bench/load runs: N small runs (default 200) started at once through the real API, against the real processes
// (api/main.ts, workers/pipeline-worker.ts, workers/training-worker.ts as npm start runs them) on a fresh Temporal
// dev server and embedded Postgres. Each run trains its own model with an auto-approving model policy, so the right outcome of
// every run is `deployed`. Reports the wall time, the time per run, the peak number of trainings running at once (from
// each run's trainModel activity in its workflow history), and every run that did not end `deployed`.
// Baseline: one run alone on the same stack, measured first.
// Usage: npx tsx bench/load/runs.ts [--runs 200] [--trees 20] [--timeout-min 60]
// Exits 1 when a run did not end `deployed`, a start was not answered 201, or the timeout passed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DEMO_DATASET, demoRunSpec } from '../../dev/bootstrap.js';
import { startEmbeddedPostgres } from '../../dev/embedded-postgres.js';
import { findTemporalCli } from '../../dev/temporal-cli.js';
import { freePort, startTemporalDevServer } from '../../dev/temporal-dev-server.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const runCount = option('runs', 200);
const trees = option('trees', 20);
const timeoutMs = option('timeout-min', 60) * 60_000;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_KEY = 'bench-load-admin-key-0123456789';
const TERMINAL = new Set(['deployed', 'rejected', 'expired', 'data_rejected', 'failed', 'deploy_failed', 'cancelled']);

interface RunRow {
  id: string;
  model: string;
  status: string;
  reason: string | null;
  workflowId: string;
  createdAt: string;
  finishedAt: string | null;
}

function startProcess(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`));
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`\nFAIL: ${name} exited (${code ?? signal}) during the bench`);
  });
  return child;
}
let stopping = false;

async function api<T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** When each trainModel attempt of a workflow started and ended (epoch ms), from its history. */
async function trainingSpans(client: Client, workflowId: string): Promise<[number, number][]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const at = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
  const trainingScheduled = new Set<string>();
  const started = new Map<string, number>();
  const spans: [number, number][] = [];
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel') trainingScheduled.add(id);
    const start = event.activityTaskStartedEventAttributes;
    if (start && trainingScheduled.has(String(start.scheduledEventId))) started.set(String(start.scheduledEventId), at(event.eventTime));
    const end =
      event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    const from = end && started.get(String(end.scheduledEventId));
    if (from !== undefined && from !== null && end) spans.push([from, at(event.eventTime)]);
  }
  return spans;
}

/** Most spans overlapping at one instant. */
function peakOverlap(spans: [number, number][]): number {
  const edges = spans.flatMap(([from, to]) => [[from, 1] as const, [to, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (now += delta));
  return peak;
}

const loadAverage = () => os.loadavg().map((n) => n.toFixed(1)).join(' / ');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-bench-load-runs-'));
  await fs.chmod(scratch, 0o755);
  const cli = await findTemporalCli();
  const [temporalServer, postgres] = await Promise.all([
    (async () => startTemporalDevServer({ cli, port: await freePort() }))(),
    (async () => startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg'), port: await freePort(), persistent: false }))(),
  ]);
  const children: ChildProcess[] = [];
  let connection: Connection | undefined;
  try {
    const port = await freePort();
    const env = {
      ...process.env,
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: temporalServer.address,
      KEEL_DATA_DIR: scratch,
      KEEL_ADMIN_KEY: ADMIN_KEY,
      // 200 runs from one key at once: this measures the runs path, not the per-key write limit.
      KEEL_RATE_LIMIT_WRITES: '0',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
    };
    const datasets = path.join(scratch, 'datasets');
    await fs.mkdir(datasets, { recursive: true });
    const datasetPath = path.join(datasets, 'seattle-weather.csv');
    await fs.copyFile(DEMO_DATASET, datasetPath);
    // The API applies the migrations; the workers start once it listens.
    children.push(startProcess('api', 'api/main.ts', env));
    const base = `http://127.0.0.1:${port}`;
    for (let tries = 0; ; tries++) {
      const up = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (up) break;
      if (tries > 600) throw new Error('the API did not become ready in 5 minutes');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    children.push(startProcess('pipeline-worker', 'workers/pipeline-worker.ts', env));
    children.push(startProcess('training-worker', 'workers/training-worker.ts', env));
    connection = await Connection.connect({ address: temporalServer.address });
    const client = new Client({ connection });

    const spec = (model: string) => {
      const demo = demoRunSpec(datasetPath);
      return { ...demo, model, trainer: { kind: 'gbdt', params: { ...demo.trainer.params, numIterations: trees } } };
    };
    // Auto-approval is the model's approval policy, set by ops (a run spec may not approve itself).
    const allowAutoApproval = (model: string) =>
      api(`${base}/v1/models/${encodeURIComponent(model)}/policy`, {
        method: 'PUT',
        body: JSON.stringify({ autoApprove: true, allowFirstDeployment: true }),
      });
    const start = (model: string) =>
      api<{ id: string }>(`${base}/v1/runs`, { method: 'POST', body: JSON.stringify(spec(model)), headers: { 'idempotency-key': model } });
    const list = async () => (await api<{ runs: RunRow[] }>(`${base}/v1/runs?limit=500`)).body.runs;
    const waitForAll = async (ids: Set<string>, deadline: number): Promise<RunRow[]> => {
      for (;;) {
        const runs = (await list()).filter((run) => ids.has(run.id));
        const done = runs.filter((run) => TERMINAL.has(run.status));
        if (done.length === ids.size) return runs;
        if (Date.now() > deadline) return runs;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    };
    const spanOf = (run: RunRow) => Date.parse(run.finishedAt!) - Date.parse(run.createdAt);

    // Baseline: one run alone (after a warm-up run: the workers' first DuckDB, bundle and onnxruntime loads).
    for (const model of ['load-warmup', 'load-alone']) {
      await allowAutoApproval(model);
      const started = await start(model);
      if (started.status !== 201) throw new Error(`POST /v1/runs answered ${started.status}: ${JSON.stringify(started.body)}`);
      const [run] = await waitForAll(new Set([started.body.id]), Date.now() + 10 * 60_000);
      if (run?.status !== 'deployed') throw new Error(`the ${model} run ended ${run?.status} (${run?.reason})`);
    }
    const alone = (await list()).find((run) => run.model === 'load-alone')!;
    const aloneSpans = await trainingSpans(client, alone.workflowId);

    for (let i = 0; i < runCount; i++) await allowAutoApproval(`load-${i}`);
    const loadBefore = loadAverage();
    const wallStart = performance.now();
    const startedAll = await Promise.all(Array.from({ length: runCount }, (_, i) => start(`load-${i}`)));
    const startMs = performance.now() - wallStart;
    const notStarted = startedAll.filter((answer) => answer.status !== 201);
    const ids = new Set(startedAll.filter((answer) => answer.status === 201).map((answer) => answer.body.id));
    const runs = await waitForAll(ids, Date.now() + timeoutMs);
    const wallMs = performance.now() - wallStart;
    const loadAfter = loadAverage();

    const finished = runs.filter((run) => run.finishedAt !== null);
    const spans = (await Promise.all(runs.map((run) => trainingSpans(client, run.workflowId)))).flat();
    const peak = peakOverlap(spans);
    const wrong = runs.filter((run) => run.status !== 'deployed');
    const perRun = finished.map(spanOf).sort((a, b) => a - b);
    const serverWall = Math.max(...finished.map((run) => Date.parse(run.finishedAt!))) - Math.min(...runs.map((run) => Date.parse(run.createdAt)));
    const trainingMs = spans.map(([from, to]) => to - from);
    const statusCounts = new Map<string, number>();
    for (const run of runs) statusCounts.set(run.status, (statusCounts.get(run.status) ?? 0) + 1);

    console.log(`\nbench/load runs — ${runCount} runs started at once through POST /v1/runs, each its own model (seattle-weather.csv, GBDT ${trees} trees, auto-approving model policy)`);
    console.log(`load average (1/5/15 min): ${loadBefore} before, ${loadAfter} after; ${os.cpus().length} cores; one pipeline and one training worker process\n`);
    console.log('| measure | value |');
    console.log('|---|---|');
    console.log(`| baseline: one run alone, created → finished | ${seconds(spanOf(alone))} (training ${seconds(aloneSpans.reduce((a, [f, t]) => a + t - f, 0))}) |`);
    console.log(`| ${runCount} POSTs answered | ${startedAll.length - notStarted.length} × 201 in ${seconds(startMs)}${notStarted.length ? `, ${notStarted.length} other: ${[...new Set(notStarted.map((a) => a.status))].join(', ')}` : ''} |`);
    console.log(`| outcomes | ${[...statusCounts].map(([status, count]) => `${count} ${status}`).join(', ')} (right outcome: deployed) |`);
    console.log(`| wall time, first POST → last run terminal (bench clock, 2-s polls) | ${seconds(wallMs)} |`);
    console.log(`| wall time, first created → last finished (server clock) | ${seconds(serverWall)} |`);
    console.log(`| time per run (wall ÷ runs) vs one run alone | ${seconds(serverWall / runCount)} vs ${seconds(spanOf(alone))} |`);
    if (perRun.length) {
      console.log(`| each run created → finished: median / p90 / max | ${seconds(perRun[Math.floor(perRun.length / 2)]!)} / ${seconds(perRun[Math.floor(perRun.length * 0.9)]!)} / ${seconds(perRun.at(-1)!)} |`);
    }
    console.log(`| trainings: attempts, median / max duration | ${spans.length}, ${seconds(trainingMs.sort((a, b) => a - b)[Math.floor(trainingMs.length / 2)] ?? 0)} / ${seconds(Math.max(0, ...trainingMs))} |`);
    console.log(`| peak trainings running at once (trainModel activity spans) | ${peak} (the training worker runs 1 at a time) |`);
    let failed = notStarted.length > 0 || wrong.length > 0 || runs.length !== ids.size;
    for (const answer of notStarted) console.error(`FAIL: POST /v1/runs answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    for (const run of wrong) console.error(`FAIL: run ${run.id} (${run.model}) ended ${run.status}${run.reason ? `: ${run.reason}` : ''}`);
    if (runs.length !== ids.size) console.error(`FAIL: ${ids.size - runs.length} started runs missing from GET /v1/runs`);
    if (peak > 1) {
      console.error(`FAIL: ${peak} trainings overlapped though the one training worker runs one at a time`);
      failed = true;
    }
    return failed ? 1 : 0;
  } finally {
    stopping = true;
    await connection?.close();
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
            child.once('exit', resolve);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    await Promise.allSettled([temporalServer.stop(), postgres.stop()]);
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
