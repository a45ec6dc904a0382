// The window's one-pass SQL (Postgres) counts exactly what the JS counters of ml/drift count on the same rows,
// including the awkward ones: nulls, strings where numbers belong, unseen categories, values out of range.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOrCreateModel } from '../db/repositories/models.js';
import { insertPredictionsUnnest, type PredictionLogRecord } from '../db/repositories/predictions.js';
import { buildFeatureReference, buildNumericReference, countLive } from '../ml/drift/index.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import type { MonitoringReference } from './reference.js';
import { aggregateFeedback, aggregateWindow } from './window-aggregates.js';
import { writeFeedback } from '../db/repositories/feedback.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

describe('aggregateWindow', () => {
  it('when rows hold nulls, strings, unseen categories and out-of-range values, then the SQL counts equal the JS counts', async () => {
    const training = Array.from({ length: 2000 }, (_, i) => ({ x: Math.sin(i) * 10, flag: i % 20 === 0 ? 1 : 0, color: ['red', 'blue', 'green'][i % 3]! }));
    const reference: MonitoringReference = {
      snapshotSha256: 'c'.repeat(64),
      rows: training.length,
      features: [
        { name: 'x', reference: buildFeatureReference(Float64Array.from(training.map((row) => row.x))) },
        { name: 'flag', reference: buildFeatureReference(Float64Array.from(training.map((row) => row.flag))) },
        { name: 'color', reference: buildFeatureReference(training.map((row) => row.color)) },
      ],
      score: buildNumericReference(Float64Array.from(training.map((_, i) => (i % 100) / 100))),
    };
    const model = await getOrCreateModel(database.db, { name: 'window-sql', task: 'binary', target: 'y', featureSchema: [] });
    const start = new Date(Date.now() - 60_000);
    const live = Array.from({ length: 500 }, (_, i) => ({
      x: i % 17 === 0 ? null : i % 23 === 0 ? 'seven' : i % 31 === 0 ? 99 : Math.cos(i) * 12,
      flag: i % 13 === 0 ? 2 : i % 3 === 0 ? 1 : 0,
      color: i % 11 === 0 ? null : i % 7 === 0 ? 'purple' : ['red', 'blue', 'green'][i % 3]!,
      score: (i % 97) / 97,
    }));
    const records: PredictionLogRecord[] = live.map((row, i) => ({
      id: randomUUID(), modelId: model.id, model: 'window-sql', version: 1, sourceJson: null,
      featuresJson: JSON.stringify({ x: row.x, flag: row.flag, color: row.color }), outputJson: '{}',
      score: row.score, latencyMs: 1 + (i % 5), createdAt: new Date(start.getTime() + i * 10), keyId: null,
    }));
    await insertPredictionsUnnest(database.pool, records);

    const window = await aggregateWindow(database.pool, reference, { modelId: model.id, version: 1, windowStart: start, windowEnd: new Date() });

    expect(window.rows).toBe(500);
    expect(window.errorRows).toBe(0);
    expect(window.latencyCounts.reduce((sum, n) => sum + n, 0)).toBe(500);
    expect(window.latencyCounts.filter((n) => n > 0)).toHaveLength(5);
    const numbers = (values: unknown[]) => values.map((value) => (typeof value === 'number' ? value : null));
    expect(window.features.map((feature) => feature.name)).toEqual(['x', 'flag', 'color']);
    expect(window.features[0]!.live).toEqual(countLive(reference.features[0]!.reference, numbers(live.map((row) => row.x))));
    expect(window.features[1]!.live).toEqual(countLive(reference.features[1]!.reference, numbers(live.map((row) => row.flag))));
    expect(window.features[2]!.live).toEqual(countLive(reference.features[2]!.reference, live.map((row) => row.color)));
    expect(window.score).toEqual(countLive(reference.score, live.map((row) => row.score)));
  });

  it('when values sit exactly on the training min, max and cuts, or the score is not finite, then the SQL counts equal the JS counts', async () => {
    const training = Array.from({ length: 1000 }, (_, i) => ({ x: (i % 100) / 10, level: i % 4 }));
    const reference: MonitoringReference = {
      snapshotSha256: 'd'.repeat(64),
      rows: training.length,
      features: [
        { name: 'x', reference: buildFeatureReference(Float64Array.from(training.map((row) => row.x))) },
        { name: 'level', reference: buildFeatureReference(Float64Array.from(training.map((row) => row.level))) },
      ],
      score: buildNumericReference(Float64Array.from(training.map((_, i) => (i % 50) / 50))),
    };
    const xReference = reference.features[0]!.reference;
    if (xReference.kind !== 'numeric' || xReference.min === null || xReference.max === null) throw new Error('expected a numeric reference');
    const edges = [xReference.min, xReference.max, ...xReference.cuts, xReference.min - 1e-9, xReference.max + 1e-9, -0, 1e300, -1e300];
    const model = await getOrCreateModel(database.db, { name: 'window-sql-edges', task: 'binary', target: 'y', featureSchema: [] });
    const start = new Date(Date.now() - 60_000);
    const scores = [0, 1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.98, 0.02];
    const live = edges.map((x, i) => ({ x, level: [0, 1, 2, 3, 7, 2.5, null][i % 7]!, score: scores[i % scores.length]! }));
    const records: PredictionLogRecord[] = live.map((row, i) => ({
      id: randomUUID(), modelId: model.id, model: 'window-sql-edges', version: 1, sourceJson: null,
      featuresJson: JSON.stringify({ x: row.x, level: row.level }), outputJson: '{}',
      score: row.score, latencyMs: 0.5, createdAt: new Date(start.getTime() + i), keyId: null,
    }));
    await insertPredictionsUnnest(database.pool, records);

    const window = await aggregateWindow(database.pool, reference, { modelId: model.id, version: 1, windowStart: start, windowEnd: new Date() });

    expect(window.rows).toBe(live.length);
    expect(window.errorRows).toBe(live.filter((row) => !Number.isFinite(row.score)).length);
    expect(window.features[0]!.live).toEqual(countLive(xReference, live.map((row) => row.x)));
    expect(window.features[1]!.live).toEqual(countLive(reference.features[1]!.reference, live.map((row) => row.level)));
    expect(window.score).toEqual(countLive(reference.score, live.map((row) => row.score)));
    const x = window.features[0]!.live;
    if (x.kind !== 'numeric') throw new Error('expected numeric counts');
    expect(x.belowMin).toBeGreaterThan(0);
    expect(x.aboveMax).toBeGreaterThan(0);
  });
});

