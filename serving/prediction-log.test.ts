// The prediction log buffer and its partitions on real Postgres: refusal when full, retried failed flushes,
// close() writing everything, COPY escaping, partitions ahead, default-partition rescue and retention (rollups too).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  dayStart,
  dropExpiredPredictionPartitions,
  ensurePredictionPartitions,
  listPartitionNames,
  partitionNameFor,
} from '../db/prediction-partitions.js';
import { getOrCreateModel } from '../db/repositories/models.js';
import { upsertPredictionRollups } from '../db/repositories/prediction-rollups.js';
import { copyPredictions, insertPredictionsUnnest, listPredictionPage, recordFromRow, rowsOfRecord } from '../db/repositories/predictions.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { PredictionLog, PredictionLogFullError, type PredictionLogRecord } from './prediction-log.js';
import { jsonForPostgres, toPredictionLogRecord } from './prediction-log-record.js';

const DAY_MS = 24 * 60 * 60 * 1000;
let database: TestDatabase;
let modelId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  // predictions.model_id references models.
  modelId = (await getOrCreateModel(database.db, { name: 'churn', task: 'binary', target: 'y', featureSchema: [] })).id;
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  // A test that failed while the table was renamed away must not take the others down with it.
  await database.pool.query('ALTER TABLE IF EXISTS prediction_records_away RENAME TO prediction_records');
  await database.pool.query('TRUNCATE prediction_records');
});

function record(features: Record<string, unknown> = { x: 1, color: 'red' }, createdAt = new Date()): PredictionLogRecord {
  return toPredictionLogRecord({
    id: randomUUID(),
    modelId,
    model: 'churn',
    version: 1,
    features,
    output: { label: 1, probability: 0.75 },
    score: 0.75,
    latencyMs: 0.5,
    createdAt,
    keyId: null,
  });
}

