// The per-minute rollups the prediction log writes with its rows give exactly the aggregates of the raw-row SQL
// (window-aggregates.ts, the reference implementation), on awkward rows and on windows that cut minutes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerModelVersion } from '../db/repositories/model-versions.js';
import { getOrCreateModel } from '../db/repositories/models.js';
import { saveMonitoringReference } from '../db/repositories/monitoring-references.js';
import { insertPredictionsUnnest, type PredictionLogRecord } from '../db/repositories/predictions.js';
import { insertRun } from '../db/repositories/runs.js';
import { buildFeatureReference, buildNumericReference } from '../ml/drift/index.js';
import { PredictionLog } from '../serving/prediction-log.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import type { MonitoringReference } from './reference.js';
import { aggregateWindow, type WindowQuery } from './window-aggregates.js';
import { aggregateWindowWithRollups } from './window-from-rollups.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const MINUTE = 60_000;

function referenceFor(): MonitoringReference {
  const training = Array.from({ length: 3000 }, (_, i) => ({
    x: (i % 100) / 10,
    level: i % 4,
    // "0.00000015" is what Postgres' ->> gives for the JSON number 1.5e-7: a live number can hit this category.
    color: ['red', 'blue', 'green', '0.00000015', 'true', 'rare-1', 'rare-2'][i % 7 === 6 ? 5 + (i % 2) : i % 5]!,
  }));
  return {
    snapshotSha256: 'e'.repeat(64),
    rows: training.length,
    features: [
      { name: 'x', reference: buildFeatureReference(Float64Array.from(training.map((row) => row.x))) },
      { name: 'level', reference: buildFeatureReference(Float64Array.from(training.map((row) => row.level))) },
      { name: 'color', reference: buildFeatureReference(training.map((row) => row.color)) },
    ],
    score: buildNumericReference(Float64Array.from(training.map((_, i) => (i % 50) / 50))),
  };
}

/** A model with version 1 registered and, unless told otherwise, its reference stored. */
async function versionWithReference(name: string, reference: MonitoringReference | null): Promise<string> {
  const model = await getOrCreateModel(database.db, { name, task: 'binary', target: 'y', featureSchema: [] });
  const runId = `rollup-${randomUUID()}`;
  await insertRun(database.db, { id: runId, workflowId: `pipeline/${name}/${runId}`, model: name, spec: {}, specHash: 'test' });
  const { version } = await registerModelVersion(database.db, {
    modelId: model.id, runId, artifactUri: 'file:///dev/null', artifactSha256: 'a'.repeat(64),
    trainer: 'gbdt', metrics: {}, params: {}, featureSchema: [], snapshotSha256: 'e'.repeat(64), parentVersion: null, evaluationReportId: null,
  });
  if (reference) await saveMonitoringReference(database.db, { modelVersionId: version.id, modelId: model.id, version: 1, reference });
  return model.id;
}

/** Rows over `minutes` minutes from `start`, including every edge value the SQL treats specially. */
function awkwardRecords(modelId: string, model: string, reference: MonitoringReference, start: number, count: number, minutes: number): PredictionLogRecord[] {
  const x = reference.features[0]!.reference;
  if (x.kind !== 'numeric' || x.min === null || x.max === null) throw new Error('expected a numeric reference');
  const xs: unknown[] = [x.min, x.max, ...x.cuts, x.min - 1e-9, x.max + 1e-9, -0, 1e300, -1e300, null, 'seven', true, undefined, 3.3];
  const levels: unknown[] = [0, 1, 2, 3, 7, 2.5, null, '1', undefined];
  const colors: unknown[] = ['red', 'blue', 'green', 'purple', null, undefined, 1.5e-7, true, 1e21, 42, '', 'rare-1', 'rare-2', 'RED'];
  const scores = [0, 1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.98, 0.02, 0.3333333333333333, -0];
  const latencies = [0, 0.01, 0.0105, 1, 2.5, 10_000, 600_000, 1e9, -1];
  return Array.from({ length: count }, (_, i) => {
    const features: Record<string, unknown> = {};
    if (xs[i % xs.length] !== undefined) features.x = xs[i % xs.length];
    if (levels[i % levels.length] !== undefined) features.level = levels[i % levels.length];
    if (colors[i % colors.length] !== undefined) features.color = colors[i % colors.length];
    return {
      id: randomUUID(), modelId, model, version: 1, sourceJson: null, featuresJson: JSON.stringify(features), outputJson: '{}',
      score: scores[i % scores.length]!, latencyMs: latencies[i % latencies.length]!,
      createdAt: new Date(start + Math.floor((i * minutes * MINUTE) / count)), keyId: null,
    };
  });
}