describe('aggregateFeedback', () => {
  it('when a regression score is huge (a predict with features of 1e200), then the squared error is Infinity, not a failed report', async () => {
    // Squaring in float8 overflowed, which Postgres refuses: every report of the window failed.
    const model = await getOrCreateModel(database.db, { name: 'window-sse', task: 'regression', target: 'y', featureSchema: [] });
    const start = new Date(Date.now() - 60_000);
    const scores = [1e200, 3, Number.NaN];
    const records: PredictionLogRecord[] = scores.map((score, i) => ({
      id: randomUUID(), modelId: model.id, model: 'window-sse', version: 1, sourceJson: null, featuresJson: '{}', outputJson: '{}',
      score, latencyMs: 1, createdAt: new Date(start.getTime() + i), keyId: null,
    }));
    await insertPredictionsUnnest(database.pool, records);
    await database.db.transaction((tx) => writeFeedback(tx, model.id, records.map((record) => ({ predictionId: record.id, label: 1 })), false));
    const query = { modelId: model.id, version: 1, windowStart: start, windowEnd: new Date(Date.now() + 60_000) };
    const huge = await aggregateFeedback(database.pool, 'regression', query);
    expect(huge).toMatchObject({ labelled: 3, sumSquaredError: Number.NaN });
    await database.pool.query('DELETE FROM feedback WHERE prediction_id = $1', [records[2]!.id]);
    expect(await aggregateFeedback(database.pool, 'regression', query)).toEqual({ labelled: 2, sumSquaredError: Infinity, sumAbsoluteError: 1e200 + 2 });
  });
});
