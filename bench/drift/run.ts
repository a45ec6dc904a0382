// Monitoring report benchmark: computeMonitoringReport (the window from per-minute rollups + raw edge minutes,
// feedback, then the drift statistics and the verdict) over N logged predictions × 5 features, beside the cost of one
// bare scan of the same window (`SELECT count(*), avg(score)`) and the raw-row window SQL (the reference
// implementation). The rows are written as the prediction log writes them: COPY plus the batch's rollups in one
// transaction, one columnar record per request of --request-rows rows (1: every prediction its own record, as
// single-row predicts log; 1000: batch requests). Starts an embedded Postgres unless DATABASE_URL is set.
// Run: npx tsx bench/drift/run.ts [--rows 1000000] [--repeat 5] [--labelled 0.1] [--request-rows 1]
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { freePort } from '../../dev/temporal-dev-server.js';
import { createDb } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';
import { ensurePredictionPartitions } from '../../db/prediction-partitions.js';
import { writeFeedback } from '../../db/repositories/feedback.js';
import { moveAlias, PRODUCTION_ALIAS } from '../../db/repositories/model-aliases.js';
import { registerModelVersion, setModelVersionStatus } from '../../db/repositories/model-versions.js';
import { insertRun } from '../../db/repositories/runs.js';
import { getOrCreateModel } from '../../db/repositories/models.js';
import { saveMonitoringReference } from '../../db/repositories/monitoring-references.js';
import { copyPredictionsWithRollups, countPredictionsPerMinute, listPredictionRollups } from '../../db/repositories/prediction-rollups.js';
import type { PredictionRecord } from '../../db/repositories/predictions.js';
import { buildFeatureReference, buildNumericReference } from '../../ml/drift/index.js';
import { computeMonitoringReport } from '../../monitoring/compute-report.js';
import { PredictionRollupLayouts } from '../../monitoring/prediction-rollup-writer.js';
import { rollupLayout } from '../../monitoring/prediction-rollup.js';
import { aggregateFeedback, aggregateWindow } from '../../monitoring/window-aggregates.js';
import { aggregateWindowWithRollups } from '../../monitoring/window-from-rollups.js';
import { newPredictionBaseId, predictionIdAt } from '../../db/prediction-ids.js';
import type { MonitoringReference } from '../../monitoring/reference.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROWS = arg('--rows', 1_000_000);
const REPEAT = arg('--repeat', 5);
const LABELLED = arg('--labelled', 0.1);
const REQUEST_ROWS = arg('--request-rows', 1);
const COPY_BATCH = 10_000;
const COLORS = ['red', 'blue', 'green', 'amber', 'violet'];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One row of the 5 features: 3 many-valued numbers, a 0/1 flag, a category; `shift` drifts x. */
function featureRow(random: () => number, shift: number) {
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return {
    x: normal + shift,
    amount: Math.round(random() * random() * 10_000) / 100,
    age: 18 + Math.floor(random() * 60),
    flag: random() < 0.05 ? 1 : 0,
    color: COLORS[Math.min(Math.floor(random() ** 2 * COLORS.length), COLORS.length - 1)]!,
  };
}
type FeatureRow = ReturnType<typeof featureRow>;
const scoreOf = (row: FeatureRow) => 1 / (1 + Math.exp(-(row.x + row.flag - 0.5)));

