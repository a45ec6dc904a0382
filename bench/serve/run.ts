// bench/serve: what Keel's predict route costs over a bare Fastify route, and what batch scoring costs over
// onnxruntime alone. Starts its own embedded Postgres (no Temporal: serving does not need it), trains and deploys a
// model, forks the servers (servers.ts) and drives them with autocannon on loopback, then stops everything.
// Usage: npx tsx bench/serve/run.ts [--duration 15] [--connections 50] [--rounds 1] [--batch-rows 1000]
//        [--only echo,single,single-nobatch,raw,batch,batch-nolog,loop] [--cpu-prof <dir>]
//        [--server-flags "<node flags>"]
import pino from 'pino';
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createApiKey } from '../../api/auth/api-keys.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { startEmbeddedPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';
import { pacedLoad } from './paced-load.js';
import { deployBenchModel, trainBenchModel, type FeatureRow, type SourceRow } from './bench-model.js';
import type { FromServers, ServersInput, ToServers } from './servers.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const durationS = option('duration', 15);
const connections = option('connections', 50);
const rounds = option('rounds', 1);
const batchRows = option('batch-rows', 1000);
/**
 * `--only echo,single,single-nobatch,raw,batch,batch-nolog` (any of them, comma-separated): just those loads,
 * alternating for `--rounds`, each printed with its server CPU per request (for profiling one path, or comparing two
 * quickly). `single-nobatch` is 1-row predict on an app with dynamic batching off (KEEL_SCORE_BATCH_ROWS=1); `loop`
 * is the bare `session.run` loop on the batch's rows (its CPU per row and rows/s, the batch target's baseline).
 */
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1]!.split(',') : undefined;
const ONLY = ['echo', 'single', 'single-nobatch', 'raw', 'batch', 'batch-nolog', 'loop'];
if (only !== undefined && !only.every((name) => ONLY.includes(name))) throw new Error(`--only takes some of ${ONLY.join(', ')}`);
/** Extra node flags for the server process, e.g. `--server-flags "--max-semi-space-size=64"`. */
const serverFlagsAt = process.argv.indexOf('--server-flags');
const serverFlags = serverFlagsAt > 0 ? process.argv[serverFlagsAt + 1]!.split(' ').filter(Boolean) : [];
/** With --only: a fixed arrival rate (requests/s) instead of closed-loop autocannon, so the loads compared do the same work per second. */
const rateAt = process.argv.indexOf('--rate');
const fixedRate = rateAt > 0 ? Number(process.argv[rateAt + 1]) : undefined;
const cpuProfAt = process.argv.indexOf('--cpu-prof');
const cpuProfDir = cpuProfAt > 0 ? path.resolve(process.argv[cpuProfAt + 1]!) : undefined;

const MODEL = 'seattle-rain';

interface Load {
  rps: number;
  /** Server process CPU per answered request (all its threads), in ms: steadier than requests/s on a shared machine. */
  cpuMsPerRequest: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  /** Postgres' CPU per answered request (the prediction log's writes, mostly); closed-loop loads only. */
  postgresCpuMsPerRequest?: number;
  /** Fixed-rate loads: the server's event-loop delay over the run (ms). */
  loopDelay?: LoopDelay;
}

interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

/** A predict body: ready feature rows, or raw rows in the source's shape (the model's feature SQL runs on them). */
type Body = { features: FeatureRow[] } | { rows: SourceRow[] };

let server: ChildProcess | undefined;
/** The embedded Postgres' data directory: its postmaster.pid names the process tree whose CPU is counted. */
let postgresDataDir: string | undefined;

/**
 * CPU time (ms) of Postgres so far: the postmaster with its reaped children, plus the live backends. Postgres shares
 * the 2 cores with the server and the load generator, so its time per logged row is CPU the server does not get.
 */
