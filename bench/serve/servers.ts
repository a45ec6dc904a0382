// bench/serve's server process (forked by run.ts): Keel's real API and the bare echo app on loopback ports, plus the
// bare `session.run` loop on request. Kept apart from the load generator so the two do not share an event loop.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import pino from 'pino';
import { addAcceptHandles } from '../../api/accept-handles.js';
import { buildApp } from '../../api/app.js';
import { bufferedStdout } from '../../api/log-destination.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { loadConfig } from '../../config.js';
import { createDb } from '../../db/client.js';
import { MISSING_CATEGORY, readOnnxMetadata } from '../../ml/onnx/index.js';
import { createServingDeps } from '../../serving/serving-deps.js';
import { buildEchoApp } from './echo-app.js';
import type { FeatureRow } from './bench-model.js';

export interface ServersInput {
  databaseUrl: string;
  dataDir: string;
  modelName: string;
}
export type ToServers =
  | { type: 'session-loop'; onnx: number[]; rows: FeatureRow[]; durationMs: number }
  | { type: 'cpu' }
  /** The event-loop delay histogram since the last such message (or the start), then reset. */
  | { type: 'loop-delay' }
  | { type: 'stop' }
  /** bench/load: the process's memory, after a full GC when `gc` is set (needs --expose-gc). */
  | { type: 'memory'; gc?: boolean };
export type FromServers =
  | { type: 'ready'; keelUrl: string; keelNoLogUrl: string; keelNoBatchUrl: string; echoUrl: string }
  | { type: 'session-loop'; rows: number; seconds: number; cpuMs: number }
  | { type: 'cpu'; cpuMs: number }
  /** Event-loop delay in ms, sampled every 1 ms; and the garbage collections' pauses over the same window. */
  | { type: 'loop-delay'; p50: number; p99: number; max: number; gcCount: number; gcTotalMs: number; gcMaxMs: number }
  | ({ type: 'memory' } & NodeJS.MemoryUsage);