async function loggedIds(): Promise<string[]> {
  const result = await database.pool.query<{ id: string }>('SELECT id FROM predictions ORDER BY id');
  return result.rows.map((row) => row.id);
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** A real write failure: the table COPY targets is gone until `restore` is called. */
async function breakTheTable(): Promise<{ restore(): Promise<void> }> {
  await database.pool.query('ALTER TABLE prediction_records RENAME TO prediction_records_away');
  return { restore: async () => void (await database.pool.query('ALTER TABLE prediction_records_away RENAME TO prediction_records')) };
}

describe('PredictionLog buffer', () => {
  it('when the buffer is full, then reserving refuses at once and counts the refused rows', async () => {
    const log = new PredictionLog({ pool: database.pool, bufferRows: 10, flushIntervalMs: 3_600_000 });
    log.append(Array.from({ length: 6 }, () => record()));
    const held = log.reserve(4);
    expect(() => log.reserve(1)).toThrow(PredictionLogFullError);
    expect(log.stats()).toMatchObject({ bufferedRows: 6, reservedRows: 4, refusedRows: 1 });
    held.release();
    log.append([record()]);
    await log.close();
    expect(await loggedIds()).toHaveLength(7);
    expect(log.stats()).toMatchObject({ bufferedRows: 0, flushedRows: 7, droppedRows: 0 });
  });

  it('refuses with a Retry-After hint once closing, so a late request scores nothing', async () => {
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 1000 });
    await log.close();
    const refusal = (() => {
      try {
        log.reserve(1);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(PredictionLogFullError);
    expect((refusal as PredictionLogFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((refusal as PredictionLogFullError).status).toBe(503);
  });

  it('when a flush fails, then the batch stays buffered, the failure is counted, and a later flush writes it', async () => {
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, retryDelayMs: 10 });
    const records = Array.from({ length: 25 }, () => record());
    const table = await breakTheTable();
    log.append(records);
    try {
      await expect(log.flush()).rejects.toThrow(/prediction_records/);
    } finally {
      await table.restore();
    }
    expect(log.stats()).toMatchObject({ bufferedRows: 25, flushedRows: 0 });
    expect(log.stats().failedFlushes).toBeGreaterThanOrEqual(1);
    await log.flush();
    expect(await loggedIds()).toEqual(records.map((r) => r.id).sort());
    await log.close();
  });

  it('close() keeps retrying a failing flush and resolves only once every row is written', async () => {
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, batchRows: 10, retryDelayMs: 10 });
    const records = Array.from({ length: 35 }, () => record());
    // Broken first: a full batch starts a background flush at once, which would otherwise win the race.
    const table = await breakTheTable();
    log.append(records);
    let closed = false;
    const closing = log.close().then(() => (closed = true));
    await until(() => log.stats().failedFlushes >= 3);
    expect(closed).toBe(false);
    await table.restore();
    await closing;
    expect(await loggedIds()).toEqual(records.map((r) => r.id).sort());
    expect(log.stats()).toMatchObject({ bufferedRows: 0, flushedRows: 35, droppedRows: 0 });
  });

  it('when requests are larger than a flush batch and a flush fails, then each is written whole once, none lost', async () => {
    const table = await breakTheTable();
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, batchRows: 100, retryDelayMs: 5 });
    const requests = [300, 1, 7, 250, 1].map((rows, r) => ({
      ...recordFromRow(record({}, new Date(Date.now() + r))),
      rowCount: rows,
      featureNames: ['x', 'color'],
      featureColumns: [Float64Array.from({ length: rows }, (_, i) => i), Array.from({ length: rows }, () => 'red')],
      scores: new Float64Array(rows).fill(0.5),
      outputKind: 'binary' as const,
      outputsJson: null,
    }));
    log.appendRecords(requests);
    expect(log.stats().bufferedRows).toBe(559);
    const closing = log.close();
    await until(() => log.stats().failedFlushes > 0);
    await table.restore();
    await closing;
    expect(await loggedIds()).toEqual(requests.flatMap(rowsOfRecord).map((row) => row.id).sort());
    expect(log.stats()).toMatchObject({ bufferedRows: 0, flushedRows: 559, droppedRows: 0 });
  });

  it('close() waits for rows reserved by requests still being scored', async () => {
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000 });
    const reservation = log.reserve(2);
    const closing = log.close();
    const late = { ...recordFromRow(record()), rowCount: 2, scores: Float64Array.of(0.75, 0.25), outputsJson: '[{"label":1},{"label":0}]' };
    late.featureColumns = [Float64Array.of(1, 2), ['red', 'blue']];
    reservation.commit(late);
    await closing;
    expect(await loggedIds()).toEqual(rowsOfRecord(late).map((r) => r.id).sort());
  });

  it('flushes on its own once a batch is full, without close()', async () => {
    const log = new PredictionLog({ pool: database.pool, flushIntervalMs: 3_600_000, batchRows: 5 });
    log.append(Array.from({ length: 5 }, () => record()));
    await until(async () => (await loggedIds()).length === 5);
    await log.close();
  });
});

