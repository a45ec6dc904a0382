// What predict writes to the log about time: every row of a request carries the time that request took to score.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pino from 'pino';
import { getOrCreateModel } from '../db/repositories/models.js';
import { rowsOfRecord } from '../db/repositories/predictions.js';
import { createOnnxScorer, exportModelToOnnx, type OnnxScorer } from '../ml/onnx/index.js';
import { trainGbdt } from '../ml/gbdt/index.js';
import type { GbdtModel } from '../ml/model.js';
import { predictionIdAt } from './prediction-ids.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { onnxBytesOf, stumpModel } from '../test/support/model-fixtures.js';
import type { ModelCache } from './model-cache.js';
import { createPredictor, predictWithModel } from './predict.js';
import { PredictionInputError } from './errors.js';
import { predictResponseJson } from './predict-response-json.js';
import { PredictionLog, type PredictionLogRecord } from './prediction-log.js';
import { createRawRowFeatures } from './raw-row-features.js';
import type { LoadedModel } from './session-store.js';

let database: TestDatabase;
let scorer: OnnxScorer;
let modelId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  modelId = (await getOrCreateModel(database.db, { name: 'churn', task: 'binary', target: 'y', featureSchema: [] })).id;
  scorer = await createOnnxScorer(onnxBytesOf(stumpModel('binary')));
});

afterAll(async () => {
  await scorer?.close();
  await database?.close();
});

it('logs for each row of a batch the latency of its request, not that latency divided by the rows', async () => {
  // The real onnxruntime session, timed from the outside: the request cannot have taken less than its scoring.
  const scoringTimes: number[] = [];
  const timed: OnnxScorer = {
    ...scorer,
    features: scorer.features,
    task: scorer.task,
    modelKind: scorer.modelKind,
    async score(input) {
      const started = performance.now();
      try {
        return await scorer.score(input);
      } finally {
        scoringTimes.push(performance.now() - started);
      }
    },
  };
  const loaded: LoadedModel = {
    model: 'churn',
    modelId,
    version: 1,
    sha256: '',
    task: 'binary',
    features: scorer.features,
    scorer: timed,
    rawRows: createRawRowFeatures('churn', 1, null),
  };
  const cache = { withProduction: (_model: string, use: (model: LoadedModel) => Promise<unknown>) => use(loaded) } as unknown as ModelCache;
  const written: PredictionLogRecord[] = [];
  const log = new PredictionLog({
    pool: database.pool,
    flushIntervalMs: 3_600_000,
    logger: pino({ level: 'silent' }),
    writeBatch: async (_client, records) => {
      written.push(...records.flatMap(rowsOfRecord));
    },
  });
  const rows = Array.from({ length: 1000 }, (_, i) => ({ x: i / 1000, color: i % 2 ? 'red' : 'blue' }));
  await createPredictor(cache, log).predict('churn', rows);
  await log.close();
  expect(written).toHaveLength(1000);
  expect(new Set(written.map((record) => record.latencyMs)).size).toBe(1);
  expect(written[0]!.latencyMs).toBeGreaterThanOrEqual(scoringTimes[0]!);
});

it('answers with the text JSON.stringify writes, and logs each row with its own prediction id, output and score', async () => {
  for (const task of ['binary', 'regression'] as const) {
    const model = await createOnnxScorer(onnxBytesOf(stumpModel(task)));
    try {
      const loaded: LoadedModel = {
        model: 'churn "quoted"',
        modelId,
        version: 3,
        sha256: '',
        task,
        features: model.features,
        scorer: model,
        rawRows: createRawRowFeatures('churn', 3, null),
      };
      const cache = { withProduction: (_model: string, use: (model: LoadedModel) => Promise<unknown>) => use(loaded) } as unknown as ModelCache;
      const written: PredictionLogRecord[] = [];
      const log = new PredictionLog({
        pool: database.pool,
        flushIntervalMs: 3_600_000,
        logger: pino({ level: 'silent' }),
        writeBatch: async (_client, records) => {
          written.push(...records.flatMap(rowsOfRecord));
        },
      });
      const rows = Array.from({ length: 50 }, (_, i) => ({ x: i / 7 - 3, color: i % 3 ? 'red' : null }));
      const response = await createPredictor(cache, log).predict('churn', rows);
      await log.close();
      // The text was written while scoring; it must be exactly what serializing the objects gives.
      expect(predictResponseJson(response)).toBe(JSON.stringify(response));
      expect(written.map((record) => record.id)).toEqual(response.predictions.map((prediction) => prediction.id));
      for (const [i, record] of written.entries()) {
        const { id, ...output } = response.predictions[i] as unknown as { id: string } & Record<string, number>;
        expect(record.outputJson, id).toBe(JSON.stringify(output));
        expect(record.score).toBe(task === 'binary' ? output.probability : output.value);
        expect(JSON.parse(record.featuresJson)).toEqual({ x: rows[i]!.x, color: rows[i]!.color });
      }
    } finally {
      await model.close();
    }
  }
});