async function postgresCpuMs(): Promise<number> {
  if (postgresDataDir === undefined) return 0;
  const postmaster = Number((await fs.readFile(path.join(postgresDataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const ticksToMs = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command (which may hold spaces): state ppid … utime(14) stime(15) cutime(16) cstime(17).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const ppid = Number(fields[1]);
    if (pid === postmaster) total += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    else if (ppid === postmaster) total += Number(fields[11]) + Number(fields[12]);
  }
  return total * ticksToMs;
}

async function serverCpuMs(): Promise<number> {
  const reply = await request(server!, { type: 'cpu' });
  if (reply.type !== 'cpu') throw new Error('unexpected reply from the server process');
  return reply.cpuMs;
}

async function load(url: string, key: string | undefined, body: Body, extra: Partial<autocannon.Options> = {}): Promise<Load> {
  const postgresBefore = await postgresCpuMs();
  const cpuBefore = await serverCpuMs();
  const result = await autocannon({
    url: `${url}/v1/models/${MODEL}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
    connections,
    duration: durationS,
    ...extra,
  });
  const cpuUsed = (await serverCpuMs()) - cpuBefore;
  const postgresUsed = (await postgresCpuMs()) - postgresBefore;
  return {
    // Answered requests only: a 503 from a full prediction log is no prediction.
    rps: result['2xx'] / result.duration,
    cpuMsPerRequest: cpuUsed / Math.max(1, result['2xx']),
    postgresCpuMsPerRequest: postgresUsed / Math.max(1, result['2xx']),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** The server's event-loop delay since the last call (the first call only starts the window). */
async function serverLoopDelay(): Promise<LoopDelay> {
  const reply = await request(server!, { type: 'loop-delay' });
  if (reply.type !== 'loop-delay') throw new Error('unexpected reply from the server process');
  const { p50, p99, max, gcCount, gcTotalMs, gcMaxMs } = reply;
  return { p50, p99, max, gcCount, gcTotalMs, gcMaxMs };
}

const describeLoopDelay = (delay: LoopDelay) =>
  `event-loop delay p50 / p99 / max ${delay.p50} / ${delay.p99} / ${delay.max} ms, GC ${delay.gcCount} pauses, ${delay.gcTotalMs} ms in all, longest ${delay.gcMaxMs} ms`;

/** Open-loop load at a fixed rate, with the server's CPU per answered request and its event-loop delay. */
async function pacedCpu(url: string, key: string | undefined, body: Body, rate: number): Promise<Load> {
  await serverLoopDelay();
  const cpuBefore = await serverCpuMs();
  const result = await pacedLoad({
    url: `${url}/v1/models/${MODEL}/predict`,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
    rate,
    durationS,
    connections,
  });
  const cpuUsed = (await serverCpuMs()) - cpuBefore;
  const loopDelay = await serverLoopDelay();
  return {
    loopDelay,
    rps: result.ok / durationS,
    cpuMsPerRequest: cpuUsed / Math.max(1, result.ok),
    p50: result.p50,
    p99: result.p99,
    max: result.max,
    non2xx: result.failed,
    errors: 0,
  };
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

function request(child: ChildProcess, message: ToServers): Promise<FromServers> {
  const reply = nextMessage(child);
  child.send(message);
  return reply;
}

const loadAverage = () => os.loadavg().map((n) => n.toFixed(1)).join(' / ');

async function main(): Promise<void> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-bench-serve-'));
  await fs.chmod(scratch, 0o755);
  postgresDataDir = path.join(scratch, 'pg');
  const postgres = await startEmbeddedPostgres({ dataDir: postgresDataDir, port: await freePort(), persistent: false });
  let child: ChildProcess | undefined;
  try {
    await applyMigrations(postgres.url);
    const database = createDb(postgres.url, { logger: pino({ name: 'keel-bench', level: 'warn' }) });
    const { onnx, rows, sourceRows } = await trainBenchModel();
    await deployBenchModel(database.db, new FsArtifactStore(path.join(scratch, 'artifacts')), MODEL, onnx);
    const { secret: key } = await createApiKey(database.db, { name: 'bench', roles: ['predict'] }, { actor: 'bench', actorKeyId: null, role: null });
    await database.close();

    const input: ServersInput = { databaseUrl: postgres.url, dataDir: scratch, modelName: MODEL };
    child = fork(fileURLToPath(new URL('./servers.ts', import.meta.url)), [JSON.stringify(input)], {
      execArgv: ['--import', 'tsx', ...serverFlags, ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    server = child;
    const ready = await nextMessage(child);
    if (ready.type !== 'ready') throw new Error('server process did not start');
    const loadBefore = loadAverage();
    const one = { features: rows.slice(0, 1) };
    const oneRaw = { rows: sourceRows.slice(0, 1) };
    const batch = { features: Array.from({ length: batchRows }, (_, i) => rows[i % rows.length]!) };

    if (only !== undefined) {
      const urls: Record<string, string> = {
        echo: ready.echoUrl,
        'batch-nolog': ready.keelNoLogUrl,
        'single-nobatch': ready.keelNoBatchUrl,
      };
      const loadOf = async (name: string, extra: Partial<autocannon.Options> = {}): Promise<Load> => {
        if (name === 'loop') {
          // Reported like a load of batchRows-row requests: one "request" per batchRows rows.
          const durationMs = Number(extra.duration ?? durationS) * 1000;
          const loop = await request(child!, { type: 'session-loop', onnx: [...onnx], rows: batch.features, durationMs });
          if (loop.type !== 'session-loop') throw new Error('unexpected reply from the server process');
          const requests = loop.rows / batchRows;
          return { rps: requests / loop.seconds, cpuMsPerRequest: loop.cpuMs / requests, p50: 0, p99: 0, max: 0, non2xx: 0, errors: 0 };
        }
        const url = urls[name] ?? ready.keelUrl;
        const body = name === 'raw' ? oneRaw : name.startsWith('batch') ? batch : one;
        return fixedRate === undefined || extra.duration !== undefined ? load(url, name === 'echo' ? undefined : key, body, extra) : pacedCpu(url, name === 'echo' ? undefined : key, body, fixedRate);
      };
      for (const name of only) await loadOf(name, { duration: 2 }); // warm-up, not reported
      const cpuUs = new Map<string, number[]>(only.map((name) => [name, []]));
      const rowsPerS = new Map<string, number[]>(only.map((name) => [name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const name of only) {
          const rowsPerRequest = name.startsWith('batch') || name === 'loop' ? batchRows : 1;
          const measured = await loadOf(name);
          cpuUs.get(name)!.push(measured.cpuMsPerRequest * 1000);
          rowsPerS.get(name)!.push(measured.rps * rowsPerRequest);
          console.log(
            `${name.padEnd(20)} ${measured.rps.toFixed(0).padStart(6)} requests/s${rowsPerRequest > 1 ? ` (${(measured.rps * rowsPerRequest).toFixed(0)} rows/s)` : ''}, server CPU ${(measured.cpuMsPerRequest * 1000).toFixed(1).padStart(7)} µs per request` +
              (rowsPerRequest > 1 ? ` (${((measured.cpuMsPerRequest * 1000) / rowsPerRequest).toFixed(2)} µs per row)` : '') +
              (measured.postgresCpuMsPerRequest !== undefined ? `, Postgres ${(measured.postgresCpuMsPerRequest * 1000).toFixed(1)} µs` : '') +
              `, p99 ${measured.p99} ms, max ${measured.max} ms, ${measured.non2xx + measured.errors} not 2xx` +
              (measured.loopDelay ? `, server ${describeLoopDelay(measured.loopDelay)}` : '') +
              `; load ${loadAverage()}`,
          );
        }
      }
      if (rounds > 1) {
        const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
        for (const [name, values] of cpuUs) {
          const ordered = sorted(values);
          const rates = sorted(rowsPerS.get(name)!);
          console.log(
            `${name.padEnd(20)} server CPU per request: min ${ordered[0]!.toFixed(1)} µs, median ${ordered[Math.floor(ordered.length / 2)]!.toFixed(1)} µs over ${rounds} rounds` +
              `; rows/s median ${rates[Math.floor(rates.length / 2)]!.toFixed(0)}, max ${rates[rates.length - 1]!.toFixed(0)}`,
          );
        }
      }
      await request(child, { type: 'stop' }).catch(() => undefined);
      return;
    }
    // Warm-up (JIT, the model's first load, the key's first verification), not reported.
    await load(ready.echoUrl, undefined, one, { duration: 2 });
    await load(ready.keelUrl, key, one, { duration: 2 });
    await load(ready.keelUrl, key, oneRaw, { duration: 2 });

    // Echo, predict and raw-row predict alternate, so a change in the machine's load hits all three.
    const echoRuns: Load[] = [];
    const predictRuns: Load[] = [];
    const rawRuns: Load[] = [];
    for (let round = 0; round < rounds; round++) {
      echoRuns.push(await load(ready.echoUrl, undefined, one));
      predictRuns.push(await load(ready.keelUrl, key, one));
      rawRuns.push(await load(ready.keelUrl, key, oneRaw));
    }
    const best = (runs: Load[]) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
    const echoMax = best(echoRuns);
    const predictMax = best(predictRuns);
    const rawMax = best(rawRuns);
    // p99 at half of each one's own maximum: a fixed arrival rate (open loop), not a closed loop.
    const paced = async (url: string, auth: string | undefined, rate: number) => {
      await serverLoopDelay();
      const result = await pacedLoad({
        url: `${url}/v1/models/${MODEL}/predict`,
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify(one),
        rate: Math.max(1, Math.floor(rate)),
        durationS,
        connections,
      });
      return { ...result, loopDelay: await serverLoopDelay() };
    };
    const echoHalf = await paced(ready.echoUrl, undefined, echoMax.rps / 2);
    const predictHalf = await paced(ready.keelUrl, key, predictMax.rps / 2);

    // The batches' warm-up comes here, not first: it leaves up to a full log buffer (100,000 rows) for Postgres, whose
    // flush would otherwise run (on the server's event loop and Postgres' CPU) through the echo and 1-row loads.
    await load(ready.keelUrl, key, batch, { duration: 2 });
    await load(ready.keelNoLogUrl, key, batch, { duration: 2 });
    const batchLoad = await load(ready.keelUrl, key, batch);
    const batchNoLogLoad = await load(ready.keelNoLogUrl, key, batch);
    const loop = await request(child, { type: 'session-loop', onnx: [...onnx], rows: batch.features, durationMs: durationS * 1000 });
    if (loop.type !== 'session-loop') throw new Error('unexpected reply from the server process');
    const loopRowsPerS = loop.rows / loop.seconds;
    const loadAfter = loadAverage();

    const failures =
      [echoMax, predictMax, rawMax, batchNoLogLoad].reduce((n, r) => n + r.non2xx + r.errors, 0) + echoHalf.failed + predictHalf.failed;
    const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const ratio = (keel: number, base: number) => `${(keel / base).toFixed(2)}×`;
    const table = [
      ['measure', 'Keel', 'baseline', 'ratio'],
      ['1-row predict, requests/s (50 conn.)', fmt(predictMax.rps), `${fmt(echoMax.rps)} (echo route)`, ratio(predictMax.rps, echoMax.rps)],
      ['  p99 / max latency at max (ms)', `${predictMax.p99} / ${predictMax.max}`, `${echoMax.p99} / ${echoMax.max}`, ''],
      ['  server CPU per request (µs)', fmt(predictMax.cpuMsPerRequest * 1000), fmt(echoMax.cpuMsPerRequest * 1000), ratio(echoMax.cpuMsPerRequest, predictMax.cpuMsPerRequest)],
      ['  Postgres CPU per request (µs)', fmt((predictMax.postgresCpuMsPerRequest ?? 0) * 1000), fmt((echoMax.postgresCpuMsPerRequest ?? 0) * 1000), ''],
      ['1-row raw-row predict (feature SQL), requests/s', fmt(rawMax.rps), `${fmt(echoMax.rps)} (echo route)`, ratio(rawMax.rps, echoMax.rps)],
      ['  p99 / max latency at max (ms)', `${rawMax.p99} / ${rawMax.max}`, `${echoMax.p99} / ${echoMax.max}`, ''],
      ['  server CPU per request (µs)', fmt(rawMax.cpuMsPerRequest * 1000), fmt(echoMax.cpuMsPerRequest * 1000), ratio(echoMax.cpuMsPerRequest, rawMax.cpuMsPerRequest)],
      [
        '1-row p99 at half max rate (ms)',
        `${predictHalf.p99} at ${fmt(predictMax.rps / 2)}/s`,
        `${echoHalf.p99} at ${fmt(echoMax.rps / 2)}/s (echo)`,
        '',
      ],
      ['  p50 / max at half rate (ms)', `${predictHalf.p50} / ${predictHalf.max}`, `${echoHalf.p50} / ${echoHalf.max}`, ''],
      ['  generator timer lag p99 (ms)', String(predictHalf.sendLagP99), String(echoHalf.sendLagP99), ''],
      [
        '  server event-loop delay p99 / max (ms)',
        `${predictHalf.loopDelay.p99} / ${predictHalf.loopDelay.max}`,
        `${echoHalf.loopDelay.p99} / ${echoHalf.loopDelay.max}`,
        '',
      ],
      [
        '  server GC pauses: count, total / longest (ms)',
        `${predictHalf.loopDelay.gcCount}, ${predictHalf.loopDelay.gcTotalMs} / ${predictHalf.loopDelay.gcMaxMs}`,
        `${echoHalf.loopDelay.gcCount}, ${echoHalf.loopDelay.gcTotalMs} / ${echoHalf.loopDelay.gcMaxMs}`,
        '',
      ],
      [
        `${fmt(batchRows)}-row batch predict, rows/s`,
        fmt(batchLoad.rps * batchRows),
        `${fmt(loopRowsPerS)} (bare session.run loop)`,
        ratio(batchLoad.rps * batchRows, loopRowsPerS),
      ],
      [
        '  the same, log batches discarded (no Postgres)',
        fmt(batchNoLogLoad.rps * batchRows),
        `${fmt(loopRowsPerS)} (bare session.run loop)`,
        ratio(batchNoLogLoad.rps * batchRows, loopRowsPerS),
      ],
      [
        '  server CPU per row (µs), log discarded',
        fmt((batchNoLogLoad.cpuMsPerRequest * 1000) / batchRows, 2),
        fmt((loop.cpuMs * 1000) / loop.rows, 2),
        ratio(loop.cpuMs / loop.rows, batchNoLogLoad.cpuMsPerRequest / batchRows),
      ],
    ];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    console.log(`\nbench/serve — ${MODEL} (GBDT, 60 trees, 5 features), ${connections} connections, ${durationS} s per run, ${rounds} round(s)`);
    console.log(`load average (1/5/15 min): ${loadBefore} before, ${loadAfter} after; ${os.cpus().length} cores`);
    console.log('(server CPU: the server process, all threads, per answered request; its ratio is baseline CPU / Keel CPU)\n');
    for (const [i, row] of table.entries()) {
      console.log(`| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`);
      if (i === 0) console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
    }
    if (rounds > 1) {
      console.log(
        `\nper round, requests/s (echo / predict / raw-row predict): ${echoRuns.map((r, i) => `${fmt(r.rps)} / ${fmt(predictRuns[i]!.rps)} / ${fmt(rawRuns[i]!.rps)}`).join(', ')}`,
      );
    }
    if (batchLoad.non2xx > 0) {
      console.log(`\nbatch predict with the log: ${fmt(batchLoad.non2xx)} answers were 503 (log buffer full: Postgres writes fell behind; not counted as rows)`);
    }
    if (failures > 0) {
      const count = (r: Load) => r.non2xx + r.errors;
      console.log(
        `\nWARNING: ${failures} responses were not 2xx or failed (echo ${count(echoMax)}, predict ${count(predictMax)}, raw ${count(rawMax)}, ` +
          `batch without log writes ${count(batchNoLogLoad)}, paced echo ${echoHalf.failed}, paced predict ${predictHalf.failed})`,
      );
    }
    await request(child, { type: 'stop' }).catch(() => undefined);
    await new Promise((resolve) => (child!.exitCode === null ? child!.once('exit', resolve) : resolve(undefined)));
  } finally {
    child?.kill();
    await postgres.stop();
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

await main();