describe('prediction log writes', () => {
  it('stores JSON with quotes, backslashes, tabs, newlines and unicode exactly, by COPY and by unnest', async () => {
    const features = { text: 'a\tb\nc\r\\d "q" \\N é 😀', x: -1.5e-300, none: null };
    const viaCopy = record(features);
    const viaUnnest = record(features);
    const client = await database.pool.connect();
    try {
      await copyPredictions(client, [viaCopy]);
      await insertPredictionsUnnest(client, [viaUnnest]);
    } finally {
      client.release();
    }
    const result = await database.pool.query<{ features: unknown; score: number; model: string }>(
      'SELECT features, score, model FROM predictions',
    );
    expect(result.rows).toHaveLength(2);
    for (const row of result.rows) expect(row).toEqual({ features, score: 0.75, model: 'churn' });
  });

  it('when text fields hold raw tabs, newlines, CRs, backslashes, "\\N" and "\\.", then COPY stores them as unnest does', async () => {
    // Raw control characters reach COPY only where the text is not JSON.stringify's (the model name) or is JSON
    // whitespace; NULL columns are written as \N.
    const model = 'm\tx\ny\rz\\w \\N \\.\n\\.\n';
    const sourceJson = '{\t"k":\r\n"v \\\\ \\t \\u00e9 😀"}\n';
    const base = { ...record(), model, sourceJson, featuresJson: ' {"a":\t2, "b\\t":\r"x\\ty"}', keyId: null };
    const client = await database.pool.connect();
    try {
      await copyPredictions(client, [{ ...base, id: randomUUID() }, { ...base, id: randomUUID(), sourceJson: null }]);
      await insertPredictionsUnnest(client, [{ ...base, id: randomUUID() }, { ...base, id: randomUUID(), sourceJson: null }]);
    } finally {
      client.release();
    }
    const result = await database.pool.query<{ model: string; source: unknown; features: unknown; key_id: unknown }>(
      'SELECT model, source, features, key_id FROM predictions',
    );
    const stored = { model, features: { a: 2, 'b\t': 'x\ty' }, key_id: null };
    expect(result.rows).toHaveLength(4);
    expect(result.rows.filter((row) => row.source === null)).toEqual([{ ...stored, source: null }, { ...stored, source: null }]);
    expect(result.rows.filter((row) => row.source !== null)).toEqual([
      { ...stored, source: { k: 'v \\ \t é 😀' } },
      { ...stored, source: { k: 'v \\ \t é 😀' } },
    ]);
  });

  it('makes U+0000 and lone surrogates storable instead of failing the whole batch forever', async () => {
    const text = jsonForPostgres({ a: 'x\u0000y', b: 'lone \ud800 surrogate', c: 'pair 😀' });
    expect(JSON.parse(text)).toEqual({ a: 'x\ufffdy', b: 'lone \ufffd surrogate', c: 'pair 😀' });
    const log = new PredictionLog({ pool: database.pool });
    log.append([record({ a: 'x\u0000y' })]);
    await log.close();
    expect(await loggedIds()).toHaveLength(1);
  });
});

describe('paging the log', () => {
  it('when a page spans more records than one read and a cursor falls inside a record, then pages follow (created_at, id) exactly', async () => {
    const start = Date.now();
    const single = Array.from({ length: 120 }, (_, i) => recordFromRow(record({ x: i }, new Date(start + (i % 7)))));
    const triple = Array.from({ length: 10 }, (_, r) => ({
      ...recordFromRow(record({}, new Date(start + (r % 3)))),
      firstIndex: 0,
      rowCount: 3,
      featureNames: ['x'],
      featureColumns: [Float64Array.of(r, r + 0.25, r + 0.5)],
      scores: Float64Array.of(0.1, 0.2, 0.3),
      outputKind: 'binary' as const,
      outputsJson: null,
    }));
    const log = new PredictionLog({ pool: database.pool });
    log.appendRecords([...single, ...triple]);
    await log.close();
    for (const order of ['asc', 'desc'] as const) {
      const expected = await database.pool.query<{ id: string }>(
        `SELECT id FROM predictions ORDER BY created_at ${order}, id ${order}`,
      );
      for (const limit of [100, 7]) {
        const seen: string[] = [];
        let after: { createdAt: Date; id: string } | undefined;
        for (;;) {
          const page = await listPredictionPage(database.db, { modelId, limit, order, after });
          seen.push(...page.map((row) => row.id));
          if (page.length < limit) break;
          after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
        }
        expect(seen).toEqual(expected.rows.map((row) => row.id));
      }
    }
  });
});