it('when feature rows are written into columns while checked, then the scores equal scoring the rows, and a batch refused at its last row leaves nothing behind', async () => {
  for (const task of ['binary', 'regression'] as const) {
    const model = await createOnnxScorer(onnxBytesOf(stumpModel(task)));
    try {
      const loaded: LoadedModel = { model: 'churn', modelId, version: 4, sha256: '', task, features: model.features, scorer: model, rawRows: createRawRowFeatures('churn', 4, null) };
      // Absent features, explicit nulls, -0 and unseen categories, across 1,000 rows.
      const rows = Array.from({ length: 1000 }, (_, i) =>
        i % 5 === 0 ? {} : i % 5 === 1 ? { x: null, color: null } : i % 5 === 2 ? { x: -0, color: 'green' } : { x: (i % 17) / 10, color: i % 2 ? 'red' : 'blue' },
      );
      const expected = await model.score(rows.map((row) => ({ x: null, color: null, ...row })));
      const bad = rows.map((row, i) => (i === 999 ? { x: '0.3', color: 'red' } : { x: 0.9, color: 'blue' }));
      await expect(predictWithModel(loaded, bad)).rejects.toThrow(PredictionInputError);
      await expect(predictWithModel(loaded, bad)).rejects.toMatchObject({ rowIndex: 999, field: 'x' });
      const response = await predictWithModel(loaded, rows);
      const scores = response.predictions.map((prediction) => ('probability' in prediction ? prediction.probability : (prediction as { value: number }).value));
      expect(scores).toEqual(Array.from(task === 'binary' ? expected.probability! : expected.value!));
    } finally {
      await model.close();
    }
  }
});

it('answers a multiclass batch with ids from one base, the text JSON.stringify writes, and logs each row under its id', async () => {
  const n = 300;
  const amount = Float64Array.from({ length: n }, (_, i) => (i % 37) / 3);
  const shop = Array.from({ length: n }, (_, i) => ['north', 'south', 'online'][i % 3]!);
  const label = Float64Array.from({ length: n }, (_, i) => (amount[i]! > 6 ? 2 : shop[i] === 'online' ? 1 : 0));
  const { model: trained } = await trainGbdt({ rowCount: n, columns: { amount, shop }, label }, { task: 'multiclass', numClass: 3, numIterations: 3 });
  const scorer3 = await createOnnxScorer(exportModelToOnnx({ ...(trained as GbdtModel), classes: ['low', 'web', 'high'] }, { snapshotSha256: 'f'.repeat(64), keelVersion: 'test' }));
  try {
    const loaded: LoadedModel = { model: 'shops', modelId, version: 2, sha256: '', task: 'multiclass', features: scorer3.features, scorer: scorer3, rawRows: createRawRowFeatures('shops', 2, null) };
    const cache = { withProduction: (_model: string, use: (model: LoadedModel) => Promise<unknown>) => use(loaded) } as unknown as ModelCache;
    const written: PredictionLogRecord[] = [];
    const log = new PredictionLog({
      pool: database.pool,
      flushIntervalMs: 3_600_000,
      logger: pino({ level: 'silent' }),
      writeBatch: async (_client, records) => void written.push(...records.flatMap(rowsOfRecord)),
    });
    const rows = Array.from({ length: 40 }, (_, i) => ({ amount: i / 2, shop: i % 2 ? 'online' : 'north' }));
    const response = await createPredictor(cache, log).predict('shops', rows);
    await log.close();
    expect(predictResponseJson(response)).toBe(JSON.stringify(response));
    const predictions = response.predictions as Array<{ id: string; label: string; probabilities: Record<string, number> }>;
    expect(predictions.map((prediction) => prediction.id)).toEqual(rows.map((_, i) => predictionIdAt(predictions[0]!.id, i)));
    expect(written.map((record) => record.id)).toEqual(predictions.map((prediction) => prediction.id));
    for (const [i, record] of written.entries()) {
      expect(JSON.parse(record.outputJson)).toEqual({ label: predictions[i]!.label, probabilities: predictions[i]!.probabilities });
      expect(record.score).toBe(predictions[i]!.probabilities[predictions[i]!.label]);
    }
  } finally {
    await scorer3.close();
  }
});