/** CPU time of this process so far (all threads: main, libuv pool, onnxruntime, DuckDB). */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Rows/s of onnxruntime alone: one session (one intra-op thread, as serving uses), tensors built once, run in a loop. */
async function sessionLoop(onnx: Uint8Array, rows: FeatureRow[], durationMs: number): Promise<{ rows: number; seconds: number; cpuMs: number }> {
  const metadata = readOnnxMetadata(onnx);
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const feature of metadata.features) {
    feeds[feature.input] =
      feature.kind === 'numeric'
        ? new ort.Tensor('float64', Float64Array.from(rows, (row) => (row[feature.name] as number | null) ?? Number.NaN), [rows.length, 1])
        : new ort.Tensor('string', rows.map((row) => (row[feature.name] as string | null) ?? MISSING_CATEGORY), [rows.length, 1]);
  }
  for (let i = 0; i < 20; i++) await session.run(feeds);
  const started = performance.now();
  const cpuBefore = cpuMs();
  let runs = 0;
  while (performance.now() - started < durationMs) {
    await session.run(feeds);
    runs++;
  }
  const seconds = (performance.now() - started) / 1000;
  const used = cpuMs() - cpuBefore;
  await session.release();
  return { rows: runs * rows.length, seconds, cpuMs: used };
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]!) as ServersInput;
  // The overload threshold passes through (bench/load predict --server-env KEEL_MAX_EVENT_LOOP_DELAY_MS=…).
  // So do the accepting handles (--server-env KEEL_ACCEPT_HANDLES=…).
  const { KEEL_MAX_EVENT_LOOP_DELAY_MS, KEEL_ACCEPT_HANDLES } = process.env;
  const config = loadConfig({
    DATABASE_URL: input.databaseUrl,
    KEEL_DATA_DIR: input.dataDir,
    LOG_LEVEL: 'info',
    KEEL_MAX_EVENT_LOOP_DELAY_MS,
    KEEL_ACCEPT_HANDLES,
  });
  const database = createDb(input.databaseUrl, { logger: pino({ name: 'keel-bench', level: 'warn' }) });
  // As api/main.ts does: pino at info to buffered stdout (which run.ts discards), so request logging costs what it costs.
  const keel = await buildApp({ config, db: database.db, pool: database.pool, logger: pino({ name: 'keel-api', level: config.logLevel }, bufferedStdout()) });
  // The same app with its own serving options: what one setting costs, beside the real app.
  const keelWith = async (options: Pick<Parameters<typeof createServingDeps>[0], 'predictionLog' | 'scoreBatchRows'>) => {
    const logger = pino({ name: 'keel-api', level: config.logLevel }, bufferedStdout());
    const serving = await createServingDeps({ db: database.db, pool: database.pool, artifacts: new FsArtifactStore(config.artifactDir), logger, ...options });
    return { app: await buildApp({ config, db: database.db, pool: database.pool, serving, logger }), serving };
  };
  // A prediction log that keeps every row in its buffer but discards the batches instead of writing them: what
  // serving costs apart from Postgres (which bounds a lossless log's sustained rate).
  const { app: keelNoLog, serving: noLogServing } = await keelWith({ predictionLog: { writeBatch: async () => undefined } });
  // Dynamic batching off (KEEL_SCORE_BATCH_ROWS=1: each request its own session.run), log to Postgres.
  const { app: keelNoBatch, serving: noBatchServing } = await keelWith({ scoreBatchRows: 1 });
  const echo = buildEchoApp(input.modelName);
  const keelUrl = await keel.listen({ host: '127.0.0.1', port: 0 });
  // As api/server.ts does for the API (KEEL_ACCEPT_HANDLES, default 16).
  const keelAcceptHandles = await addAcceptHandles(keel.server, config.acceptHandles);
  const keelNoLogUrl = await keelNoLog.listen({ host: '127.0.0.1', port: 0 });
  const keelNoBatchUrl = await keelNoBatch.listen({ host: '127.0.0.1', port: 0 });
  const echoUrl = await echo.listen({ host: '127.0.0.1', port: 0 });
  // The baseline accepts as Keel's route does, so 1,000-connection runs compare the routes, not the accept rate.
  const echoAcceptHandles = await addAcceptHandles(echo.server, config.acceptHandles);
  const send = (message: FromServers) => process.send!(message);
  // How long ready work waited for the event loop: the server's own share of a tail latency.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let gc = { count: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (message: ToServers) => {
    if (message.type === 'session-loop') {
      void sessionLoop(Uint8Array.from(message.onnx), message.rows, message.durationMs).then((result) =>
        send({ type: 'session-loop', ...result }),
      );
    } else if (message.type === 'cpu') {
      send({ type: 'cpu', cpuMs: cpuMs() });
    } else if (message.type === 'loop-delay') {
      const ms = (ns: number) => Math.round(ns / 10_000) / 100;
      const round = (value: number) => Math.round(value * 100) / 100;
      send({
        type: 'loop-delay',
        p50: ms(loopDelay.percentile(50)),
        p99: ms(loopDelay.percentile(99)),
        max: ms(loopDelay.max),
        gcCount: gc.count,
        gcTotalMs: round(gc.totalMs),
        gcMaxMs: round(gc.maxMs),
      });
      loopDelay.reset();
      gc = { count: 0, totalMs: 0, maxMs: 0 };
    } else if (message.type === 'memory') {
      if (message.gc) (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'memory', ...process.memoryUsage() });
    } else if (message.type === 'stop') {
      // A normal exit, so --cpu-prof writes its profile.
      void Promise.all([keelAcceptHandles.close(), echoAcceptHandles.close(), keel.close(), keelNoLog.close(), keelNoBatch.close(), echo.close()])
        .then(() => Promise.all([noLogServing.close(), noBatchServing.close()]))
        .then(() => database.close())
        .finally(() => process.disconnect());
    }
  });
  process.once('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
  send({ type: 'ready', keelUrl, keelNoLogUrl, keelNoBatchUrl, echoUrl });
}

await main();