describe('prediction partitions', () => {
  it('creates today and the days ahead once, also under concurrent callers', async () => {
    const from = new Date(Date.UTC(2031, 0, 10, 15));
    const created = await Promise.all([1, 2, 3].map(() => ensurePredictionPartitions(database.pool, from, 2)));
    expect(created.flat().sort()).toEqual(['prediction_records_p20310110', 'prediction_records_p20310111', 'prediction_records_p20310112']);
    expect(await ensurePredictionPartitions(database.pool, from, 2)).toEqual([]);
    const names = await listPartitionNames(database.pool);
    expect(names).toEqual(expect.arrayContaining(['prediction_records_default', 'prediction_records_p20310110', 'prediction_records_p20310112']));
  });

  it('when rows already sit in the default partition for a day, then creating that day moves them into it', async () => {
    const day = new Date(Date.UTC(2032, 5, 1));
    const stray = record({ x: 2 }, new Date(day.getTime() + 3_600_000));
    const client = await database.pool.connect();
    try {
      await copyPredictions(client, [stray]);
    } finally {
      client.release();
    }
    await ensurePredictionPartitions(database.pool, day, 0);
    const where = await database.pool.query<{ partition: string }>(
      'SELECT tableoid::regclass::text AS partition FROM prediction_records WHERE base_id = prediction_base_id($1)',
      [stray.id],
    );
    expect(where.rows).toEqual([{ partition: partitionNameFor(day) }]);
  });

  it('drops whole partitions older than the retention and keeps the rest', async () => {
    const now = new Date();
    const old = new Date(dayStart(now).getTime() - 40 * DAY_MS);
    const recent = new Date(dayStart(now).getTime() - 5 * DAY_MS);
    await ensurePredictionPartitions(database.pool, old, 0);
    await ensurePredictionPartitions(database.pool, recent, 0);
    await ensurePredictionPartitions(database.pool, now, 0);
    const client = await database.pool.connect();
    try {
      await copyPredictions(client, [record({}, new Date(old.getTime() + 1000)), record({}, new Date(recent.getTime() + 1000))]);
    } finally {
      client.release();
    }
    const dropped = await dropExpiredPredictionPartitions(database.pool, now, 30);
    expect(dropped).toContain(partitionNameFor(old));
    expect(dropped).not.toContain(partitionNameFor(recent));
    const names = await listPartitionNames(database.pool);
    expect(names).not.toContain(partitionNameFor(old));
    expect(names).toEqual(expect.arrayContaining([partitionNameFor(recent), partitionNameFor(now), 'prediction_records_default']));
    expect(await loggedIds()).toHaveLength(1);
  });

  it('start() prepares today and the next days and applies retention', async () => {
    const log = new PredictionLog({ pool: database.pool, retentionDays: 30, partitionDaysAhead: 3 });
    await log.start();
    const names = await listPartitionNames(database.pool);
    const today = dayStart(new Date());
    for (let offset = 0; offset <= 3; offset += 1) {
      expect(names).toContain(partitionNameFor(new Date(today.getTime() + offset * DAY_MS)));
    }
    await log.close();
  });

  it('start() deletes the rollups of the days whose partitions retention drops, and keeps the rest', async () => {
    const now = new Date();
    const old = new Date(dayStart(now).getTime() - 31 * DAY_MS + 5 * 60_000);
    const kept = new Date(dayStart(now).getTime() - 30 * DAY_MS);
    const rollup = (minute: Date) => ({ modelId, version: 1, minute, layoutSha: 'retention', rows: 1, counts: [1], mins: [null], maxs: [null] });
    await upsertPredictionRollups(database.pool, [rollup(old), rollup(kept)]);
    const log = new PredictionLog({ pool: database.pool, retentionDays: 30 });
    await log.start();
    await log.close();
    const left = await database.pool.query<{ minute: Date }>("SELECT minute FROM prediction_rollups WHERE layout_sha = 'retention'");
    expect(left.rows.map((row) => row.minute.getTime())).toEqual([kept.getTime()]);
  });
});
