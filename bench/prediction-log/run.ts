// Prediction log write benchmark: the same logged requests (columnar records, one per request of --request-rows rows)
// written into the partitioned `prediction_records` table by a raw binary COPY of bytes encoded before the clock
// starts (the baseline: what Postgres alone takes), the same with the encoding timed (copyPredictionRecords per
// batch: what the bench's earlier `copy` line measured), and through the PredictionLog buffer (append per request, flush by
// COPY with the version's per-minute monitoring rollups counted and written in the same transaction, and without
// them). For comparison, the same predictions as one row each (the layout before the columnar log) by raw text COPY
// into a scratch table shaped like the old `predictions`. Starts an embedded Postgres unless DATABASE_URL is set.
// Run: npx tsx bench/prediction-log/run.ts [--rows N] [--request-rows N] [--batch-rows N] [--repeat N]
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { registerModelVersion } from '../../db/repositories/model-versions.js';
import { getOrCreateModel } from '../../db/repositories/models.js';
import { saveMonitoringReference } from '../../db/repositories/monitoring-references.js';
import { insertRun } from '../../db/repositories/runs.js';
import { ensurePredictionPartitions } from '../../db/prediction-partitions.js';
import { copyBinaryData, copyPredictionRecords, rowsOfRecord, type PredictionRecord } from '../../db/repositories/predictions.js';
import { buildFeatureReference, buildNumericReference } from '../../ml/drift/index.js';
import type { MonitoringReference } from '../../monitoring/reference.js';
import { PredictionLog } from '../../serving/prediction-log.js';
import { newPredictionBaseId } from '../../db/prediction-ids.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROWS = arg('--rows', 200_000);
const REPEAT = arg('--repeat', 3);
const BATCH = arg('--batch-rows', 10_000);
const REQUEST_ROWS = arg('--request-rows', 1000);

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

const FEATURES = ['a', 'b', 'c', 'd', 'e', 'color', 'flag'];

/** ROWS predictions as records of REQUEST_ROWS rows: 5 numeric features (one always missing), 2 categorical. */
function makeRecords(n: number, modelId: string): PredictionRecord[] {
  const records: PredictionRecord[] = [];
  for (let start = 0; start < n; start += REQUEST_ROWS) {
    const rows = Math.min(REQUEST_ROWS, n - start);
    const at = (f: (i: number) => number) => Float64Array.from({ length: rows }, (_, k) => f(start + k));
    records.push({
      baseId: newPredictionBaseId(),
      firstIndex: 0,
      rowCount: rows,
      modelId,
      model: 'bench',
      version: 1,
      createdAt: new Date(),
      latencyMs: 0.25,
      keyId: null,
      featureNames: FEATURES,
      featureColumns: [
        at((i) => i * 0.5), at((i) => Math.sin(i)), at((i) => i % 7), at(() => Number.NaN), at((i) => -i),
        Array.from({ length: rows }, (_, k) => colors[(start + k) % colors.length]!), at((i) => i % 2),
      ],
      sourcesJson: null,
      scores: at((i) => (i % 100) / 100),
      outputKind: 'binary',
      outputsJson: null,
    });
  }
  return records;
}

/** The old per-row layout (migration 0004's `predictions`), for comparison: partitioned by day, PK, index, FK. */
async function createRowTable(pool: pg.Pool): Promise<void> {
  await pool.query(`CREATE TABLE IF NOT EXISTS bench_prediction_rows (
    id uuid NOT NULL, model_id uuid NOT NULL REFERENCES models(id), model text NOT NULL, version integer NOT NULL,
    source jsonb, features jsonb NOT NULL, output jsonb NOT NULL, score double precision NOT NULL,
    latency_ms double precision NOT NULL, created_at timestamptz NOT NULL, key_id uuid,
    PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)`);
  await pool.query('CREATE INDEX IF NOT EXISTS bench_prediction_rows_model_idx ON bench_prediction_rows (model_id, created_at, id)');
  await pool.query('CREATE TABLE IF NOT EXISTS bench_prediction_rows_default PARTITION OF bench_prediction_rows DEFAULT');
}

/** The records' rows as the old per-row COPY text (tabs and backslashes escaped), built before timing. */
function rowCopyText(records: readonly PredictionRecord[]): string[] {
  const escape = (text: string) => text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
  return records.map((record) =>
    rowsOfRecord(record)
      .map((row) => [row.id, row.modelId, row.model, row.version, '\\N', escape(row.featuresJson), escape(row.outputJson), row.score,
        row.latencyMs, row.createdAt.toISOString(), '\\N'].join('\t') + '\n')
      .join(''),
  );
}