function referenceOf(rows: FeatureRow[]): MonitoringReference {
  const column = <K extends keyof FeatureRow>(key: K) => rows.map((row) => row[key]);
  return {
    snapshotSha256: 'b'.repeat(64),
    rows: rows.length,
    features: [
      { name: 'x', reference: buildFeatureReference(Float64Array.from(column('x'))) },
      { name: 'amount', reference: buildFeatureReference(Float64Array.from(column('amount'))) },
      { name: 'age', reference: buildFeatureReference(Float64Array.from(column('age'))) },
      { name: 'flag', reference: buildFeatureReference(Float64Array.from(column('flag'))) },
      { name: 'color', reference: buildFeatureReference(column('color')) },
    ],
    score: buildNumericReference(Float64Array.from(rows.map(scoreOf))),
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  let postgres: RunningPostgres | undefined;
  let scratch: string | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    scratch = await mkdtemp(join(tmpdir(), 'keel-bench-drift-'));
    // Embedded Postgres runs as the postgres user when we are root: it must be able to reach its data dir.
    await chmod(scratch, 0o755);
    postgres = await startEmbeddedPostgres({ dataDir: join(scratch, 'pg'), port: await freePort(), persistent: false });
    url = await postgres.createDatabase('bench_drift');
  }
  // One pool (with the idle-error handler createDb installs) for the repositories and the raw SQL.
  const { db, pool, close: closeDb } = createDb(url, { max: 4, logger: { error: (_fields, message) => console.error(message) } });
  try {
    await applyMigrations(url);
    const windowEnd = new Date();
    const windowStart = new Date(windowEnd.getTime() - 60 * 60 * 1000);
    await ensurePredictionPartitions(pool, windowStart, 1);

    // A production version with a reference built from 20,000 "training" rows.
    const random = mulberry32(42);
    const model = await getOrCreateModel(db, { name: 'bench-drift', task: 'binary', target: 'y', featureSchema: [] });
    // A version belongs to a run: give the made-up run its row, as POST /v1/runs would.
    const runId = `bench-drift-${randomUUID()}`;
    await insertRun(db, { id: runId, workflowId: `pipeline/bench-drift/${runId}`, model: 'bench-drift', spec: {}, specHash: 'bench' });
    const { version } = await registerModelVersion(db, {
      modelId: model.id, runId, artifactUri: 'file:///dev/null', artifactSha256: 'a'.repeat(64),
      trainer: 'gbdt', metrics: { auc: 0.8 }, params: {}, featureSchema: [], snapshotSha256: 'b'.repeat(64), parentVersion: null, evaluationReportId: null,
    });
    await setModelVersionStatus(db, model.id, version.version, 'approved');
    await db.transaction((tx) =>
      moveAlias(tx, { modelId: model.id, alias: PRODUCTION_ALIAS, toVersion: version.version, action: 'deploy', actor: 'bench', reason: null, runId: version.runId }),
    );
    const training = Array.from({ length: 20_000 }, () => featureRow(random, 0));
    await saveMonitoringReference(db, { modelVersionId: version.id, modelId: model.id, version: version.version, reference: referenceOf(training) });

    // N predictions spread over the window (x drifted by half a standard deviation), written as the prediction log
    // writes a batch (rollups counted in JS, COPY + rollup upsert in one transaction); a share labelled.
    const layouts = new PredictionRollupLayouts(pool);
    let rollupMs = 0;
    const load = await timed(async () => {
      for (let start = 0; start < ROWS; start += COPY_BATCH) {
        const records: PredictionRecord[] = [];
        const labels: { predictionId: string; label: number }[] = [];
        const end = Math.min(start + COPY_BATCH, ROWS);
        for (let first = start; first < end; first += REQUEST_ROWS) {
          const rows = Array.from({ length: Math.min(REQUEST_ROWS, end - first) }, () => featureRow(random, 0.5));
          const scores = Float64Array.from(rows, scoreOf);
          const baseId = newPredictionBaseId();
          const numeric = (key: 'x' | 'amount' | 'age' | 'flag') => Float64Array.from(rows, (row) => row[key]);
          records.push({
            baseId, firstIndex: 0, rowCount: rows.length, modelId: model.id, model: 'bench-drift', version: version.version,
            createdAt: new Date(windowStart.getTime() + Math.floor((first * 3_600_000) / ROWS)), latencyMs: 0.2 + random() * 3, keyId: null,
            featureNames: ['x', 'amount', 'age', 'flag', 'color'],
            featureColumns: [numeric('x'), numeric('amount'), numeric('age'), numeric('flag'), rows.map((row) => row.color)],
            sourcesJson: null, scores, outputKind: 'binary', outputsJson: null,
          });
          scores.forEach((score, i) => {
            if (random() < LABELLED) labels.push({ predictionId: predictionIdAt(baseId, i), label: random() < score ? 1 : 0 });
          });
        }
        const counted = await timed(() => layouts.rollupsOf(records));
        rollupMs += counted.ms;
        const client = await pool.connect();
        try {
          await copyPredictionsWithRollups(client, records, counted.value);
        } finally {
          client.release();
        }
        if (labels.length > 0) await writeFeedback(db, model.id, labels, false);
      }
      await pool.query('VACUUM ANALYZE prediction_records');
      await pool.query('VACUUM ANALYZE feedback');
    });

    const query = { modelId: model.id, version: version.version, windowStart, windowEnd };
    const reference = referenceOf(training);
    // One bare pass over every prediction of the window: each record's scores unnested.
    const baselineSql = `SELECT count(*), avg(s) FROM prediction_records r CROSS JOIN LATERAL unnest(r.scores) AS s
      WHERE model_id = $1 AND version = $2 AND created_at >= $3 AND created_at < $4`;
    const measures: Record<string, number[]> = { baseline: [], windowSql: [], windowRollups: [], minuteCounts: [], rollupRead: [], feedbackSql: [], report: [] };
    // The parts of the rollup window: the log's rows per whole minute (the completeness check) and the rollups' read.
    const wholeMinutes = {
      modelId: model.id, version: version.version,
      from: new Date(Math.ceil(windowStart.getTime() / 60_000) * 60_000), to: new Date(Math.floor(windowEnd.getTime() / 60_000) * 60_000),
    };
    const layoutSha = rollupLayout(referenceOf(training)).sha;
    let lastReport: Awaited<ReturnType<typeof computeMonitoringReport>> | undefined;
    // Round 0 warms the cache and is not counted; each round measures all four in turn on the same warm data.
    for (let round = 0; round <= REPEAT; round++) {
      const baseline = await timed(() => pool.query(baselineSql, [model.id, version.version, windowStart, windowEnd]));
      // The raw-row SQL is the slow reference: timed in round 0 (to check against) and the first measured round only.
      const window = round <= 1 ? await timed(() => aggregateWindow(pool, reference, query)) : undefined;
      const rolled = await timed(() => aggregateWindowWithRollups(pool, reference, query));
      const minuteCounts = await timed(() => countPredictionsPerMinute(pool, wholeMinutes));
      const rollupRead = await timed(() => listPredictionRollups(pool, wholeMinutes, layoutSha));
      const feedback = await timed(() => aggregateFeedback(pool, 'binary', query));
      // A fresh window end each round, so each call computes and stores its own report.
      const end = new Date(windowEnd.getTime() - round);
      const report = await timed(() =>
        computeMonitoringReport({ db, pool }, { model: 'bench-drift', windowStart: windowStart.toISOString(), windowEnd: end.toISOString(), lastRetrainAt: null }),
      );
      if (round === 0) {
        if (Number(baseline.value.rows[0]!.count) !== ROWS || window!.value.rows !== ROWS) throw new Error('the window does not hold every row');
        const { source, ...fromRollups } = rolled.value;
        if (!isDeepStrictEqual(fromRollups, window!.value)) throw new Error('the rollups do not give the raw SQL aggregates');
        console.log(`rollup window = raw SQL window (checked); ${source.rollupRows} rows from rollups, ${source.rawRows} raw rows in ${source.rawRanges} edge ranges`);
        continue;
      }
      measures.baseline!.push(baseline.ms);
      if (window) measures.windowSql!.push(window.ms);
      measures.windowRollups!.push(rolled.ms);
      measures.minuteCounts!.push(minuteCounts.ms);
      measures.rollupRead!.push(rollupRead.ms);
      measures.feedbackSql!.push(feedback.ms);
      measures.report!.push(report.ms);
      lastReport = report.value;
    }
    const labelled = (await pool.query<{ n: string }>('SELECT count(*) AS n FROM feedback')).rows[0]!.n;
    const base = median(measures.baseline!);
    console.log(`${ROWS} predictions × 5 features in records of ${REQUEST_ROWS} rows, ${labelled} labelled; loaded with COPY + rollups in ${(load.ms / 1000).toFixed(1)} s (counting the rollups in JS: ${(rollupMs / 1000).toFixed(1)} s); median of ${REPEAT} warm runs; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} cores`);
    console.log('| measure | median ms | × one scan | runs (ms) |');
    console.log('|---|---:|---:|---|');
    const rows: [string, string][] = [
      ['baseline: SELECT count(*), avg(score) over the window (records’ scores unnested)', 'baseline'],
      ['window SQL over the raw rows (reference implementation; first measured round only)', 'windowSql'],
      ['window from rollups (whole minutes) + raw SQL (edge minutes)', 'windowRollups'],
      ['… of which: the log’s rows per whole minute (completeness check)', 'minuteCounts'],
      ['… of which: reading the window’s rollups', 'rollupRead'],
      ['feedback SQL (labels joined, per score bin)', 'feedbackSql'],
      ['computeMonitoringReport (rollup window and feedback SQL in parallel + statistics + verdict + store)', 'report'],
    ];
    for (const [label, key] of rows) {
      const runs = measures[key]!;
      console.log(`| ${label} | ${median(runs).toFixed(0)} | ${(median(runs) / base).toFixed(2)} | ${runs.map((ms) => ms.toFixed(0)).join(', ')} |`);
    }
    console.log(`verdict: ${lastReport?.verdict} — ${lastReport?.summary}`);
  } finally {
    await closeDb();
    await postgres?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

await main();
