// Prediction log write benchmark: raw COPY vs unnest INSERT of the same rows (batches of 1,000), and the
// PredictionLog buffer (append + flush by COPY) beside them. Starts an embedded Postgres unless DATABASE_URL is set.
// Run: npx tsx bench/prediction-log/run.ts [--rows N] [--repeat N]
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { getOrCreateModel } from '../../db/repositories/models.js';
import { ensurePredictionPartitions } from '../../db/prediction-partitions.js';
import { copyPredictions, insertPredictionsUnnest, type PredictionLogRecord } from '../../db/repositories/predictions.js';
import { PredictionLog } from '../../serving/prediction-log.js';
import { toPredictionLogRecord } from '../../serving/prediction-log-record.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROWS = arg('--rows', 200_000);
const REPEAT = arg('--repeat', 3);
const BATCH = 1000;

function makeRecords(n: number, modelId: string): PredictionLogRecord[] {
  const colors = ['red', 'blue', 'green', "o'range", 'tab\there'];
  return Array.from({ length: n }, (_, i) =>
    toPredictionLogRecord({
      id: randomUUID(),
      modelId,
      model: 'bench',
      version: 1,
      features: { a: i * 0.5, b: Math.sin(i), c: i % 7, d: null, e: -i, color: colors[i % colors.length], flag: i % 2 },
      output: { label: i % 2, probability: (i % 100) / 100 },
      score: (i % 100) / 100,
      latencyMs: 0.25,
      createdAt: new Date(),
      keyId: null,
    }),
  );
}

async function timeIt(pool: pg.Pool, work: () => Promise<void>): Promise<number> {
  await pool.query('TRUNCATE predictions');
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function inBatches(pool: pg.Pool, records: PredictionLogRecord[], write: (c: pg.PoolClient, r: PredictionLogRecord[]) => Promise<void>) {
  const client = await pool.connect();
  try {
    for (let start = 0; start < records.length; start += BATCH) await write(client, records.slice(start, start + BATCH));
  } finally {
    client.release();
  }
}

async function main(): Promise<void> {
  let postgres: RunningPostgres | undefined;
  let scratch: string | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    scratch = await mkdtemp(join(tmpdir(), 'keel-bench-predlog-'));
    // Embedded Postgres runs as the postgres user when we are root: it must be able to reach its data dir.
    await chmod(scratch, 0o755);
    postgres = await startEmbeddedPostgres({ dataDir: join(scratch, 'pg'), port: await freePort(), persistent: false });
    url = await postgres.createDatabase('bench_prediction_log');
  }
  try {
    await applyMigrations(url);
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    await ensurePredictionPartitions(pool, new Date(), 1);
    const { db, close: closeDb } = createDb(url, { max: 1, logger: { error: (fields, message) => console.error(message, fields) } });
    // predictions.model_id references models.
    const model = await getOrCreateModel(db, { name: 'bench', task: 'binary', target: 'y', featureSchema: [] });
    await closeDb();
    const records = makeRecords(ROWS, model.id);
    const results: Record<string, number[]> = { copy: [], unnest: [], 'PredictionLog (COPY)': [] };
    for (let round = 0; round < REPEAT; round += 1) {
      results.copy!.push(await timeIt(pool, () => inBatches(pool, records, copyPredictions)));
      results.unnest!.push(await timeIt(pool, () => inBatches(pool, records, insertPredictionsUnnest)));
      results['PredictionLog (COPY)']!.push(
        await timeIt(pool, async () => {
          const log = new PredictionLog({ pool, bufferRows: ROWS, flushIntervalMs: 200, batchRows: BATCH });
          for (let start = 0; start < records.length; start += 10) log.append(records.slice(start, start + 10));
          await log.close();
        }),
      );
    }
    const copyBest = Math.min(...results.copy!);
    console.log(`${ROWS} rows, batches of ${BATCH}, best of ${REPEAT} (ms per run in brackets)`);
    console.log('| writer | rows/s | × raw COPY | runs (ms) |');
    console.log('|---|---:|---:|---|');
    for (const [name, runs] of Object.entries(results)) {
      const best = Math.min(...runs);
      console.log(`| ${name} | ${Math.round((ROWS / best) * 1000)} | ${(copyBest / best).toFixed(2)} | ${runs.map((ms) => ms.toFixed(0)).join(', ')} |`);
    }
    await pool.end();
  } finally {
    await postgres?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

await main();