/** Both paths over the same window: the rollup path's aggregates must equal the raw SQL's. */
async function expectSameAggregates(reference: MonitoringReference, query: WindowQuery) {
  const raw = await aggregateWindow(database.pool, reference, query);
  const { source, ...rolled } = await aggregateWindowWithRollups(database.pool, reference, query);
  expect(rolled).toEqual(raw);
  return { raw, source };
}

describe('aggregateWindowWithRollups', () => {
  it('when rows with edge values are logged through the prediction log, then the rollups give the raw SQL aggregates', async () => {
    const reference = referenceFor();
    const modelId = await versionWithReference('rollup-edges', reference);
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    const records = awkwardRecords(modelId, 'rollup-edges', reference, start, 3000, 6);
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, batchRows: 700 });
    log.append(records);
    await log.close();
    const stored = await database.pool.query<{ n: string; rows: string }>(
      'SELECT count(*) AS n, sum(rows) AS rows FROM prediction_rollups WHERE model_id = $1',
      [modelId],
    );
    expect(Number(stored.rows[0]!.n)).toBe(6);
    expect(Number(stored.rows[0]!.rows)).toBe(3000);

    // Whole minutes: everything from the rollups.
    const aligned = await expectSameAggregates(reference, { modelId, version: 1, windowStart: new Date(start), windowEnd: new Date(start + 6 * MINUTE) });
    expect(aligned.raw.rows).toBe(3000);
    expect(aligned.raw.errorRows).toBeGreaterThan(0);
    expect(aligned.source).toEqual({ rollupRows: 3000, rawRows: 0, rawRanges: 0 });
    const color = aligned.raw.features[2]!.live;
    expect(color.unseen).toBeGreaterThan(0);
    expect(color.missing).toBeGreaterThan(0);
    expect(color.counts[3]).toBeGreaterThan(0); // the JSON number 1.5e-7 read as the category "0.00000015"

    // Windows that cut minutes: the edges come from the raw rows, the rest from the rollups.
    const cut = await expectSameAggregates(reference, {
      modelId, version: 1, windowStart: new Date(start + 17_345), windowEnd: new Date(start + 5 * MINUTE + 1_234),
    });
    expect(cut.source.rollupRows).toBeGreaterThan(0);
    expect(cut.source.rawRows).toBeGreaterThan(0);
    expect(cut.source.rawRanges).toBe(2);
    const inside = await expectSameAggregates(reference, { modelId, version: 1, windowStart: new Date(start + 1_000), windowEnd: new Date(start + 50_000) });
    expect(inside.source.rollupRows).toBe(0);
  });

  it('when some rows have no rollup (logged before the reference, or written by another path), then their minutes are read raw and the totals still match', async () => {
    const reference = referenceFor();
    const modelId = await versionWithReference('rollup-partial', null);
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 20 * MINUTE;
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, batchRows: 500 });
    // Minutes 0–1 are logged while the version has no reference: no rollups.
    log.append(awkwardRecords(modelId, 'rollup-partial', reference, start, 400, 2));
    await log.flush();
    const [{ id: versionId }] = (await database.pool.query<{ id: string }>('SELECT id FROM model_versions WHERE model_id = $1', [modelId])).rows as [{ id: string }];
    await saveMonitoringReference(database.db, { modelVersionId: versionId, modelId, version: 1, reference });
    // A fresh log (a restarted API) finds the reference at once; minutes 2–5 get rollups.
    const restarted = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, batchRows: 500 });
    restarted.append(awkwardRecords(modelId, 'rollup-partial', reference, start + 2 * MINUTE, 800, 4));
    await restarted.close();
    await log.close();
    // Rows written around the log (no rollup) into minute 3, which has a rollup: that minute no longer adds up.
    await insertPredictionsUnnest(database.pool, awkwardRecords(modelId, 'rollup-partial', reference, start + 3 * MINUTE + 5_000, 30, 0));

    const { raw, source } = await expectSameAggregates(reference, { modelId, version: 1, windowStart: new Date(start), windowEnd: new Date(start + 6 * MINUTE) });
    expect(raw.rows).toBe(1230);
    expect(source.rollupRows).toBe(600);
    expect(source.rawRows).toBe(630);
    expect(source.rawRanges).toBe(2);
  });
});
