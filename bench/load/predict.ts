// bench/load predict: Keel's predict route held at 100 and 1,000 connections. Every response must be 2xx, or 429/503
// carrying Retry-After; the API process's RSS (sampled every second) must stay flat within 10 %. Beside each, the bare
// echo route (bench/serve's baseline) at the same connections. Reuses bench/serve: its model and its server process.
// Usage: npx tsx bench/load/predict.ts [--duration 60] [--connections 100,1000] [--warmup 10]
//          [--server-flags "<node flags>"] [--server-env "NAME=value …"] [--no-api-memory-settings] [--samples] [--skip-echo]
//          [--gateway caddy [--caddy <path to a caddy binary>]] [--cluster N]
// --gateway caddy: Keel's route is loaded through Caddy started with deploy/gateway/Caddyfile (the compose gateway:
// HTTPS from its local CA, its upstream pool) in front of the server process, as production runs it.
// --cluster N (experiment): the server process as N node:cluster workers sharing the listening socket, each accepting
// for itself (SCHED_NONE; bench/load/cluster-servers.ts); CPU and RSS are then summed over the primary and workers.
// The server process starts as the API does (api/process-memory.ts: V8 and malloc settings) unless
// --no-api-memory-settings, which starts it with Node's and glibc's defaults (the baseline before issue 12's fix).
// Exits 1 when any response was another status, any socket error or timeout happened, or RSS was not flat.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { openSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pino from 'pino';
import { createApiKey } from '../../api/auth/api-keys.js';
import { API_NODE_FLAGS, apiProcessEnv } from '../../api/process-memory.js';
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
/** Extra environment for the API process, e.g. `--server-env "MALLOC_ARENA_MAX=8"` (over the API's own defaults). */
const serverEnv = Object.fromEntries(
  (argument('server-env') ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
/** Seconds of each load counted as warm-up: RSS is also reported from this point on, with its slope. */
const warmupS = Number(argument('warmup') ?? 10);
/** Start the server process with Node's and glibc's defaults instead of the API's memory settings. */
const apiMemorySettings = !process.argv.includes('--no-api-memory-settings');
/** Print every second's memory sample (RSS, anonymous/file RSS, heap, external) per load. */
const printSamples = process.argv.includes('--samples');
/** Skip the echo baseline (memory-setting experiments only: the table then has no baseline). */
const skipEcho = process.argv.includes('--skip-echo');
/** A gateway in front of Keel's route: only `caddy` (the compose gateway's Caddyfile). */
const gateway = argument('gateway');
const caddyBinary = argument('caddy') ?? 'caddy';
/** Workers of an experimental SCHED_NONE cluster (0: the one server process, as the API runs). */
const clusterWorkers = Number(argument('cluster') ?? 0);
if (gateway !== undefined && gateway !== 'caddy') throw new Error('--gateway takes only caddy');
if (!(durationS >= 3) || !(warmupS >= 0 && warmupS < durationS) || connectionCounts.some((n) => !(n > 0))) throw new Error('--duration ≥ 3 and --connections n,m,… > 0');

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
  /** Connections (of `connections`) that had at least one timeout, and the second of the load each timeout fell in. */
  timedOutConnections: number;
  timeoutSeconds: number[];
  /** CPU time of this (load generator) process during the load, ms. */
  clientCpuMs: number;
}

async function load(url: string, key: string | undefined, connections: number, duration: number): Promise<Outcome> {
  const statuses = new Map<number, number>();
  let refusalsWithoutRetryAfter = 0;
  const timedOut = new Set<EventEmitter>();
  const timeoutSeconds: number[] = [];
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await autocannon({
    url: `${url}/v1/models/${MODEL}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ features: [{ month: 1, temp_max: 8.3, temp_min: 2.2, wind: 3.1, weather: 'rain' }] }),
    connections,
    duration,
    // autocannon's own table counts only 2xx vs not; each response's head is seen here, with its headers.
    setupClient: (client) => {
      (client as unknown as EventEmitter).on('timeout', () => {
        timedOut.add(client as unknown as EventEmitter);
        timeoutSeconds.push(Math.floor((performance.now() - started) / 1000));
      });
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
  const cpu = process.cpuUsage(cpuBefore);
  return {
    timedOutConnections: timedOut.size,
    timeoutSeconds,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
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

interface ProcMemory {
  rss: number;
  /** RssAnon (malloc arenas, V8's heap, thread stacks) and RssFile (mapped code: node, onnxruntime, DuckDB), bytes. */
  rssAnon: number;
  rssFile: number;
}
type Sample = ProcMemory & { t: number };

/** The process and, for a cluster primary, its workers (children). */
async function procMemory(pid: number): Promise<ProcMemory> {
  if (clusterWorkers === 0) return oneProcMemory(pid);
  const children = (await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).split(' ').filter(Boolean).map(Number);
  const all = await Promise.all([pid, ...children].map(oneProcMemory));
  return all.reduce((sum, m) => ({ rss: sum.rss + m.rss, rssAnon: sum.rssAnon + m.rssAnon, rssFile: sum.rssFile + m.rssFile }));
}

async function oneProcMemory(pid: number): Promise<ProcMemory> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => {
    const line = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!line) throw new Error(`no ${name} for process ${pid}`);
    return Number(line[1]) * 1024;
  };
  return { rss: kib('VmRSS'), rssAnon: kib('RssAnon'), rssFile: kib('RssFile') };
}

function noLoad(): Outcome {
  const empty = { requests: 0, rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, max: Number.NaN, socketErrors: 0, timeouts: 0 };
  return { ...empty, statuses: new Map(), refusalsWithoutRetryAfter: 0, timedOutConnections: 0, timeoutSeconds: [], clientCpuMs: 0 };
}

/** Resident bytes per mapping (start address → name, size, Rss), from /proc/<pid>/smaps. */
async function mappings(pid: number): Promise<Map<string, { name: string; size: number; rss: number }>> {
  const result = new Map<string, { name: string; size: number; rss: number }>();
  let current: { name: string; size: number; rss: number } | undefined;
  for (const line of (await fs.readFile(`/proc/${pid}/smaps`, 'utf8')).split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      current = { name: head[3] || '[anonymous]', size: Number.parseInt(head[2]!, 16) - Number.parseInt(head[1]!, 16), rss: 0 };
      result.set(head[1]!, current);
    } else if (current && line.startsWith('Rss:')) {
      current.rss = Number(/(\d+)/.exec(line)![1]) * 1024;
    }
  }
  return result;
}

/** The mappings whose resident size grew most between two snapshots (what RSS growth is made of). */
function mappingGrowth(before: Awaited<ReturnType<typeof mappings>>, after: Awaited<ReturnType<typeof mappings>>): string {
  const grown = [...after].map(([start, mapping]) => ({ start, ...mapping, grew: mapping.rss - (before.get(start)?.rss ?? 0) }));
  const total = grown.reduce((sum, m) => sum + m.grew, 0) - [...before].filter(([start]) => !after.has(start)).reduce((sum, [, m]) => sum + m.rss, 0);
  return (
    `net ${mib(total)}; largest: ` +
    grown
      .filter((m) => m.grew !== 0)
      .sort((a, b) => Math.abs(b.grew) - Math.abs(a.grew))
      .slice(0, 8)
      .map((m) => `${m.start} ${m.name} (${mib(m.size)} mapped) ${m.grew > 0 ? '+' : ''}${mib(m.grew)} → ${mib(m.rss)}`)
      .join('; ')
  );
}

/** The host's TcpExt ListenOverflows counter: connections a full accept queue turned away (any listener on the host). */
async function listenOverflows(): Promise<number> {
  const lines = (await fs.readFile('/proc/net/netstat', 'utf8')).split('\n').filter((line) => line.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('ListenOverflows')] ?? Number.NaN);
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return Number.NaN;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return sxy / sxx;
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

/** CPU time of another process (user + system, all threads) from /proc/<pid>/stat, ms; clock ticks are 1/100 s here. */
async function processCpuMs(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Gateway {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Caddy with the compose gateway's own Caddyfile, on a free loopback port, in front of `upstream` (host:port). Its
 * local CA and state go to `dir`; resolves once a TLS handshake for `localhost` succeeds.
 */
async function startCaddy(upstream: string, dir: string): Promise<Gateway> {
  const port = await freePort();
  const caddyfile = fileURLToPath(new URL('../../deploy/gateway/Caddyfile', import.meta.url));
  const log = openSync(path.join(dir, 'caddy.log'), 'a');
  const caddy = spawn(caddyBinary, ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      XDG_DATA_HOME: path.join(dir, 'data'),
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      KEEL_GATEWAY_HOST: 'localhost',
      KEEL_GATEWAY_PORT: String(port),
      KEEL_GATEWAY_UPSTREAM: upstream,
    },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise<never>((_, reject) => {
    caddy.once('error', reject);
    caddy.once('exit', (code) => reject(new Error(`caddy exited (${code}); see ${path.join(dir, 'caddy.log')}`)));
  });
  const handshake = () =>
    new Promise<boolean>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await Promise.race([handshake(), exited]);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`caddy did not take a TLS handshake on port ${port} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url: `https://localhost:${port}`,
    pid: caddy.pid!,
    stop: async () => {
      caddy.removeAllListeners('exit');
      if (caddy.exitCode !== null) return;
      const gone = new Promise((resolve) => caddy.once('exit', resolve));
      caddy.kill('SIGTERM');
      await gone;
    },
  };
}

const loadAverage = () => os.loadavg().map((n) => n.toFixed(1)).join(' / ');
const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

async function main(): Promise<number> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-bench-load-predict-'));
  await fs.chmod(scratch, 0o755);
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg'), port: await freePort(), persistent: false });
  let child: ChildProcess | undefined;
  let front: Gateway | undefined;
  let failed = false;
  try {
    await applyMigrations(postgres.url);
    const database = createDb(postgres.url, { logger: pino({ name: 'keel-bench', level: 'warn' }) });
    const { onnx } = await trainBenchModel();
    await deployBenchModel(database.db, new FsArtifactStore(path.join(scratch, 'artifacts')), MODEL, onnx);
    const { secret: key } = await createApiKey(database.db, { name: 'bench', roles: ['predict'] }, { actor: 'bench', actorKeyId: null, role: null });
    await database.close();

    const input: ServersInput = { databaseUrl: postgres.url, dataDir: scratch, modelName: MODEL };
    const serverScript = clusterWorkers > 0 ? './cluster-servers.ts' : '../serve/servers.ts';
    child = fork(fileURLToPath(new URL(serverScript, import.meta.url)), [JSON.stringify(input)], {
      // --expose-gc: after each load the bench asks for a full GC, so retained memory shows apart from V8's slack.
      execArgv: ['--import', 'tsx', '--expose-gc', ...(apiMemorySettings ? API_NODE_FLAGS : []), ...serverFlags],
      env: {
        ...(apiMemorySettings ? apiProcessEnv(process.env) : process.env),
        ...serverEnv,
        ...(clusterWorkers > 0 ? { KEEL_BENCH_CLUSTER_WORKERS: String(clusterWorkers) } : {}),
      },
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

    if (gateway === 'caddy') {
      const dir = path.join(scratch, 'caddy');
      await fs.mkdir(dir);
      front = await startCaddy(new URL(ready.keelUrl).host, dir);
      console.log(`gateway: Caddy (${caddyBinary}, process ${front.pid}) at ${front.url} → ${ready.keelUrl}, deploy/gateway/Caddyfile`);
    }
    /** Where Keel's route is loaded: the gateway when there is one, else the server process itself. */
    const keelTarget = front?.url ?? ready.keelUrl;

    // Warm-up (JIT, the model's first load, the key's first verification), not reported.
    await load(ready.echoUrl, undefined, 50, 2);
    await load(keelTarget, key, 50, 2);

    const server = child;
    // One question to the server process at a time, so each reply is the answer to its own question.
    let queue: Promise<unknown> = Promise.resolve();
    const ask = (message: ToServers): Promise<FromServers> => {
      const answer = queue.then(() => {
        const reply = nextMessage(server);
        server.send(message);
        return reply;
      });
      queue = answer.catch(() => undefined);
      return answer;
    };
    const memory = async (gc: boolean) => {
      const answer = await ask({ type: 'memory', gc });
      if (answer.type !== 'memory') throw new Error('unexpected reply from the server process');
      return answer;
    };
    const serverCpuMs = async () => {
      const answer = await ask({ type: 'cpu' });
      if (answer.type !== 'cpu') throw new Error('unexpected reply from the server process');
      return answer.cpuMs;
    };
    const rows: string[][] = [];
    const loadBefore = loadAverage();
    for (const connections of connectionCounts) {
      const overflowsBeforeEcho = await listenOverflows();
      const echo = skipEcho ? noLoad() : await load(ready.echoUrl, undefined, connections, durationS);
      const echoOverflows = (await listenOverflows()) - overflowsBeforeEcho;
      const heapBefore = (await memory(true)).heapUsed;
      const samples: Sample[] = [];
      const heap: NodeJS.MemoryUsage[] = [];
      const backlog: number[] = [];
      // Each probe on its own: RSS from /proc every second whatever the server does; the heap (asked over IPC, answered
      // on the server's event loop) and the log backlog (over HTTP, on a connection a saturated server may take seconds
      // to accept) each only once its previous answer came.
      let heapPending = false;
      let backlogPending = false;
      const loadStarted = performance.now();
      const sampler = setInterval(() => {
        const t = (performance.now() - loadStarted) / 1000;
        void procMemory(pid).then((proc) => samples.push({ t, ...proc }), () => undefined);
        if (!heapPending) {
          heapPending = true;
          void memory(false)
            .then((usage) => heap.push(usage), () => undefined)
            .finally(() => (heapPending = false));
        }
        if (!backlogPending) {
          backlogPending = true;
          void predictionLogBacklog(ready.keelUrl)
            .then((rows) => backlog.push(rows), () => undefined)
            .finally(() => (backlogPending = false));
        }
      }, 1000);
      const mapsBefore = printSamples ? await mappings(pid) : undefined;
      const cpuBefore = await serverCpuMs();
      const gatewayCpuBefore = front ? await processCpuMs(front.pid) : 0;
      const overflowsBefore = await listenOverflows();
      const keel = await load(keelTarget, key, connections, durationS).finally(() => clearInterval(sampler));
      const overflows = (await listenOverflows()) - overflowsBefore;
      const gatewayCpuMs = front ? (await processCpuMs(front.pid)) - gatewayCpuBefore : 0;
      const mapsAfter = printSamples ? await mappings(pid) : undefined;
      samples.sort((a, b) => a.t - b.t);
      const keelCpuMs = (await serverCpuMs()) - cpuBefore;
      // The prediction log's last batches are written within a second; then what survives a full GC is retained.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const afterGc = await memory(true);
      const procAfterGc = await procMemory(pid);

      // Whole run: the first 10-s median against the last 10-s median (windows shrink to a third of the samples for
      // short runs). After warm-up: the median of the 10 s after --warmup against the same last window, and the
      // least-squares slope of RSS over the samples after the warm-up.
      const rss = samples.map((sample) => sample.rss);
      const windowS = Math.max(1, Math.min(10, Math.floor(samples.length / 3)));
      const first = median(rss.slice(0, windowS));
      const last = median(rss.slice(-windowS));
      const afterWarmup = samples.filter((sample) => sample.t >= warmupS);
      const warm = median(afterWarmup.slice(0, windowS).map((sample) => sample.rss));
      const slopePerMin = slope(afterWarmup.map((sample) => [sample.t, sample.rss])) * 60;
      const peak = Math.max(...rss);
      const growth = last / first - 1;
      const warmGrowth = last / warm - 1;
      const flat = Math.abs(growth) <= 0.1;
      const allowed = (status: number) => status >= 200 && status < 300;
      const refused = (status: number) => status === 429 || status === 503;
      const unexpected = [...keel.statuses].filter(([status]) => !allowed(status) && !refused(status));
      const statusText = (outcome: Outcome) =>
        [...outcome.statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count.toLocaleString('en-US')}`).join(', ');
      const timeoutText = (outcome: Outcome) =>
        outcome.timeouts === 0
          ? 'no timeouts'
          : `${outcome.timeouts} timeouts on ${outcome.timedOutConnections} of ${connections} connections, in seconds ${[...new Set(outcome.timeoutSeconds)].join(',')}`;
      console.log(`\n${connections} connections, ${durationS} s: Keel statuses {${statusText(keel)}}, echo {${statusText(echo)}}`);
      console.log(`  Keel: ${timeoutText(keel)}; ${overflows} listen-queue overflows (host-wide TcpExt counter); server CPU ${(keelCpuMs / Math.max(1, keel.requests) * 1000).toFixed(0)} µs/request; load generator CPU ${(keel.clientCpuMs / 1000).toFixed(1)} s of ${durationS} s`);
      if (front) console.log(`  gateway (Caddy) CPU ${(gatewayCpuMs / Math.max(1, keel.requests) * 1000).toFixed(0)} µs/request, ${(gatewayCpuMs / 1000).toFixed(1)} s of ${durationS} s; API ${(keelCpuMs / 1000).toFixed(1)} s`);
      console.log(`  echo: ${timeoutText(echo)}; ${echoOverflows} listen-queue overflows; load generator CPU ${(echo.clientCpuMs / 1000).toFixed(1)} s`);
      const column = <T>(name: string, series: T[], of: (sample: T) => number) => `  ${name.padEnd(20)} ${series.map((sample) => (of(sample) / 1024 ** 2).toFixed(0)).join(' ')}`;
      if (printSamples) {
        console.log('  every second (MiB):');
        console.log(column('RSS', samples, (sample) => sample.rss));
        console.log(column('RSS anonymous', samples, (sample) => sample.rssAnon));
        console.log(column('RSS file', samples, (sample) => sample.rssFile));
        console.log(column('heap used', heap, (sample) => sample.heapUsed));
        console.log(column('heap total', heap, (sample) => sample.heapTotal));
        console.log(column('external', heap, (sample) => sample.external));
        console.log(column('array buffers', heap, (sample) => sample.arrayBuffers));
        console.log(`  ${'log backlog (k rows)'.padEnd(20)} ${backlog.map((n) => (n / 1000).toFixed(1)).join(' ')}`);
        console.log(`  resident memory by mapping, start → end of the load: ${mappingGrowth(mapsBefore!, mapsAfter!)}`);
      }
      const lastSample = samples.at(-1)!;
      const lastHeap = heap.at(-1);
      console.log(
        `  RSS: start ${mib(first)} → after ${warmupS}-s warm-up ${mib(warm)} → end ${mib(last)}; slope after warm-up ${(slopePerMin / 1024 ** 2).toFixed(1)} MiB/min; ` +
          `at the end: anonymous ${mib(lastSample.rssAnon)}, file ${mib(lastSample.rssFile)}, heap total ${lastHeap ? mib(lastHeap.heapTotal) : '?'} (${heap.length} heap samples)`,
      );
      console.log(
        `  after a full GC: heap used ${mib(afterGc.heapUsed)} (before the load ${mib(heapBefore)}), heap total ${mib(afterGc.heapTotal)}, ` +
          `external ${mib(afterGc.external)}, array buffers ${mib(afterGc.arrayBuffers)}, RSS ${mib(procAfterGc.rss)} (anonymous ${mib(procAfterGc.rssAnon)})`,
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
      const percent = (ratio: number) => `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)} %`;
      rows.push([
        String(connections),
        Math.round(keel.rps).toLocaleString('en-US'),
        `${keel.p50} / ${keel.p99} / ${keel.max}`,
        `${Math.round(echo.rps).toLocaleString('en-US')}, ${echo.p50} / ${echo.p99}, ${echo.socketErrors + echo.timeouts}`,
        `${(keel.statuses.get(200) ?? 0).toLocaleString('en-US')} / ${refusedCount} / ${keel.requests - (keel.statuses.get(200) ?? 0) - refusedCount}`,
        `${keel.socketErrors + keel.timeouts}`,
        `${(keelCpuMs / Math.max(1, keel.requests) * 1000).toFixed(0)}`,
        `${(first / 1024 ** 2).toFixed(1)} → ${(last / 1024 ** 2).toFixed(1)} (${percent(growth)}), max ${(peak / 1024 ** 2).toFixed(1)}`,
        `${(warm / 1024 ** 2).toFixed(1)} → ${(last / 1024 ** 2).toFixed(1)} (${percent(warmGrowth)}), ${(slopePerMin / 1024 ** 2).toFixed(1)} MiB/min`,
        `${mib(heapBefore)} → ${mib(afterGc.heapUsed)}`,
        flat && problems.length === 0 ? 'pass' : 'FAIL',
      ]);
    }
    const loadAfter = loadAverage();

    console.log(`\nbench/load predict — ${MODEL} (GBDT, 60 trees, 5 features), 1 row per request, ${durationS} s per run`);
    console.log(`load average (1/5/15 min): ${loadBefore} before, ${loadAfter} after; ${os.cpus().length} cores; API open-files limit ${fdLimit}`);
    const settings = apiMemorySettings ? `${API_NODE_FLAGS.join(' ')}, MALLOC_ARENA_MAX=${apiProcessEnv(process.env).MALLOC_ARENA_MAX}` : "Node's and glibc's defaults";
    const how = clusterWorkers > 0 ? [`${clusterWorkers} cluster workers (SCHED_NONE)`] : [];
    console.log(`API process started with: ${[settings, ...how, ...serverFlags, ...Object.entries(serverEnv).map(([k, v]) => `${k}=${v}`)].join(', ')}`);
    console.log(front ? `Keel's route loaded through Caddy (deploy/gateway/Caddyfile, HTTPS); the echo baseline directly\n` : '');
    console.log(
      '| connections | Keel requests/s | Keel p50 / p99 / max (ms) | echo baseline: requests/s, p50 / p99 (ms), socket errors + timeouts | ' +
        '2xx / 429+503 (Retry-After) / other | socket errors + timeouts | API CPU µs/request | ' +
        `API RSS MiB, whole run (judged): first-10-s median → last-10-s median, max | RSS after ${warmupS}-s warm-up → end, slope | JS heap after full GC: before → after | result |`,
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    if (failed) console.error('\nFAIL: see the lines marked FAIL above');
    child.send({ type: 'stop' } satisfies ToServers);
    await new Promise((resolve) => (child!.exitCode === null ? child!.once('exit', resolve) : resolve(undefined)));
    return failed ? 1 : 0;
  } finally {
    await front?.stop();
    child?.kill();
    await postgres.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
