// `npm start`: the whole local stack on embedded defaults, as child processes this process owns.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { childProcessEnv, ConfigError, loadConfig, type KeelConfig } from '../config.js';
import { applyMigrations } from '../db/migrate.js';
import { API_NODE_FLAGS, apiProcessEnv } from '../api/process-memory.js';
import { startProcess, waitFor, type ManagedProcess } from './child-process.js';
import { superviseProcess, type SupervisedProcess } from './supervisor.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { describeTemporalCli, findTemporalCli, projectRoot } from './temporal-cli.js';
import { isPortFree, startTemporalDevServer, temporalReachable, type RunningDevServer } from './temporal-dev-server.js';
import { bootstrapStack } from './bootstrap.js';
import { describeTemporalConnection, temporalConnectionOptions } from '../temporal/connection-options.js';
import { PYTHON_TRAINER_TASK_QUEUE, PYTHON_TRAINERS, pythonTrainerInstalled, pythonTrainerProcess } from './python-trainer.js';

const color = (code: number) => (text: string) => (process.stdout.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = color(2);
const bold = color(1);

function log(source: string, line: string): void {
  process.stdout.write(`${dim(`[${source}]`)} ${line}\n`);
}

// With `npm start | tee`, Ctrl-C ends tee too: a write to the closed pipe must not crash the shutdown under way.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

async function requirePortFree(port: number, what: string, envName: string): Promise<void> {
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} for ${what} is in use: stop what holds it or set ${envName}`);
  }
}

/** The embedded dev server speaks plain gRPC only: TLS settings without TEMPORAL_ADDRESS are a mistake, not a no-op. */
function refuseTlsForEmbeddedServer(config: KeelConfig): void {
  const tlsSettings = (
    [
      ['TEMPORAL_TLS', config.temporalTls === true],
      ['TEMPORAL_TLS_CERT', config.temporalTlsCert !== undefined],
      ['TEMPORAL_TLS_KEY', config.temporalTlsKey !== undefined],
      ['TEMPORAL_TLS_CA', config.temporalTlsCa !== undefined],
      ['TEMPORAL_TLS_SERVER_NAME', config.temporalTlsServerName !== undefined],
      ['TEMPORAL_API_KEY', config.temporalApiKey !== undefined],
    ] as const
  ).filter(([, set]) => set);
  if (tlsSettings.length > 0) {
    const names = tlsSettings.map(([env]) => env).join(', ');
    throw new ConfigError(tlsSettings[0]![0], `is set (${names}), but the embedded Temporal dev server has no TLS: set TEMPORAL_ADDRESS to your secured cluster, or unset them`);
  }
}

interface Stack {
  postgres?: RunningPostgres;
  temporal?: RunningDevServer;
  api?: SupervisedProcess;
  workers: SupervisedProcess[];
}

/** Each child's time to stop after SIGTERM before it is SIGKILLed (Temporal and Postgres have their own). */
const CHILD_STOP_GRACE_MS = 8_000;

async function stopChildren(children: SupervisedProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      const { killed } = await child.stop({ graceMs: CHILD_STOP_GRACE_MS });
      if (killed) log('keel', `${child.name} did not stop within ${CHILD_STOP_GRACE_MS / 1000} s; killed`);
    }),
  );
}

async function stopStack(stack: Stack): Promise<void> {
  // Dependency order: the API first (no new runs or predictions), then the workers finish or hand back their
  // tasks, then the servers they all talk to.
  await stopChildren(stack.api ? [stack.api] : []);
  await stopChildren(stack.workers);
  await Promise.all([
    stack.temporal?.stop().catch((error: unknown) => log('keel', `temporal stop: ${String(error)}`)),
    stack.postgres?.stop().catch((error: unknown) => log('keel', `postgres stop: ${String(error)}`)),
  ]);
}

function spawnNodeChild(name: string, entry: string, env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): ManagedProcess {
  return startProcess(name, process.execPath, [...nodeFlags, '--import', 'tsx', path.join(projectRoot, entry)], {
    cwd: projectRoot,
    env,
    // An IPC channel lets the child notice when this process dies, even by SIGKILL.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    onOutput: (line) => log(name, line),
  });
}

/** A worker or the API, restarted with backoff when it crashes (a stop, also during a backoff, ends that). */
function superviseNodeChild(name: string, entry: string, env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): SupervisedProcess {
  return superviseProcess(name, { spawn: () => spawnNodeChild(name, entry, env, nodeFlags), log: (line) => log('keel', line) });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config: KeelConfig = loadConfig();
  const freshDataDir = !existsSync(config.dataDir);
  await fs.mkdir(config.dataDir, { recursive: true });
  await fs.mkdir(config.artifactDir, { recursive: true });
  for (const root of config.dataRoots) await fs.mkdir(root, { recursive: true }).catch(() => undefined);

  const stack: Stack = { workers: [] };
  let stopping = false;
  const shutdown = async (signal: string) => {
    // A second Ctrl-C (or npm forwarding the terminal's SIGINT) must not start a second, overlapping stop.
    if (stopping) return;
    stopping = true;
    const stopStartedAt = Date.now();
    log('keel', `${signal}: stopping everything…`);
    await stopStack(stack);
    log('keel', `stopped (${((Date.now() - stopStartedAt) / 1000).toFixed(1)} s)`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    // Temporal connection settings are checked before anything starts: a bad one stops here, named.
    if (config.temporalAddress) temporalConnectionOptions(config);
    else refuseTlsForEmbeddedServer(config);
    let databaseUrl = config.databaseUrl;
    // The owner migrates; the API and workers connect as DATABASE_URL (keel_app for the embedded Postgres).
    let migrationUrl = config.migrationDatabaseUrl ?? config.databaseUrl;
    let temporalAddress = config.temporalAddress;
    const startPostgres = async () => {
      if (databaseUrl) return log('keel', `using existing Postgres (DATABASE_URL)`);
      await requirePortFree(config.embeddedPostgresPort, 'embedded Postgres', 'KEEL_POSTGRES_PORT');
      stack.postgres = await startEmbeddedPostgres({
        dataDir: path.join(config.dataDir, 'postgres'),
        port: config.embeddedPostgresPort,
        persistent: true,
        log: (line) => {
          if (/ERROR|FATAL|PANIC/.test(line)) log('postgres', line);
        },
      });
      databaseUrl = stack.postgres.appUrl;
      migrationUrl = stack.postgres.url;
      log('keel', `embedded Postgres on 127.0.0.1:${config.embeddedPostgresPort} (data in ${path.join(config.dataDir, 'postgres')})`);
    };
    const startTemporal = async () => {
      if (temporalAddress) {
        // The same options the API and workers build: a bad TLS setting or an unreachable cluster stops here, named,
        // instead of the children crash-looping.
        const options = temporalConnectionOptions(config);
        await waitFor(`Temporal at ${describeTemporalConnection(options)}`, () => temporalReachable(options), { timeoutMs: 30_000 });
        return log('keel', `using existing Temporal at ${describeTemporalConnection(options)} (TEMPORAL_ADDRESS)`);
      }
      await requirePortFree(config.temporalPort, 'the Temporal dev server', 'KEEL_TEMPORAL_PORT');
      await requirePortFree(config.temporalUiPort, 'the Temporal UI', 'KEEL_TEMPORAL_UI_PORT');
      const cli = await findTemporalCli();
      log('keel', `Temporal CLI: ${describeTemporalCli(cli)}`);
      stack.temporal = await startTemporalDevServer({
        cli,
        port: config.temporalPort,
        uiPort: config.temporalUiPort,
        dbFilename: path.join(config.dataDir, 'temporal.sqlite'),
        namespace: config.temporalNamespace,
        // The dev server is chatty (and very much so while it shuts down): keep its errors and banner only.
        log: (line) => {
          if (!/level=(WARN|INFO|DEBUG)/.test(line)) log('temporal', line);
        },
      });
      temporalAddress = stack.temporal.address;
      log('keel', `Temporal dev server on ${temporalAddress} (state in ${path.join(config.dataDir, 'temporal.sqlite')})`);
    };
    await Promise.all([startPostgres(), startTemporal()]);
    await applyMigrations(migrationUrl!, { appDatabaseUrl: databaseUrl! });
    log('keel', 'database migrations applied');

    const childEnv = childProcessEnv(
      { DATABASE_URL: databaseUrl, KEEL_MIGRATION_DATABASE_URL: migrationUrl, TEMPORAL_ADDRESS: temporalAddress, KEEL_DATA_DIR: config.dataDir },
      // Request and worker logs at info drown the banner; LOG_LEVEL=info brings them back.
      { LOG_LEVEL: 'warn' },
    );
    const bootstrap = await bootstrapStack(config, databaseUrl!, { freshDataDir, logger: pino({ name: 'keel-start', level: config.logLevel }) });
    stack.workers.push(superviseNodeChild('worker:pipeline', 'workers/pipeline-worker.ts', childEnv));
    stack.workers.push(superviseNodeChild('worker:training', 'workers/training-worker.ts', childEnv));
    // The reference Python trainer (external trainers, docs/training-contract.md), when its environment exists.
    const pythonTrainer = pythonTrainerInstalled();
    if (pythonTrainer) {
      const worker = pythonTrainerProcess({ temporalAddress: temporalAddress!, namespace: config.temporalNamespace, artifactDir: config.artifactDir, env: childEnv });
      stack.workers.push(
        superviseProcess('worker:trainers-python', {
          spawn: () =>
            startProcess('worker:trainers-python', worker.command, worker.args, {
              cwd: worker.cwd,
              env: worker.env,
              onOutput: (line) => log('worker:trainers-python', line),
            }),
          log: (line) => log('keel', line),
        }),
      );
    }
    // The V8 and malloc settings that keep the API's RSS level under serving load (api/process-memory.ts).
    stack.api = superviseNodeChild('api', 'api/main.ts', apiProcessEnv(childEnv), API_NODE_FLAGS);
    const apiUrl = `http://localhost:${config.port}`;
    await waitFor('the API', async () => (await fetch(`${apiUrl}/readyz`)).ok, { timeoutMs: 120_000 });

    const lines = [
      '',
      bold('Keel is up') + dim(` (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`),
      `  API          ${apiUrl}`,
      `  API docs     ${apiUrl}/docs`,
      stack.temporal?.uiUrl ? `  Temporal UI  ${stack.temporal.uiUrl}` : `  Temporal     ${temporalAddress}`,
      `  Data dir     ${config.dataDir}`,
      pythonTrainer
        ? `  Trainers     built-in (gbdt, linear); Python worker on task queue ${PYTHON_TRAINER_TASK_QUEUE}: ${PYTHON_TRAINERS.join(', ')}`
        : `  Trainers     built-in (gbdt, linear); \`npm run setup:python\` adds the Python worker (LightGBM, XGBoost, scikit-learn)`,
      ...bootstrap.bannerLines,
    ];
    process.stdout.write(lines.join('\n') + '\n\n');
    await bootstrap.afterReady({ apiUrl, temporalUiUrl: stack.temporal?.uiUrl, log: (line) => log('keel', line) });
    log('keel', 'Ctrl-C stops everything.');
  } catch (error) {
    log('keel', `start failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopStack(stack);
    process.exit(1);
  }
}

await main();
