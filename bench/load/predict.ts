// bench/load predict: Keel's predict route held at 100 and 1,000 connections. Every response must be 2xx, or 429/503
// carrying Retry-After; the API process's RSS (sampled every second) must stay flat within 10 %. Beside each, the bare
// echo route (bench/serve's baseline) at the same connections. Reuses bench/serve: its model and its server process.
// Usage: npx tsx bench/load/predict.ts [--duration 60] [--connections 100,1000] [--server-flags "<node flags>"]
// Exits 1 when any response was another status, any socket error or timeout happened, or RSS was not flat.
import { fork, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pino from 'pino';
import { createApiKey } from '../../api/auth/api-keys.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { startEmbeddedPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';
import { deployBenchModel, trainBenchModel } from '../serve/bench-model.js';
import type { FromServers, ServersInput, ToServers } from '../serve/servers.js';

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}
const durationS = Number(argument('duration') ?? 60);
const connectionCounts = (argument('connections') ?? '100,1000').split(',').map(Number);
/** Extra node flags for the API process, e.g. `--server-flags "--max-semi-space-size=8"` (heap sizing experiments). */
const serverFlags = (argument('server-flags') ?? '').split(' ').filter(Boolean);
if (!(durationS >= 3) || connectionCounts.some((n) => !(n > 0))) throw new Error('--duration ≥ 3 and --connections n,m,… > 0');

const MODEL = 'seattle-rain';

interface Outcome {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** status code → count, every response. */
  statuses: Map<number, number>;
  /** 429/503 without a Retry-After header. */
  refusalsWithoutRetryAfter: number;
  socketErrors: number;
  timeouts: number;
}

async function load(url: string, key: string | undefined, connections: number, duration: number): Promise<Outcome> {
  const statuses = new Map<number, number>();
  let refusalsWithoutRetryAfter = 0;
  const result = await autocannon({
    url: `${url}/v1/models/${MODEL}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ features: [{ month: 1, temp_max: 8.3, temp_min: 2.2, wind: 3.1, weather: 'rain' }] }),
    connections,
    duration,
    // autocannon's own table counts only 2xx vs not; each response's head is seen here, with its headers.
    setupClient: (client) => {
      // At runtime 'headers' carries llhttp's parsed head (status and the raw header list), not what the typings say.
      (client as unknown as EventEmitter).on('headers', (head: { statusCode: number; headers: (string | Buffer)[] }) => {
        statuses.set(head.statusCode, (statuses.get(head.statusCode) ?? 0) + 1);
        if (head.statusCode === 429 || head.statusCode === 503) {
          const names = head.headers.filter((_, i) => i % 2 === 0).map((name) => String(name).toLowerCase());
          if (!names.includes('retry-after')) refusalsWithoutRetryAfter++;
        }
      });
    },
  });
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    statuses,
    refusalsWithoutRetryAfter,
    socketErrors: result.errors - result.timeouts,
    timeouts: result.timeouts,
  };
}

/** Resident set of a process in bytes, from /proc (Linux). */
async function rssBytes(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

async function openFilesLimit(pid: number): Promise<number> {
  const limits = await fs.readFile(`/proc/${pid}/limits`, 'utf8');
  const soft = /^Max open files\s+(\S+)/m.exec(limits);
  return soft?.[1] === 'unlimited' ? Infinity : Number(soft?.[1]);
}

/** Rows the API's prediction log holds in memory, from its /metrics (what a backlog behind Postgres keeps alive). */
async function predictionLogBacklog(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = /^keel_prediction_log_buffered_rows (\S+)$/m.exec(text);
  return line ? Number(line[1]) : Number.NaN;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function nextMessage(child: ChildProcess): Promise<FromServers> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`server process exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (reply: FromServers) => {
      child.off('exit', onExit);
      resolve(reply);
    });
  });
}

const loadAverage = () => os.loadavg().map((n) => n.toFixed(1)).join(' / ');
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

