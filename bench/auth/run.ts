// Authentication cost under a junk-token flood: a valid key's latency (paced at 50 requests/s on GET /v1/models) alone,
// then while another process floods the API with junk tokens, for each kind of junk: malformed tokens (refused before
// Postgres and scrypt), well-formed tokens with unknown prefixes (one indexed lookup, no scrypt) and well-formed tokens
// with the valid key's own prefix (one scrypt each until the prefix's failure budget is spent, then refused unverified).
// Three processes: the API (which times the valid key's requests itself, from Node's 'request' event to the last byte,
// and samples its event-loop delay and CPU), the flooder (bench/auth/flood.ts: prepared requests on raw keep-alive
// sockets, pipelined; started and connected before the measurement) and this one (the paced probe client). Starts an
// embedded Postgres unless DATABASE_URL is set.
// Run: npx tsx bench/auth/run.ts [--junk 10000] [--known 10000] [--rate 50] [--flood-rate 0 (as fast as answered) | N/s]
//   [--flood-connections 16] [--flood-depth 8] [--nice-flood] (the flooding client at nice 19, as if on another machine)
//   [--only malformed|unknown-prefix|known-prefix] [--cpu-prof <dir>] (a V8 CPU profile of the API process)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { buildApp } from '../../api/app.js';
import { ensureAdminKey } from '../../api/auth/admin-bootstrap.js';
import { createApiKey } from '../../api/auth/api-keys.js';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';
import type { FloodResult } from './raw-http.js';
import { getRequest, probe, type ProbeResult } from './raw-http.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const niceFlood = process.argv.includes('--nice-flood');
const ROUTE = '/v1/models';
/** Marks the valid key's requests, so the API process can time them apart from the junk. */
const PROBE_HEADER = 'x-bench-probe';
const FLOOD_CONNECTIONS = arg('--flood-connections', 16);
const FLOOD_DEPTH = arg('--flood-depth', 8);

const dbLogger = { error: (fields: unknown, message: string) => console.error(message, fields) };

/** What the API process measured itself over one phase (asked for over IPC). */
interface ServerPhase {
  /** The valid key's requests, from Node's 'request' event to the response's last byte (ms). */
  probe: { n: number; p50: number; p99: number; max: number };
  /** The API's event-loop delay (ms): how long a ready socket could wait before the loop got to it. */
  loopDelayP99: number;
  loopDelayMax: number;
  /** API CPU time over wall time (1 = one core). */
  cpuShare: number;
  seconds: number;
  junk: number;
}

/** `--server`: the API alone in this process, on a free port (printed as one JSON line); measures itself per phase. */
async function serve(databaseUrl: string, dataDir: string): Promise<void> {
  const { db, pool } = createDb(databaseUrl, { max: 10, logger: dbLogger });
  // Logging as in production (info, one access line per request), written to /dev/null: its cost is part of a 401's.
  const logger = pino({ level: 'info', redact: ['req.headers.authorization'] }, pino.destination({ dest: '/dev/null', sync: false }));
  const app = await buildApp({ config: loadConfig({ KEEL_DATA_DIR: dataDir }), db, pool, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const probeTimes: number[] = [];
  let junk = 0;
  // Before Fastify's own listener: the time from Node handing over the parsed request to the last byte written.
  app.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.headers[PROBE_HEADER] === undefined) {
      junk++;
      return;
    }
    const arrived = performance.now();
    response.once('finish', () => probeTimes.push(performance.now() - arrived));
  });
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let phaseStart = { at: performance.now(), cpu: process.cpuUsage() };
  process.on('message', (message: { type: 'reset' | 'report' }) => {
    if (message.type === 'reset') {
      probeTimes.length = 0;
      junk = 0;
      loopDelay.reset();
      phaseStart = { at: performance.now(), cpu: process.cpuUsage() };
      process.send!({ type: 'reset' });
      return;
    }
    const cpu = process.cpuUsage(phaseStart.cpu);
    const cpuUs = cpu.user + cpu.system;
    const seconds = (performance.now() - phaseStart.at) / 1000;
    const sorted = [...probeTimes].sort((a, b) => a - b);
    const report: ServerPhase = {
      probe: { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN },
      loopDelayP99: loopDelay.percentile(99) / 1e6,
      loopDelayMax: loopDelay.max / 1e6,
      cpuShare: cpuUs / 1e6 / seconds,
      seconds,
      junk,
    };
    process.send!({ type: 'report', report });
  });
  const address = app.server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** The server's own count of scrypt verifications of rejected tokens (its /metrics). */
