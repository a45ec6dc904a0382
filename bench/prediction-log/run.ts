// Prediction log write benchmark: raw COPY vs unnest INSERT of the same rows (batches of 1,000), and the
// PredictionLog buffer (append + flush by COPY, with the version's per-minute monitoring rollups counted and written
// in the same transaction, and without them) beside them. Starts an embedded Postgres unless DATABASE_URL is set.
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
import { registerModelVersion } from '../../db/repositories/model-versions.js';
import { getOrCreateModel } from '../../db/repositories/models.js';
import { saveMonitoringReference } from '../../db/repositories/monitoring-references.js';
import { insertRun } from '../../db/repositories/runs.js';
import { ensurePredictionPartitions } from '../../db/prediction-partitions.js';
import { copyPredictions, insertPredictionsUnnest, type PredictionLogRecord } from '../../db/repositories/predictions.js';
import { buildFeatureReference, buildNumericReference } from '../../ml/drift/index.js';
import type { MonitoringReference } from '../../monitoring/reference.js';
import { PredictionLog } from '../../serving/prediction-log.js';
import { toPredictionLogRecord } from '../../serving/prediction-log-record.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROWS = arg('--rows', 200_000);
const REPEAT = arg('--repeat', 3);
const BATCH = 1000;

const colors = ['red', 'blue', 'green', "o'range", 'tab\there'];

/** A drift reference over 5 of the logged features (a, b, c, color, flag) and the score, as registration stores it. */
function referenceOf(n: number): MonitoringReference {
  const rows = Array.from({ length: n }, (_, i) => i * 7);
  return {
    snapshotSha256: 'b'.repeat(64),
    rows: n,
    features: [
      { name: 'a', reference: buildFeatureReference(Float64Array.from(rows, (i) => i * 0.5)) },
      { name: 'b', reference: buildFeatureReference(Float64Array.from(rows, (i) => Math.sin(i))) },
      { name: 'c', reference: buildFeatureReference(Float64Array.from(rows, (i) => i % 7)) },
      { name: 'color', reference: buildFeatureReference(rows.map((i) => colors[i % 3]!)) },
      { name: 'flag', reference: buildFeatureReference(Float64Array.from(rows, (i) => i % 2)) },
    ],
    score: buildNumericReference(Float64Array.from(rows, (i) => (i % 100) / 100)),
  };
}

function makeRecords(n: number, modelId: string): PredictionLogRecord[] {
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
  await pool.query('TRUNCATE predictions, prediction_rollups');
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
    // Version 1 with a stored reference, so the PredictionLog counts rollups for its rows.
    const runId = `bench-prediction-log-${randomUUID()}`;
    await insertRun(db, { id: runId, workflowId: `pipeline/bench/${runId}`, model: 'bench', spec: {}, specHash: 'bench' });
    const { version } = await registerModelVersion(db, {
      modelId: model.id, runId, artifactUri: 'file:///dev/null', artifactSha256: 'a'.repeat(64),
      trainer: 'gbdt', metrics: {}, params: {}, featureSchema: [], snapshotSha256: 'b'.repeat(64), parentVersion: null, evaluationReportId: null,
    });
    await saveMonitoringReference(db, { modelVersionId: version.id, modelId: model.id, version: version.version, reference: referenceOf(20_000) });
    await closeDb();
    const records = makeRecords(ROWS, model.id);
    const results: Record<string, number[]> = { copy: [], unnest: [], 'PredictionLog (COPY + rollups)': [], 'PredictionLog (COPY, no rollups)': [] };
    for (let round = 0; round < REPEAT; round += 1) {
      results.copy!.push(await timeIt(pool, () => inBatches(pool, records, copyPredictions)));
      results.unnest!.push(await timeIt(pool, () => inBatches(pool, records, insertPredictionsUnnest)));
      for (const [name, writeBatch] of [['PredictionLog (COPY + rollups)', undefined], ['PredictionLog (COPY, no rollups)', copyPredictions]] as const) {
        results[name]!.push(
          await timeIt(pool, async () => {
            // A custom writeBatch writes the rows only: the log as it was before rollups.
            const log = new PredictionLog({ pool, bufferRows: ROWS, flushIntervalMs: 200, batchRows: BATCH, writeBatch });
            for (let start = 0; start < records.length; start += 10) log.append(records.slice(start, start + 10));
            await log.close();
          }),
        );
      }
      if (round === 0) {
        // The rollups count every row the log wrote (the last run wrote none; count the first's again).
        await timeIt(pool, async () => {
          const log = new PredictionLog({ pool, bufferRows: ROWS, flushIntervalMs: 200, batchRows: BATCH });
          log.append(records);
          await log.close();
        });
        const rolled = await pool.query<{ rows: string }>('SELECT coalesce(sum(rows), 0) AS rows FROM prediction_rollups');
        if (Number(rolled.rows[0]!.rows) !== ROWS) throw new Error(`rollups count ${rolled.rows[0]!.rows} rows, the log wrote ${ROWS}`);
      }
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
