// Authentication cost under a junk-token flood: a valid key's latency (p50/p99, paced at 50 requests/s on
// GET /v1/models) alone, then while another process floods the API with 10,000 junk tokens, for each kind of junk:
// malformed tokens (refused before Postgres and scrypt), well-formed tokens with unknown prefixes (one indexed lookup,
// no scrypt) and, fewer, well-formed tokens with the valid key's own prefix (one scrypt each: the cost that is left).
// The API runs in its own process, the flood in another, the measurement here. Starts an embedded Postgres unless
// DATABASE_URL is set. Run: npx tsx bench/auth/run.ts [--junk 10000] [--known 200] [--rate 50] [--flood-rate 0 (as fast as answered) | N/s]
// [--nice-flood] (the flooding client at nice 19, as if on another machine)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { buildApp } from '../../api/app.js';
import { ensureAdminKey } from '../../api/auth/admin-bootstrap.js';
import { createApiKey } from '../../api/auth/api-keys.js';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const niceFlood = process.argv.includes('--nice-flood');
const ROUTE = '/v1/models';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

const dbLogger = { error: (fields: unknown, message: string) => console.error(message, fields) };

type JunkKind = 'malformed' | 'unknown-prefix' | 'known-prefix';

function junkToken(kind: JunkKind, knownPrefix: string): string {
  const secret = randomBytes(32).toString('base64url');
  if (kind === 'malformed') return `junk-${randomBytes(24).toString('hex')}`;
  if (kind === 'known-prefix') return `keel_${knownPrefix}_${secret}`;
  let prefix = '';
  for (const byte of randomBytes(8)) prefix += ALPHABET[byte % ALPHABET.length];
  return `keel_${prefix}_${secret}`;
}

/** `--server`: the API alone in this process, on a free port (printed as one JSON line). */
async function serve(databaseUrl: string, dataDir: string): Promise<void> {
  const { db, pool } = createDb(databaseUrl, { max: 10, logger: dbLogger });
  const app = await buildApp({ config: loadConfig({ KEEL_DATA_DIR: dataDir }), db, pool, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

/** `--flood`: `amount` requests, each with its own junk token, over 50 connections as fast as they are answered. */
async function flood(url: string, kind: JunkKind, amount: number, knownPrefix: string, rate: number): Promise<void> {
  const result = await autocannon({
    url: `${url}${ROUTE}`,
    connections: 50,
    amount,
    timeout: 60,
    // 0: as fast as answered (saturating); else junk requests per second over all connections.
    ...(rate > 0 ? { overallRate: rate } : {}),
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${junkToken(kind, knownPrefix)}` } }) }],
  });
  const statuses = { '401': result['4xx'], other: result['2xx'] + result['5xx'] + result.non2xx - result['4xx'] };
  console.log(JSON.stringify({ requests: result.requests.total, rps: result.requests.average, statuses, errors: result.errors }));
}

/** The server's own count of scrypt verifications of rejected tokens (its /metrics). */
async function scryptRejections(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/keel_api_key_verifications_total\{result="invalid"\} (\d+)/.exec(text)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Valid-key requests due every 1000/rate ms until `until` resolves; latency counted from when each was due. */
async function measureValidKey(url: string, key: string, rate: number, until: Promise<unknown>): Promise<{ n: number; p50: number; p99: number; max: number; failed: number }> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let failed = 0;
  let stop = false;
  void until.then(() => (stop = true));
  const started = performance.now();
  for (let i = 0; !stop; i++) {
    const dueAt = started + (i * 1000) / rate;
    const wait = dueAt - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      // Node's fetch keeps connections alive (undici's pool).
      fetch(`${url}${ROUTE}`, { headers: { authorization: `Bearer ${key}` } }).then(
        async (response) => {
          await response.arrayBuffer();
          if (response.status === 200) latencies.push(performance.now() - dueAt);
          else failed++;
        },
        () => void failed++,
      ),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return { n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? Number.NaN, failed };
}

function child(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const command = [process.execPath, '--import', 'tsx', new URL(import.meta.url).pathname, ...args];
  // `--nice-flood`: the flooding client at the lowest CPU priority, as if it ran on another machine (on 2 shared
  // cores it otherwise takes the CPU the API and the measuring client need, and its cost shows up as API latency).
  if (args[0] === '--flood' && niceFlood) return spawn('nice', ['-n', '19', ...command], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
}

function firstJsonLine(process: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    process.on('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}

async function main(): Promise<void> {
  const junk = arg('--junk', 10_000);
  const known = arg('--known', 200);
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

    server = child(['--server', databaseUrl, join(scratch, 'data')]);
    const { port } = (await firstJsonLine(server)) as { port: number };
    const url = `http://127.0.0.1:${port}`;
    const seconds = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Warm: the valid key verified once (scrypt) and cached, as in steady use.
    await measureValidKey(url, secret, rate, seconds(2_000));

    const rows: string[] = [];
    const baseline = await measureValidKey(url, secret, rate, seconds(10_000));
    rows.push(`| valid key alone (baseline) | — | ${fmt(baseline.p50)} | **${fmt(baseline.p99)}** | ${fmt(baseline.max)} | ${baseline.n} ok, ${baseline.failed} failed |`);
    for (const [kind, amount] of [['malformed', junk], ['unknown-prefix', junk], ['known-prefix', known]] as const) {
      const scryptsBefore = await scryptRejections(url);
      const flooder = child(['--flood', url, kind, String(amount), key.prefix, String(floodRate)]);
      const floodResult = firstJsonLine(flooder);
      const during = await measureValidKey(url, secret, rate, floodResult);
      const summary = (await floodResult) as { requests: number; rps: number; statuses: Record<string, number> };
      const scrypts = (await scryptRejections(url)) - scryptsBefore;
      rows.push(
        `| + ${amount.toLocaleString('en')} ${kind} junk tokens (${Math.round(summary.rps)}/s, ${summary.statuses['401']} × 401, ${summary.statuses.other} other) | ${kind === 'malformed' ? 'nothing' : kind === 'unknown-prefix' ? '1 indexed lookup' : '1 lookup + 1 scrypt'}; ${scrypts} scrypt runs | ${fmt(during.p50)} | **${fmt(during.p99)}** | ${fmt(during.max)} | ${during.n} ok, ${during.failed} failed |`,
      );
    }
    // The machine's own noise between the two: the baseline again, after the floods.
    const after = await measureValidKey(url, secret, rate, seconds(10_000));
    rows.push(`| valid key alone again, after the floods | — | ${fmt(after.p50)} | **${fmt(after.p99)}** | ${fmt(after.max)} | ${after.n} ok, ${after.failed} failed |`);
    console.log(`\nGET ${ROUTE} with a valid engineer key, ${rate} requests/s paced (latency from when each was due), API in its own process:\n`);
    console.log('| load | per junk token | p50 ms | p99 ms | max ms | valid requests |');
    console.log('|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
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

function fmt(ms: number): string {
  return ms.toFixed(1);
}

if (process.argv[2] === '--server') {
  await serve(process.argv[3]!, process.argv[4]!);
} else if (process.argv[2] === '--flood') {
  await flood(process.argv[3]!, process.argv[4] as JunkKind, Number(process.argv[5]), process.argv[6]!, Number(process.argv[7] ?? 0));
} else {
  await main();
}