async function timeIt(pool: pg.Pool, work: () => Promise<void>): Promise<number> {
  await pool.query('TRUNCATE prediction_records, prediction_rollups, bench_prediction_rows');
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function copyInBatches(pool: pg.Pool, sql: string, chunks: readonly (Buffer | string)[], perBatch: number, header?: Buffer, trailer?: Buffer) {
  const client = await pool.connect();
  try {
    for (let start = 0; start < chunks.length; start += perBatch) {
      const parts = [...(header ? [header] : []), ...chunks.slice(start, start + perBatch), ...(trailer ? [trailer] : [])];
      await pipeline(Readable.from(parts), client.query(copyFrom(sql)));
    }
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
    await createRowTable(pool);
    const records = makeRecords(ROWS, model.id);
    // The baseline's bytes: each record's COPY BINARY tuple, without the stream's header and trailer.
    const header = copyBinaryData([]).subarray(0, 19);
    const trailer = Buffer.from([0xff, 0xff]);
    const tuples = records.map((record) => copyBinaryData([record]).subarray(19, -2));
    const rowText = rowCopyText(records);
    const perBatch = Math.max(1, Math.round(BATCH / REQUEST_ROWS));
    const results: Record<string, number[]> = {
      'raw COPY (binary) of the same records': [],
      'raw COPY (binary), encoding timed too': [],
      'PredictionLog (COPY + rollups)': [],
      'PredictionLog (COPY, no rollups)': [],
      'old layout: raw COPY (text), one row per prediction': [],
    };
    const recordColumns = 'base_id, first_index, row_count, model_id, model, version, created_at, latency_ms, key_id, num_names, num_values, cat_names, cat_values, sources, scores, output_kind, outputs';
    for (let round = 0; round < REPEAT; round += 1) {
      results['raw COPY (binary) of the same records']!.push(
        await timeIt(pool, () => copyInBatches(pool, `COPY prediction_records (${recordColumns}) FROM STDIN (FORMAT binary)`, tuples, perBatch, header, trailer)),
      );
      results['raw COPY (binary), encoding timed too']!.push(
        await timeIt(pool, async () => {
          const client = await pool.connect();
          try {
            for (let start = 0; start < records.length; start += perBatch) await copyPredictionRecords(client, records.slice(start, start + perBatch));
          } finally {
            client.release();
          }
        }),
      );
      for (const [name, writeBatch] of [['PredictionLog (COPY + rollups)', undefined], ['PredictionLog (COPY, no rollups)', copyPredictionRecords]] as const) {
        results[name]!.push(
          await timeIt(pool, async () => {
            // A custom writeBatch writes the records only: no rollups.
            const log = new PredictionLog({ pool, bufferRows: ROWS, flushIntervalMs: 200, batchRows: BATCH, writeBatch });
            for (const record of records) log.appendRecords([record]);
            await log.close();
          }),
        );
      }
      results['old layout: raw COPY (text), one row per prediction']!.push(
        await timeIt(pool, () => copyInBatches(pool, 'COPY bench_prediction_rows (id, model_id, model, version, source, features, output, score, latency_ms, created_at, key_id) FROM STDIN', rowText, perBatch)),
      );
      if (round === 0) {
        // The rollups count every row the log wrote, and the view shows them all.
        await timeIt(pool, async () => {
          const log = new PredictionLog({ pool, bufferRows: ROWS, flushIntervalMs: 200, batchRows: BATCH });
          log.appendRecords(records);
          await log.close();
        });
        const rolled = await pool.query<{ rows: string }>('SELECT coalesce(sum(rows), 0) AS rows FROM prediction_rollups');
        if (Number(rolled.rows[0]!.rows) !== ROWS) throw new Error(`rollups count ${rolled.rows[0]!.rows} rows, the log wrote ${ROWS}`);
        const viewed = await pool.query<{ n: string }>('SELECT count(*) AS n FROM predictions');
        if (Number(viewed.rows[0]!.n) !== ROWS) throw new Error(`the view shows ${viewed.rows[0]!.n} predictions, the log wrote ${ROWS}`);
      }
    }
    const copyBest = Math.min(...results['raw COPY (binary) of the same records']!);
    console.log(`${ROWS} predictions in requests of ${REQUEST_ROWS} rows, COPY batches of ${BATCH} rows, best of ${REPEAT} (ms per run in brackets)`);
    console.log('| writer | predictions/s | × raw COPY | runs (ms) |');
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
