// The API process: `npx tsx api/main.ts`. Needs DATABASE_URL and TEMPORAL_ADDRESS (npm start sets both).
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { bufferedStdout } from './log-destination.js';
import { ConfigError, loadConfig, type KeelConfig } from '../config.js';
import { createDb } from '../db/client.js';
import { applyMigrations } from '../db/migrate.js';
import { isMain } from '../is-main.js';
import { resolveSigningKey } from '../runs/review-signing-key.js';
import { buildApp } from './app.js';
import { repairUnstartedRuns, type RunsDeps } from './runs/runs-service.js';
import { ensureAdminKey } from './auth/admin-bootstrap.js';
import { adminKeyFilePath, writeAdminKeyFile } from './auth/admin-key-file.js';
import { checkTemporal, createProbeConnection } from './routes/health.js';
import { startApiServer, type RunningApiServer } from './server.js';
import { describeTemporalConnection, temporalConnectionOptions } from '../temporal/connection-options.js';
import { keelDataConverter } from '../temporal/payload-encryption-codec.js';

/** Starts the API against existing Postgres and Temporal servers; resolves once it listens. */
export async function runApi(config: KeelConfig, logger: pino.Logger): Promise<RunningApiServer> {
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL', 'must be set for the API process');
  if (!config.temporalAddress) throw new ConfigError('TEMPORAL_ADDRESS', 'must be set for the API process');
  // Checked before anything else happens: a bad TLS setting stops the process naming it.
  const connectionOptions = temporalConnectionOptions(config);

  // As the owner when KEEL_MIGRATION_DATABASE_URL is set: the keel_app role DATABASE_URL names cannot run DDL.
  await applyMigrations(config.migrationDatabaseUrl ?? config.databaseUrl, { appDatabaseUrl: config.databaseUrl });
  const { db, pool, close: closeDb } = createDb(config.databaseUrl, { logger });
  // Lazy: the API starts (and /readyz says 503) while Temporal is still coming up, instead of crash-looping.
  const connection = Connection.lazy(connectionOptions);
  const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter: keelDataConverter(config) });
  const temporal = { client, connection };
  const probe = createProbeConnection(temporal);
  const temporalCheck = await checkTemporal(probe).finally(() => probe.close());
  if (!temporalCheck.ok) {
    logger.warn({ temporal: describeTemporalConnection(connectionOptions), error: temporalCheck.error }, 'Temporal not reachable yet');
  }

  // A generated key goes to a 0600 file in the data directory, never to stdout or the log (collectors keep both).
  const bootstrap = await ensureAdminKey(db, config, {
    deliverGeneratedSecret: async (secret) => void (await writeAdminKeyFile(config.dataDir, secret)),
  });
  if (bootstrap.secret) {
    logger.warn({ file: adminKeyFilePath(config.dataDir) }, 'generated admin API key written to this file (mode 0600): store the key, then delete the file');
  } else if (bootstrap.created) {
    logger.info('admin key installed from KEEL_ADMIN_KEY');
  }

  // The key reviews are signed with (the workers verify them by the same one); generated into the data dir if unset.
  const app = await buildApp({ config: { ...config, signingKey: resolveSigningKey(config) }, db, pool, temporal, logger });
  const server = await startApiServer({
    app,
    host: config.host,
    port: config.port,
    acceptHandles: config.acceptHandles,
    closeAfter: [
      { name: 'temporal', close: () => connection.close() },
      { name: 'postgres', close: closeDb },
    ],
  });
  logger.info({ url: server.url, docs: `${server.url}/docs` }, 'Keel API listening');
  const stopRepairs = repairUnstartedRunsPeriodically({ db, client, taskQueues: config.taskQueues }, logger);
  return {
    ...server,
    close: () => {
      stopRepairs();
      return server.close();
    },
  };
}

/** How often, and past what age, runs a killed API left without their workflow are repaired (see repairUnstartedRuns). */
const UNSTARTED_RUN_REPAIR_MS = 60_000;

function repairUnstartedRunsPeriodically(deps: RunsDeps, logger: pino.Logger): () => void {
  const repair = () =>
    repairUnstartedRuns(deps, { olderThanMs: UNSTARTED_RUN_REPAIR_MS }).then(
      (outcome) => {
        if (Object.keys(outcome).length > 0) logger.warn({ runs: outcome }, 'repaired runs whose workflow a stopped API never started');
      },
      (error: unknown) => logger.warn({ err: error }, 'could not repair unstarted runs; trying again later'),
    );
  // Older than the start deadline by far: a request still under way is never repaired behind its back.
  const timer = setInterval(() => void repair(), UNSTARTED_RUN_REPAIR_MS);
  timer.unref();
  void repair();
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ name: 'keel-api', level: config.logLevel }, bufferedStdout());
  let server: RunningApiServer;
  try {
    server = await runApi(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'API failed to start');
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    // SIGTERM from `npm start`, a terminal's SIGINT and the IPC channel closing may all arrive: close once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => logger.info('API stopped'),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    ).finally(() => {
      // A 'disconnect' listener keeps the IPC channel, and so this process, alive: drop it once closed.
      process.off('disconnect', onDisconnect);
    });
  };
  const onDisconnect = () => shutdown('parent exited');
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Started by `npm start` with an IPC channel: stop when that parent goes away, even if it was killed.
  if (process.send) process.once('disconnect', onDisconnect);
}

if (isMain(import.meta.url)) await main();