async function main(): Promise<number> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-bench-load-predict-'));
  await fs.chmod(scratch, 0o755);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg'), port: await freePort(), persistent: false });
  let child: ChildProcess | undefined;
  let failed = false;
  try {
    await applyMigrations(postgres.url);
    const database = createDb(postgres.url, { logger: pino({ name: 'keel-bench', level: 'warn' }) });
    const { onnx } = await trainBenchModel();
    await deployBenchModel(database.db, new FsArtifactStore(path.join(scratch, 'artifacts')), MODEL, onnx);
    const { secret: key } = await createApiKey(database.db, { name: 'bench', roles: ['predict'] }, { actor: 'bench', actorKeyId: null, role: null });
    await database.close();

    const input: ServersInput = { databaseUrl: postgres.url, dataDir: scratch, modelName: MODEL };
    child = fork(fileURLToPath(new URL('../serve/servers.ts', import.meta.url)), [JSON.stringify(input)], {
      // --expose-gc: after each load the bench asks for a full GC, so retained memory shows apart from V8's slack.
      execArgv: ['--import', 'tsx', '--expose-gc', ...serverFlags],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const ready = await nextMessage(child);
    if (ready.type !== 'ready') throw new Error('server process did not start');
    const pid = child.pid!;
    const fdLimit = await openFilesLimit(pid);
    console.log(`API process ${pid}: open-files limit ${fdLimit} (this process: ${await openFilesLimit(process.pid)})`);
    for (const connections of connectionCounts) {
      // Each connection is one socket in the API and one here, plus Postgres, onnxruntime and module files.
      if (fdLimit < connections + 200) {
        console.error(`\nFAIL: the API's open-files limit ${fdLimit} is below ${connections} connections + 200; raise it (ulimit -n) first`);
        return 1;
      }
    }

    // Warm-up (JIT, the model's first load, the key's first verification), not reported.
    await load(ready.echoUrl, undefined, 50, 2);
    await load(ready.keelUrl, key, 50, 2);

    const server = child;
    const memory = async (gc: boolean) => {
      const reply = nextMessage(server);
      server.send({ type: 'memory', gc } satisfies ToServers);
      const answer = await reply;
      if (answer.type !== 'memory') throw new Error('unexpected reply from the server process');
      return answer;
    };
    const rows: string[][] = [];
    const loadBefore = loadAverage();
    for (const connections of connectionCounts) {
      const echo = await load(ready.echoUrl, undefined, connections, durationS);
      const heapBefore = (await memory(true)).heapUsed;
      const samples: number[] = [];
      const heapSamples: number[] = [];
      const bufferedSamples: number[] = [];
      const sampler = setInterval(() => {
        void rssBytes(pid).then((bytes) => samples.push(bytes), () => undefined);
        void memory(false).then((usage) => heapSamples.push(usage.heapUsed), () => undefined);
        void predictionLogBacklog(ready.keelUrl).then((rows) => bufferedSamples.push(rows), () => undefined);
      }, 1000);
      samples.push(await rssBytes(pid));
      const keel = await load(ready.keelUrl, key, connections, durationS).finally(() => clearInterval(sampler));
      samples.push(await rssBytes(pid));
      // The prediction log's last batches are written within a second; then what survives a full GC is retained.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const afterGc = await memory(true);
      const rssAfterGc = await rssBytes(pid);

      const windowS = Math.max(1, Math.min(10, Math.floor(samples.length / 3)));
      const first = median(samples.slice(0, windowS));
      const last = median(samples.slice(-windowS));
      const peak = Math.max(...samples);
      const growth = last / first - 1;
      const flat = Math.abs(growth) <= 0.1;
      const allowed = (status: number) => status >= 200 && status < 300;
      const refused = (status: number) => status === 429 || status === 503;
      const unexpected = [...keel.statuses].filter(([status]) => !allowed(status) && !refused(status));
      const statusText = (outcome: Outcome) =>
        [...outcome.statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count.toLocaleString('en-US')}`).join(', ');
      console.log(`\n${connections} connections, ${durationS} s: Keel statuses {${statusText(keel)}}, echo {${statusText(echo)}}`);
      console.log(`  RSS samples (MiB): ${samples.map((b) => (b / 1024 ** 2).toFixed(0)).join(' ')}`);
      console.log(`  JS heap used samples (MiB): ${heapSamples.map((b) => (b / 1024 ** 2).toFixed(0)).join(' ')}`);
      console.log(`  prediction log rows waiting for Postgres (thousands): ${bufferedSamples.map((n) => (n / 1000).toFixed(1)).join(' ')}`);
      console.log(
        `  after a full GC: heap used ${mib(afterGc.heapUsed)} (before the load ${mib(heapBefore)}), heap total ${mib(afterGc.heapTotal)}, ` +
          `external ${mib(afterGc.external)}, array buffers ${mib(afterGc.arrayBuffers)}, RSS ${mib(rssAfterGc)}`,
      );
      const problems: string[] = [];
      if (unexpected.length > 0) problems.push(`responses with other statuses: ${unexpected.map(([s, n]) => `${s} ×${n}`).join(', ')}`);
      if (keel.refusalsWithoutRetryAfter > 0) problems.push(`${keel.refusalsWithoutRetryAfter} 429/503 responses without Retry-After`);
      if (keel.socketErrors > 0) problems.push(`${keel.socketErrors} socket errors`);
      if (keel.timeouts > 0) problems.push(`${keel.timeouts} timeouts (10 s)`);
      if (!flat) problems.push(`RSS not flat: last ${windowS}-s median ${mib(last)} vs first ${mib(first)} (${(growth * 100).toFixed(1)} %)`);
      for (const problem of problems) console.error(`  FAIL (${connections} connections): ${problem}`);
      failed ||= problems.length > 0;
      const refusedCount = [...keel.statuses].filter(([status]) => refused(status)).reduce((n, [, c]) => n + c, 0);
      rows.push([
        String(connections),
        Math.round(keel.rps).toLocaleString('en-US'),
        `${keel.p50} / ${keel.p99} / ${keel.max}`,
        `${Math.round(echo.rps).toLocaleString('en-US')}, ${echo.p50} / ${echo.p99}, ${echo.socketErrors + echo.timeouts} errors`,
        `${(keel.statuses.get(200) ?? 0).toLocaleString('en-US')} / ${refusedCount} / ${keel.requests - (keel.statuses.get(200) ?? 0) - refusedCount}`,
        `${keel.socketErrors + keel.timeouts}`,
        `${(first / 1024 ** 2).toFixed(1)} → ${(last / 1024 ** 2).toFixed(1)} (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %), max ${(peak / 1024 ** 2).toFixed(1)}`,
        `${mib(heapBefore)} → ${mib(afterGc.heapUsed)}`,
        flat && problems.length === 0 ? 'pass' : 'FAIL',
      ]);
    }
    const loadAfter = loadAverage();

    console.log(`\nbench/load predict — ${MODEL} (GBDT, 60 trees, 5 features), 1 row per request, ${durationS} s per run`);
    console.log(`load average (1/5/15 min): ${loadBefore} before, ${loadAfter} after; ${os.cpus().length} cores; API open-files limit ${fdLimit}\n`);
    console.log('| connections | Keel requests/s | Keel p50 / p99 / max (ms) | echo baseline: requests/s, p50 / p99 (ms), socket errors + timeouts | 2xx / 429+503 (Retry-After) / other | socket errors + timeouts | API RSS MiB: first-10-s median → last-10-s median, max | JS heap after full GC: before → after | result |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    if (failed) console.error('\nFAIL: see the lines marked FAIL above');
    child.send({ type: 'stop' } satisfies ToServers);
    await new Promise((resolve) => (child!.exitCode === null ? child!.once('exit', resolve) : resolve(undefined)));
    return failed ? 1 : 0;
  } finally {
    child?.kill();
    await postgres.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
