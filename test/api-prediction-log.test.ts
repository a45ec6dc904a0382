// The prediction log over HTTP (app.inject, real Postgres, onnxruntime, DuckDB): every answered prediction is
// logged, a full buffer answers 503 + Retry-After with nothing scored, ops page through the log, feedback takes
// labels (known / unknown / duplicate / overwrite, items and a CSV), and no prediction is lost under load or close.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig, type KeelConfig } from '../config.js';
import { getModelByName } from '../db/repositories/models.js';
import { recordFeedbackFromDataset } from '../serving/feedback.js';
import { predictionIdAt, splitPredictionId } from '../db/prediction-ids.js';
import { createServingDeps, type ServingDeps } from '../serving/serving-deps.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { registerFixtureVersion, setProduction } from './support/model-fixtures.js';

const silent = pino({ level: 'silent' });
let database: TestDatabase;
let scratch: string;
let dataRoot: string;
let config: KeelConfig;
let artifacts: FsArtifactStore;
let serving: ServingDeps;
let app: KeelApp;
const keys = { admin: '', predict: '', ops: '', engineer: '' };
const keyIds = { predict: '' };

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(join(tmpdir(), 'keel-prediction-log-'));
  dataRoot = join(scratch, 'datasets');
  await mkdir(dataRoot);
  config = loadConfig({ KEEL_DATA_ROOTS: dataRoot, KEEL_ARTIFACT_DIR: join(scratch, 'artifacts') });
  artifacts = new FsArtifactStore(config.artifactDir);
  // A flush interval far beyond the test: rows stay buffered until something flushes them.
  serving = await createServingDeps({
    db: database.db,
    pool: database.pool,
    artifacts,
    logger: silent,
    predictionLog: { flushIntervalMs: 3_600_000 },
  });
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({ config, db: database.db, pool: database.pool, serving, logger: false });
  await app.ready();
  for (const role of ['predict', 'ops', 'engineer'] as const) {
    const response = await post(app, '/v1/keys', keys.admin, { name: `${role}-key`, roles: [role] });
    expect(response.statusCode).toBe(201);
    keys[role] = response.json().secret;
    if (role === 'predict') keyIds.predict = response.json().id;
  }
  for (const [model, task] of [['churn', 'binary'], ['price', 'regression'], ['busy', 'binary'], ['closing', 'binary']] as const) {
    const version = await registerFixtureVersion(database.db, artifacts, { model, runId: `${model}-1`, task });
    await setProduction(database.db, version, model);
  }
});

afterAll(async () => {
  await app?.close();
  await serving?.close();
  await database?.close();
  await rm(scratch, { recursive: true, force: true });
});