async function scryptRejections(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/keel_api_key_verifications_total\{result="invalid"\} (\d+)/.exec(text)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The API process (with an IPC channel for its own measurements). */
function apiProcess(args: string[]): ChildProcess {
  // `--cpu-prof <dir>`: a V8 CPU profile of the API process, written there when it exits.
  const profile = process.argv.includes('--cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${process.argv[process.argv.indexOf('--cpu-prof') + 1]}`] : [];
  const command = [...profile, '--import', 'tsx', new URL(import.meta.url).pathname, ...args];
  return spawn(process.execPath, command, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
}

/**
 * The flooding process (bench/auth/flood.ts, which loads nothing of Keel). `--nice-flood`: at the lowest CPU priority,
 * as if it ran on another machine (on 2 shared cores it otherwise takes the CPU the API and the measuring client need).
 */
function flooderProcess(args: string[]): ChildProcess {
  const command = [process.execPath, '--import', 'tsx', new URL('./flood.ts', import.meta.url).pathname, ...args];
  const [file, ...rest] = niceFlood ? ['nice', '-n', '19', ...command] : command;
  return spawn(file!, rest, { stdio: ['pipe', 'pipe', 'inherit'] });
}

/** Asks the API process for `type` and waits for its answer of the same type. */
function ask(server: ChildProcess, type: 'reset' | 'report'): Promise<{ type: string; report?: ServerPhase }> {
  return new Promise((resolve) => {
    const listener = (message: { type: string; report?: ServerPhase }) => {
      if (message.type !== type) return;
      server.off('message', listener);
      resolve(message);
    };
    server.on('message', listener);
    server.send({ type });
  });
}

/** The JSON lines a child prints, one at a time. */
function jsonLines(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: Array<Record<string, unknown>> = [];
  const waiting: Array<{ resolve: (line: Record<string, unknown>) => void; reject: (error: Error) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(parsed);
    else queue.push(parsed);
  });
  child.on('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`child exited (${code}) before answering`));
  });
  return () => {
    const line = queue.shift();
    return line ? Promise.resolve(line) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
}

async function main(): Promise<void> {
  const junk = arg('--junk', 10_000);
  const known = arg('--known', 10_000);
  const rate = arg('--rate', 50);
  const floodRate = arg('--flood-rate', 0);
  const scratch = await mkdtemp(join(tmpdir(), 'keel-bench-auth-'));
  await chmod(scratch, 0o755);
  let postgres: RunningPostgres | undefined;
  let server: ChildProcess | undefined;
  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      postgres = await startEmbeddedPostgres({ dataDir: join(scratch, 'pg'), port: await freePort(), persistent: false });
      databaseUrl = await postgres.createDatabase('bench_auth');
    }
    await applyMigrations(databaseUrl);
    const { db, close } = createDb(databaseUrl, { max: 2, logger: dbLogger });
    await ensureAdminKey(db, { adminKey: undefined });
    const { key, secret } = await createApiKey(db, { name: 'bench-engineer', roles: ['engineer'] }, { actor: 'bench', actorKeyId: null, role: null });
    await close();

    server = apiProcess(['--server', databaseUrl, join(scratch, 'data')]);
    const api = server;
    const { port } = (await jsonLines(server)()) as { port: number };
    const url = `http://127.0.0.1:${port}`;
    const probeRequest = getRequest(new URL(`${url}${ROUTE}`), { authorization: `Bearer ${secret}`, [PROBE_HEADER]: '1' });
    const seconds = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const measure = async (until: () => Promise<unknown>) => {
      await ask(api, 'reset');
      const client = await probe(new URL(url), probeRequest, rate, until());
      const { report } = await ask(api, 'report');
      return { client, server: report! };
    };
    // Warm: the valid key verified once (scrypt) and cached, as in steady use.
    await measure(() => seconds(2_000));

    const rows: string[] = [];
    const row = (load: string, perToken: string, m: { client: ProbeResult; server: ServerPhase }, flooder?: FloodResult) =>
      rows.push(
        `| ${load} | ${perToken} | ${fmt(m.client.p50)} | **${fmt(m.client.p99)}** | ${fmt(m.client.max)} | ${fmt(m.server.probe.p50)} | **${fmt(m.server.probe.p99)}** | ` +
          `${fmt(m.server.loopDelayP99)} / ${fmt(m.server.loopDelayMax)} | ${pct(m.server.cpuShare)}${m.server.junk === 0 ? '' : `, ${Math.round(junkCpuUs(m.server))} µs/junk`} | ` +
          `${flooder ? `${Math.round(flooder.rps)}/s, ${pct(flooder.cpuShare)}, ${flooder.cpuUsPerRequest.toFixed(0)} µs/req` : '—'} | ${pct(m.client.clientCpuShare)}, loop ${fmt(m.client.clientLoopDelayP99)} | ${m.client.n} ok, ${m.client.failed} failed |`,
      );
    const baseline = await measure(() => seconds(10_000));
    // A junk request's cost: the API's CPU above what the valid key alone took per second, over the junk answered.
    const junkCpuUs = (phase: ServerPhase) => ((phase.cpuShare - baseline.server.cpuShare) * phase.seconds * 1e6) / phase.junk;
    row('valid key alone (baseline)', '—', baseline);
    // `--only <kind>`: one kind of junk (e.g. with --cpu-prof).
    const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
    const kinds = ([['malformed', junk], ['unknown-prefix', junk], ['known-prefix', known]] as const).filter(([kind]) => only === undefined || kind === only);
    for (const [kind, amount] of kinds) {
      const scryptsBefore = await scryptRejections(url);
      // Started, its requests prepared and its sockets connected before the measurement: only the flood is measured.
      const flooder = flooderProcess([`${url}${ROUTE}`, kind, String(amount), key.prefix, String(floodRate), String(FLOOD_CONNECTIONS), String(FLOOD_DEPTH)]);
      const nextLine = jsonLines(flooder);
      await nextLine();
      let floodResult: Promise<Record<string, unknown>> | undefined;
      const during = await measure(() => {
        flooder.stdin!.end('go\n');
        floodResult = nextLine();
        return floodResult;
      });
      const summary = (await floodResult!) as unknown as FloodResult;
      const scrypts = (await scryptRejections(url)) - scryptsBefore;
      const statuses = Object.entries(summary.statuses).map(([status, count]) => `${count} × ${status}`).join(', ');
      row(`+ ${amount.toLocaleString('en')} ${kind} tokens (${statuses})`, `${scrypts} scrypt runs`, during, summary);
    }
    // The machine's own noise between the two: the baseline again, after the floods.
    row('valid key alone again, after the floods', '—', await measure(() => seconds(10_000)));
    console.log(`\nGET ${ROUTE} with a valid engineer key, ${rate} requests/s paced (latency from when each was due), API in its own process;`);
    console.log(`flood ${floodRate === 0 ? `as fast as answered (${FLOOD_CONNECTIONS} connections × ${FLOOD_DEPTH} pipelined)` : `paced at ${floodRate}/s`}${niceFlood ? ', flooder at nice 19' : ''}:\n`);
    console.log('| load | scrypt | client p50 | client p99 | client max | server p50 | server p99 | API loop delay p99 / max | API CPU | flooder rate, CPU | probe client CPU, loop p99 | valid requests |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const line of rows) console.log(line);
  } finally {
    if (server && server.exitCode === null) {
      // The API closes its pool before Postgres stops.
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
    await postgres?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

const pct = (share: number) => `${Math.round(share * 100)} %`;

function fmt(ms: number): string {
  return ms.toFixed(1);
}

if (process.argv[2] === '--server') {
  await serve(process.argv[3]!, process.argv[4]!);
} else {
  await main();
}
