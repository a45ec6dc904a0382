// A private Keel stack for fault tests: its own Temporal dev server (state in a SQLite file, so it can be killed and
// restarted on it), its own embedded Postgres (stopped "immediate" and restarted on its data dir), and the real
// pipeline worker, training worker and API as child processes, each of which a test can SIGKILL and restart.
import { readFile } from 'node:fs/promises';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { childProcessEnv } from '../../config.js';
import { applyMigrations } from '../../db/migrate.js';
import { startProcess, waitFor, type ManagedProcess } from '../../dev/child-process.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { findTemporalCli, projectRoot } from '../../dev/temporal-cli.js';
import { freePort, KEEL_SEARCH_ATTRIBUTES, temporalReachable } from '../../dev/temporal-dev-server.js';

export type StackProcess = 'temporal' | 'pipeline' | 'training' | 'api';

interface Child {
  process: ManagedProcess;
  output: string[];
}

export interface FaultStack {
  scratch: string;
  apiUrl: string;
  databaseUrl: string;
  keys: { admin: string; engineer: string; reviewer: string; ops: string };
  /** A Temporal client of the test (reconnects by itself after the server restarts). */
  temporal(): Client;
  /** A short-lived SQL client to the stack's database. */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  api(method: string, url: string, key: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  kill(name: StackProcess): Promise<void>;
  start(name: StackProcess): Promise<void>;
  /** What `pg_ctl stop -m immediate` does: SIGQUIT to the postmaster, which ends every backend without a checkpoint. */
  stopPostgresImmediately(): Promise<void>;
  /** Starts Postgres again on the same data dir and port (it runs crash recovery first). */
  restartPostgres(): Promise<void>;
  output(name: StackProcess): string;
  /** Whether the process is still the one started last (not exited or crashed). */
  running(name: StackProcess): boolean;
  stop(): Promise<void>;
}

const NODE_ENTRIES: Record<Exclude<StackProcess, 'temporal'>, string> = {
  pipeline: 'workers/pipeline-worker.ts',
  training: 'workers/training-worker.ts',
  api: 'api/main.ts',
};

export async function startFaultStack(options: { dataRoots: string[] }): Promise<FaultStack> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-faults-'));
  // Embedded Postgres runs as the postgres user when we are root: it must be able to reach its data dir.
  await fs.chmod(scratch, 0o755);
  const cli = await findTemporalCli();
  if (cli.kind === 'sdk-download') throw new Error('fault tests need the Temporal CLI binary (npm run setup builds it)');
  const [temporalPort, postgresPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const temporalAddress = `127.0.0.1:${temporalPort}`;
  const pgDataDir = path.join(scratch, 'pg');
  const adminKey = `keel_faults_${randomBytes(16).toString('hex')}`;
  const children = new Map<StackProcess, Child>();
  let postgres: RunningPostgres | undefined;
  let temporalConnection: Connection | undefined;
  let temporalClient: Client | undefined;

  const startPostgres = async () => {
    postgres = await startEmbeddedPostgres({ dataDir: pgDataDir, port: postgresPort, persistent: true });
  };
  await startPostgres();
  const databaseUrl = postgres!.url;
  await applyMigrations(databaseUrl);

  const env = childProcessEnv({
    TEMPORAL_ADDRESS: temporalAddress,
    DATABASE_URL: databaseUrl,
    KEEL_DATA_DIR: path.join(scratch, 'data'),
    KEEL_DATA_ROOTS: options.dataRoots.join(':'),
    KEEL_ADMIN_KEY: adminKey,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    KEEL_DUCKDB_THREADS: '1',
    KEEL_DUCKDB_MEMORY_LIMIT: '512MB',
    LOG_LEVEL: 'warn',
  });

  const track = (name: StackProcess, command: string, args: string[]) => {
    const output: string[] = [];
    const process = startProcess(name, command, args, {
      cwd: projectRoot,
      env,
      onOutput: (line) => {
        output.push(line);
        if (output.length > 60) output.shift();
      },
    });
    children.set(name, { process, output });
    return process;
  };

  const start = async (name: StackProcess) => {
    if (name === 'temporal') {
      const searchAttributes = Object.entries(KEEL_SEARCH_ATTRIBUTES).flatMap(([key, type]) => ['--search-attribute', `${key}=${type}`]);
      const server = track('temporal', cli.path, [
        'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(temporalPort), '--headless', '--log-level', 'error',
        '--db-filename', path.join(scratch, 'temporal.sqlite'), ...searchAttributes,
      ]);
      let exit: number | null | undefined;
      void server.exited.then((code) => (exit = code));
      await waitFor('Temporal dev server', () => temporalReachable(temporalAddress), {
        timeoutMs: 120_000,
        failed: () => (exit !== undefined ? `exited with ${exit}: ${children.get('temporal')!.output.join('\n')}` : undefined),
      });
      return;
    }
    const child = track(name, process.execPath, ['--import', 'tsx', path.join(projectRoot, NODE_ENTRIES[name])]);
    if (name === 'api') {
      let exit: number | null | undefined;
      void child.exited.then((code) => (exit = code));
      await waitFor('API', async () => (await fetch(`http://127.0.0.1:${apiPort}/healthz`)).ok, {
        timeoutMs: 120_000,
        failed: () => (exit !== undefined ? `exited with ${exit}: ${children.get('api')!.output.join('\n')}` : undefined),
      });
    }
  };

  const kill = async (name: StackProcess) => {
    const child = children.get(name);
    if (!child) return;
    child.process.child.kill('SIGKILL');
    await child.process.exited;
  };

  const postmasterPid = async () => Number.parseInt((await readFile(path.join(pgDataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]!, 10);
  const processAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api: FaultStack['api'] = async (method, url, key, body, headers = {}) => {
    const response = await fetch(`${apiUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the assertion message
    }
    return { status: response.status, body: parsed };
  };

  const stack: FaultStack = {
    scratch,
    apiUrl,
    databaseUrl,
    keys: { admin: adminKey, engineer: '', reviewer: '', ops: '' },
    temporal: () => temporalClient!,
    query: async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    api,
    kill,
    start,
    stopPostgresImmediately: async () => {
      const pid = await postmasterPid();
      process.kill(pid, 'SIGQUIT');
      await waitFor('Postgres to stop', async () => !processAlive(pid), { timeoutMs: 30_000, intervalMs: 50 });
    },
    restartPostgres: startPostgres,
    output: (name) => children.get(name)?.output.join('\n') ?? '',
    running: (name) => {
      const child = children.get(name)?.process.child;
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    stop: async () => {
      for (const name of ['api', 'pipeline', 'training'] as const) await children.get(name)?.process.stop({ graceMs: 5_000 });
      await temporalConnection?.close().catch(() => undefined);
      await children.get('temporal')?.process.stop({ graceMs: 5_000 });
      await postgres?.stop().catch(() => undefined);
      await fs.rm(scratch, { recursive: true, force: true });
    },
  };

  try {
    await start('temporal');
    temporalConnection = await Connection.connect({ address: temporalAddress });
    temporalClient = new Client({ connection: temporalConnection });
    await Promise.all([start('pipeline'), start('training'), start('api')]);
    for (const [name, role] of [['alice', 'engineer'], ['bob', 'reviewer'], ['olga', 'ops']] as const) {
      const created = await api('POST', '/v1/keys', adminKey, { name, roles: [role] });
      if (created.status !== 201) throw new Error(`creating the ${role} key answered ${created.status}: ${JSON.stringify(created.body)}`);
      stack.keys[role] = created.body.secret;
    }
  } catch (error) {
    const logs = [...children.keys()].map((name) => `--- ${name}\n${stack.output(name)}`).join('\n');
    await stack.stop();
    throw new Error(`the fault stack did not start: ${(error as Error).message}\n${logs}`);
  }
  return stack;
}