function post(target: KeelApp, url: string, key: string, payload: unknown) {
  return target.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}` }, payload: payload as object });
}
function get(url: string, key: string) {
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
}

async function predictIds(model: string, rows: object[]): Promise<string[]> {
  const response = await post(app, `/v1/models/${model}/predict`, keys.predict, { features: rows });
  expect(response.statusCode).toBe(200);
  return (response.json().predictions as { id: string }[]).map((p) => p.id);
}

async function loggedCount(model: string): Promise<number> {
  const result = await database.pool.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE model = $1', [model]);
  return Number(result.rows[0]!.n);
}

async function labelOf(predictionId: string): Promise<number | undefined> {
  const result = await database.pool.query<{ label: number }>('SELECT label FROM feedback WHERE prediction_id = $1', [predictionId]);
  return result.rows[0]?.label;
}

describe('logging predictions', () => {
  it('logs every scored row with model, version, the feature row, output, score, latency, time and key id', async () => {
    const response = await post(app, '/v1/models/churn/predict', keys.predict, { features: [{ x: 2, color: 'red' }, { x: 0.1 }] });
    expect(response.statusCode).toBe(200);
    const answered = response.json().predictions as { id: string; label: number; probability: number }[];
    await serving.predictionLog.flush();
    const result = await database.pool.query(
      'SELECT id, model, version, source, features, output, score, latency_ms, key_id FROM predictions WHERE id = ANY($1) ORDER BY score DESC',
      [answered.map((p) => p.id)],
    );
    expect(result.rows).toHaveLength(2);
    const first = answered[0]!;
    expect(result.rows[0]).toMatchObject({
      id: first.id,
      model: 'churn',
      version: 1,
      source: null,
      features: { x: 2, color: 'red' },
      output: { label: first.label, probability: first.probability },
      score: first.probability,
      key_id: keyIds.predict,
    });
    expect(result.rows[1].features).toEqual({ x: 0.1, color: null });
    expect(result.rows[0].latency_ms).toBeGreaterThan(0);
  });

  it('logs regression values with the value as score', async () => {
    const [id] = await predictIds('price', [{ x: 2, color: 'blue' }]);
    await serving.predictionLog.flush();
    const result = await database.pool.query('SELECT output, score FROM predictions WHERE id = $1', [id]);
    expect(result.rows[0].score).toBe(result.rows[0].output.value);
  });

  it('logs nothing for a request refused as invalid', async () => {
    const before = await loggedCount('churn');
    const response = await post(app, '/v1/models/churn/predict', keys.predict, { features: [{ x: 1 }, { x: 'high' }] });
    expect(response.statusCode).toBe(400);
    await serving.predictionLog.flush();
    expect(await loggedCount('churn')).toBe(before);
    expect(serving.predictionLog.stats().reservedRows).toBe(0);
  });

  it('when the buffer is full, then predict answers 503 with Retry-After and logs and returns nothing', async () => {
    const tiny = await createServingDeps({
      db: database.db,
      pool: database.pool,
      artifacts,
      logger: silent,
      predictionLog: { bufferRows: 3, flushIntervalMs: 3_600_000 },
    });
    const tinyApp = await buildApp({ config, db: database.db, pool: database.pool, serving: tiny, logger: false });
    try {
      const fits = await post(tinyApp, '/v1/models/busy/predict', keys.predict, { features: [{ x: 1 }, { x: 2 }] });
      expect(fits.statusCode).toBe(200);
      const refused = await post(tinyApp, '/v1/models/busy/predict', keys.predict, { features: [{ x: 1 }, { x: 2 }] });
      expect(refused.statusCode).toBe(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(refused.json()).toMatchObject({ error: { code: 'PREDICTION_LOG_FULL' } });
      expect(refused.json().predictions).toBeUndefined();
      expect(tiny.predictionLog.stats()).toMatchObject({ bufferedRows: 2, refusedRows: 2 });
      const metrics = await tinyApp.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/keel_prediction_log_refused_rows_total 2/);
      expect(metrics.body).toMatch(/keel_prediction_log_buffered_rows 2/);
      expect(metrics.body).toMatch(/keel_prediction_log_dropped_rows_total 0/);
    } finally {
      await tinyApp.close();
      await tiny.close();
    }
    expect(await loggedCount('busy')).toBe(2);
  });
});

describe('GET /v1/models/:name/predictions', () => {
  it('pages newest first and oldest first with a cursor, and filters by version and time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(...(await predictIds('price', [{ x: i }])));
    await serving.predictionLog.flush();
    const total = await loggedCount('price');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/v1/models/price/predictions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, keys.ops);
      expect(page.statusCode).toBe(200);
      const body = page.json() as { predictions: { id: string; createdAt: string }[]; nextCursor: string | null };
      expect(body.predictions.length).toBeLessThanOrEqual(2);
      seen.push(...body.predictions.map((p) => p.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    // Newest first by (created_at, id): rows logged in the same millisecond are ordered by id, not by request order.
    expect(new Set(seen.slice(0, 5))).toEqual(new Set(ids));
    const pageOrder = (await get('/v1/models/price/predictions?limit=1000', keys.ops)).json() as { predictions: { id: string; createdAt: string }[] };
    const sortKeys = pageOrder.predictions.map((p) => `${p.createdAt} ${p.id}`);
    expect(sortKeys).toEqual([...sortKeys].sort().reverse());
    expect(pageOrder.predictions.map((p) => p.id)).toEqual(seen);

    const oldestFirst = await get('/v1/models/price/predictions?order=asc&limit=1000', keys.ops);
    expect(oldestFirst.json().predictions.map((p: { id: string }) => p.id)).toEqual([...seen].reverse());

    expect((await get('/v1/models/price/predictions?version=2', keys.ops)).json().predictions).toEqual([]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await get(`/v1/models/price/predictions?from=${future}`, keys.ops)).json().predictions).toEqual([]);
    expect((await get(`/v1/models/price/predictions?to=${future}&limit=1`, keys.ops)).json().predictions).toHaveLength(1);
  });

  it('answers 400 for a bad cursor or time, 404 for an unknown model, 403 without the ops role', async () => {
    expect((await get('/v1/models/price/predictions?cursor=nonsense', keys.ops)).statusCode).toBe(400);
    expect((await get('/v1/models/price/predictions?from=yesterday', keys.ops)).statusCode).toBe(400);
    // Times JavaScript's Date holds but Postgres does not (year 0, BC, past 9999 as Date writes it): each was a 500.
    const cursorAt = (at: string) => Buffer.from(`${at}|00000000-0000-4000-8000-000000000000`).toString('base64url');
    for (const query of ['from=-271821-04-20T00:00:00Z', 'to=0000-06-01T00:00:00Z', 'from=%2B275760-09-13T00:00:00Z', `cursor=${cursorAt('-005000-01-01T00:00:00Z')}`]) {
      const response = await get(`/v1/models/price/predictions?${query}`, keys.ops);
      expect(response.statusCode, `${query}: ${response.body}`).toBe(400);
      expect(response.json().error.message).toContain(`querystring/${query.split('=')[0]}`);
    }
    expect((await get('/v1/models/nope/predictions', keys.ops)).statusCode).toBe(404);
    expect((await get('/v1/models/price/predictions', keys.predict)).statusCode).toBe(403);
  });
});

describe('POST /v1/models/:name/feedback', () => {
  it('accepts labels for known predictions (even still buffered), reports unknown ids, refuses a second label unless overwrite', async () => {
    const [a, b] = await predictIds('churn', [{ x: 1 }, { x: 2 }]);
    expect(serving.predictionLog.stats().bufferedRows).toBeGreaterThan(0);
    const unknown = randomUUID();
    const first = await post(app, '/v1/models/churn/feedback', keys.predict, {
      items: [{ predictionId: a, label: 1 }, { predictionId: b, label: false }, { predictionId: unknown, label: 0 }],
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ accepted: 2, unknown: [unknown], duplicates: [] });
    expect(await labelOf(a!)).toBe(1);
    expect(await labelOf(b!)).toBe(0);

    const again = await post(app, '/v1/models/churn/feedback', keys.engineer, { items: [{ predictionId: a, label: 0 }] });
    expect(again.json()).toEqual({ accepted: 0, unknown: [], duplicates: [a] });
    expect(await labelOf(a!)).toBe(1);

    const overwritten = await post(app, '/v1/models/churn/feedback', keys.predict, {
      items: [{ predictionId: a, label: 0 }],
      overwrite: true,
    });
    expect(overwritten.json()).toEqual({ accepted: 1, unknown: [], duplicates: [] });
    expect(await labelOf(a!)).toBe(0);
  });

  it("when an id lies in a logged request's id range but past its rows, then it is unknown", async () => {
    const ids = await predictIds('churn', [{ x: 1 }, { x: 2 }, { x: 3 }]);
    const { baseId } = splitPredictionId(ids[0]!);
    expect(ids).toEqual([0, 1, 2].map((i) => predictionIdAt(baseId, i)));
    const beyond = [predictionIdAt(baseId, 3), predictionIdAt(baseId, 0xffff)];
    const response = await post(app, '/v1/models/churn/feedback', keys.predict, {
      items: [{ predictionId: ids[2], label: 1 }, { predictionId: beyond[0], label: 0 }, { predictionId: beyond[1], label: 1 }],
    });
    expect(response.json()).toEqual({ accepted: 1, unknown: beyond, duplicates: [] });
    expect(await labelOf(beyond[0]!)).toBeUndefined();
  });

  it("treats another model's prediction as unknown and a repeated id in one request as a duplicate", async () => {
    const [priceId] = await predictIds('price', [{ x: 1 }]);
    const [churnId] = await predictIds('churn', [{ x: 3 }]);
    const response = await post(app, '/v1/models/churn/feedback', keys.predict, {
      items: [{ predictionId: priceId, label: 1 }, { predictionId: churnId, label: 1 }, { predictionId: churnId, label: 0 }],
    });
    expect(response.json()).toEqual({ accepted: 1, unknown: [priceId], duplicates: [churnId] });
    expect(await labelOf(churnId!)).toBe(1);
  });

  it('answers 400 naming the item and field for bad labels, and writes nothing of that request', async () => {
    const [good, other] = await predictIds('churn', [{ x: 1 }, { x: 2 }]);
    const badLabel = await post(app, '/v1/models/churn/feedback', keys.predict, {
      items: [{ predictionId: good, label: 1 }, { predictionId: other, label: 2 }],
    });
    expect(badLabel.statusCode).toBe(400);
    expect(badLabel.json().error).toMatchObject({ code: 'FEEDBACK_INVALID', details: { index: 1, field: 'label' } });
    expect(await labelOf(good!)).toBeUndefined();

    const valueOnBinary = await post(app, '/v1/models/churn/feedback', keys.predict, { items: [{ predictionId: good, value: 1.5 }] });
    expect(valueOnBinary.statusCode).toBe(400);
    expect(valueOnBinary.json().error.details).toMatchObject({ index: 0, field: 'value' });

    const notAnId = await post(app, '/v1/models/churn/feedback', keys.predict, { items: [{ predictionId: 'p-1', label: 1 }] });
    expect(notAnId.json().error.details).toMatchObject({ index: 0, field: 'predictionId' });

    const [priceId] = await predictIds('price', [{ x: 1 }]);
    const labelOnRegression = await post(app, '/v1/models/price/feedback', keys.predict, { items: [{ predictionId: priceId, label: 1 }] });
    expect(labelOnRegression.json().error.details).toMatchObject({ index: 0, field: 'label' });
    const regression = await post(app, '/v1/models/price/feedback', keys.predict, { items: [{ predictionId: priceId, value: 12.25 }] });
    expect(regression.json()).toEqual({ accepted: 1, unknown: [], duplicates: [] });
    expect(await labelOf(priceId!)).toBe(12.25);

    // float8 holds 1e308, but the monitor's window query squares label - score and Postgres refuses that overflow:
    // such a label failed every monitoring report of its window. Within ±1e100 the squares stay finite.
    await expect(database.pool.query('SELECT sum((0.5 - x) * (0.5 - x)) FROM (VALUES (1e308::float8)) v(x)')).rejects.toThrow(/out of range/);
    const [hugeId, boundId] = await predictIds('price', [{ x: 2 }, { x: 3 }]);
    for (const value of [1e308, -1e308, 1e155, -1.0000001e100]) {
      const huge = await post(app, '/v1/models/price/feedback', keys.predict, { items: [{ predictionId: hugeId, value }] });
      expect(huge.statusCode, `${value}: ${huge.body}`).toBe(400);
      expect(huge.json().error).toMatchObject({ code: 'FEEDBACK_INVALID', details: { index: 0, field: 'value' } });
    }
    expect(await labelOf(hugeId!)).toBeUndefined();
    expect((await post(app, '/v1/models/price/feedback', keys.predict, { items: [{ predictionId: boundId, value: -1e100 }] })).json().accepted).toBe(1);
    await expect(database.pool.query('SELECT sum((0.5 - label) * (0.5 - label)) FROM feedback')).resolves.toBeDefined();

    expect((await post(app, '/v1/models/churn/feedback', keys.ops, { items: [{ predictionId: good, label: 1 }] })).statusCode).toBe(403);
    expect((await post(app, '/v1/models/nope/feedback', keys.predict, { items: [{ predictionId: good, label: 1 }] })).statusCode).toBe(404);
    expect((await post(app, '/v1/models/churn/feedback', keys.predict, {})).statusCode).toBe(400);
  });

  it('takes labels in bulk from a CSV in the data roots, in batches, with the same answer', async () => {
    const ids = await predictIds('churn', Array.from({ length: 30 }, (_, i) => ({ x: i / 10 })));
    const alreadyLabelled = ids[0]!;
    await post(app, '/v1/models/churn/feedback', keys.predict, { items: [{ predictionId: alreadyLabelled, label: 1 }] });
    const unknown = randomUUID();
    const lines = ['prediction_id,actual', ...ids.map((id, i) => `${id},${i % 2 === 0 ? 'true' : 'false'}`), `${unknown},true`];
    await writeFile(join(dataRoot, 'labels.csv'), `${lines.join('\n')}\n`);
    const response = await post(app, '/v1/models/churn/feedback', keys.engineer, {
      dataset: { uri: 'labels.csv' },
      idColumn: 'prediction_id',
      labelColumn: 'actual',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 29, unknown: [unknown], duplicates: [alreadyLabelled] });
    expect(await labelOf(ids[1]!)).toBe(0);
    expect(await labelOf(ids[2]!)).toBe(1);

    const rewritten = await post(app, '/v1/models/churn/feedback', keys.engineer, {
      dataset: { uri: join(dataRoot, 'labels.csv') },
      idColumn: 'prediction_id',
      labelColumn: 'actual',
      overwrite: true,
    });
    expect(rewritten.json()).toEqual({ accepted: 30, unknown: [unknown], duplicates: [] });
  });

  it('writes a bulk file in several batches, one transaction each, and counts an id repeated across batches as a duplicate', async () => {
    const ids = await predictIds('churn', Array.from({ length: 20 }, (_, i) => ({ x: i })));
    const lines = ['id,y', ...ids.map((id, i) => `${id},${i % 2}`), `${ids[3]},1`];
    await writeFile(join(dataRoot, 'batched.csv'), `${lines.join('\n')}\n`);
    const churn = await getModelByName(database.db, 'churn');
    const result = await recordFeedbackFromDataset(
      { db: database.db, predictionLog: serving.predictionLog, settings: { dataRoots: [dataRoot] } },
      { modelId: churn!.id, task: 'binary' },
      { path: 'batched.csv', idColumn: 'id', labelColumn: 'y' },
      false,
      7,
    );
    expect(result).toEqual({ accepted: 20, unknown: [], duplicates: [ids[3]] });
    expect(await labelOf(ids[3]!)).toBe(1);
    expect(await labelOf(ids[4]!)).toBe(0);
  });

  it('refuses a bulk file with a bad row (400 naming row and column, nothing written), a missing column, and paths outside the roots', async () => {
    const ids = await predictIds('churn', [{ x: 1 }, { x: 2 }, { x: 3 }]);
    await writeFile(join(dataRoot, 'bad.csv'), `id,y\n${ids[0]},1\n${ids[1]},0\n${ids[2]},3\n`);
    const bad = await post(app, '/v1/models/churn/feedback', keys.predict, { dataset: { uri: 'bad.csv' }, idColumn: 'id', labelColumn: 'y' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'FEEDBACK_INVALID', details: { row: 2, field: 'y' } });
    expect(await labelOf(ids[0]!)).toBeUndefined();

    const missing = await post(app, '/v1/models/churn/feedback', keys.predict, { dataset: { uri: 'bad.csv' }, idColumn: 'id', labelColumn: 'label' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toMatchObject({ field: 'labelColumn' });

    const outside = await post(app, '/v1/models/churn/feedback', keys.predict, { dataset: { uri: '/etc/passwd' }, idColumn: 'id', labelColumn: 'y' });
    expect(outside.statusCode).toBe(422);
    expect(outside.json().error.code).toBe('SOURCE_NOT_ALLOWED');
    const noColumns = await post(app, '/v1/models/churn/feedback', keys.predict, { dataset: { uri: 'bad.csv' } });
    expect(noColumns.statusCode).toBe(400);

    // A regression label past ±1e100 from a file too (the monitor's float8 sum of squares would overflow).
    const prices = await predictIds('price', [{ x: 1 }, { x: 2 }]);
    await writeFile(join(dataRoot, 'huge.csv'), `id,y\n${prices[0]},12.5\n${prices[1]},1e308\n`);
    const huge = await post(app, '/v1/models/price/feedback', keys.predict, { dataset: { uri: 'huge.csv' }, idColumn: 'id', labelColumn: 'y' });
    expect(huge.statusCode, huge.body).toBe(400);
    expect(huge.json().error).toMatchObject({ code: 'FEEDBACK_INVALID', details: { row: 1, field: 'y' } });
    expect(await labelOf(prices[0]!)).toBeUndefined();
  });
});

describe('zero predictions lost', () => {
  /** Sends `requests` predict calls of 1..4 rows, `concurrency` at a time; returns the ids of every answered prediction. */
  async function load(target: KeelApp, model: string, requests: number, concurrency: number, onAnswered?: (n: number) => void) {
    const answered: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < requests) {
        const i = next++;
        const rows = Array.from({ length: 1 + (i % 4) }, (_, r) => ({ x: r + i / requests }));
        const response = await post(target, `/v1/models/${model}/predict`, keys.predict, { features: rows }).catch(() => undefined);
        const status = response?.statusCode ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 200) answered.push(...response!.json().predictions.map((p: { id: string }) => p.id));
        onAnswered?.(++done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { answered, statuses };
  }

  async function loggedIdsOf(model: string): Promise<string[]> {
    const result = await database.pool.query<{ id: string }>('SELECT id FROM predictions WHERE model = $1 ORDER BY id', [model]);
    return result.rows.map((row) => row.id);
  }

  it('under concurrent load through a small buffer: every answered prediction is logged, and only those', async () => {
    const small = await createServingDeps({
      db: database.db,
      pool: database.pool,
      artifacts,
      logger: silent,
      predictionLog: { bufferRows: 40, flushIntervalMs: 2, batchRows: 16 },
    });
    const smallApp = await buildApp({ config, db: database.db, pool: database.pool, serving: small, logger: false });
    const before = await loggedIdsOf('busy');
    const { answered, statuses } = await load(smallApp, 'busy', 400, 32);
    await smallApp.close();
    await small.close();
    expect([...statuses.keys()].every((status) => status === 200 || status === 503)).toBe(true);
    const logged = (await loggedIdsOf('busy')).filter((id) => !before.includes(id));
    expect(logged).toEqual([...answered].sort());
    expect(small.predictionLog.stats().droppedRows).toBe(0);
  });

  it('when the app closes mid-load (the SIGTERM path), every prediction answered before and during the close is logged', async () => {
    // No serving passed: the app creates its own from config and closes it (flushing the log) in app.close().
    const owned = await buildApp({
      config: loadConfig({ KEEL_ARTIFACT_DIR: config.artifactDir, KEEL_PREDICTION_FLUSH_MS: '50' }),
      db: database.db,
      pool: database.pool,
      logger: false,
    });
    let closing: Promise<void> | undefined;
    const { answered, statuses } = await load(owned, 'closing', 400, 24, (n) => {
      if (n === 120) closing = owned.close();
    });
    await closing;
    expect(statuses.get(200)).toBeGreaterThanOrEqual(120);
    const logged = await loggedIdsOf('closing');
    expect(logged).toEqual([...answered].sort());
  });
});
