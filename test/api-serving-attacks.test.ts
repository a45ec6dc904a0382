// Hostile and careless callers against raw-row predict, the prediction log and feedback (app.inject, real
// Postgres, onnxruntime, DuckDB): every bad request is a 4xx with nothing logged or written, nothing crashes.
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig, type KeelConfig } from '../config.js';
import { createDb } from '../db/client.js';
import { registerModelVersion, setModelVersionStatus } from '../db/repositories/model-versions.js';
import { getOrCreateModel } from '../db/repositories/models.js';
import { featureSchemaOf } from '../ml/onnx/index.js';
import { createServingDeps, type ServingDeps } from '../serving/serving-deps.js';
import { predictionIdAt } from '../serving/prediction-ids.js';
import type { ServingRecipe } from '../workflows/contracts/serving-recipe.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { onnxBytesOf, setProduction, stumpModel } from './support/model-fixtures.js';
import { insertRunRow } from './support/run-rows.js';

const silent = pino({ level: 'silent' });
let database: TestDatabase;
let scratch: string;
let dataRoot: string;
let config: KeelConfig;
let artifacts: FsArtifactStore;
let serving: ServingDeps;
let app: KeelApp;
const keys = { admin: '', predict: '', ops: '', engineer: '' };

/** Source: x DOUBLE, color VARCHAR, day DATE, flag BOOLEAN, n TINYINT; the stump's features x and color. */
function recipe(overrides: Partial<ServingRecipe> = {}): ServingRecipe {
  return {
    version: 1,
    source: [
      { name: 'x', type: 'DOUBLE' },
      { name: 'color', type: 'VARCHAR' },
      { name: 'day', type: 'DATE' },
      { name: 'flag', type: 'BOOLEAN' },
      { name: 'n', type: 'TINYINT' },
    ],
    sources: {},
    transform: 'SELECT x, color FROM source',
    features: [
      { name: 'x', type: 'DOUBLE', conversion: 'double', kind: 'numeric' },
      { name: 'color', type: 'VARCHAR', conversion: 'text', kind: 'categorical' },
    ],
    rowWise: true,
    checkedRows: 0,
    ...overrides,
  };
}

async function deployWithRecipe(model: string, servingRecipe: ServingRecipe): Promise<void> {
  const gbdt = stumpModel('binary');
  const stored = await artifacts.putBytes(onnxBytesOf(gbdt), { extension: '.onnx' });
  const row = await getOrCreateModel(database.db, { name: model, task: 'binary', target: 'y', featureSchema: featureSchemaOf(gbdt.features) });
  await insertRunRow(database.db, `${model}-1`, model);
  const { version } = await registerModelVersion(database.db, {
    modelId: row.id,
    runId: `${model}-1`,
    artifactUri: stored.uri,
    artifactSha256: stored.sha256,
    trainer: 'gbdt',
    metrics: {},
    params: {},
    featureSchema: featureSchemaOf(gbdt.features),
    snapshotSha256: 'f'.repeat(64),
    parentVersion: null,
    evaluationReportId: null,
    servingRecipe,
  });
  await setModelVersionStatus(database.db, row.id, version.version, 'approved');
  await setProduction(database.db, { ...version, status: 'approved' }, model);
}

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await mkdtemp(join(tmpdir(), 'keel-attacks-'));
  dataRoot = join(scratch, 'datasets');
  await mkdir(dataRoot);
  config = loadConfig({ KEEL_DATA_ROOTS: dataRoot, KEEL_ARTIFACT_DIR: join(scratch, 'artifacts') });
  artifacts = new FsArtifactStore(config.artifactDir);
  serving = await createServingDeps({ db: database.db, pool: database.pool, artifacts, logger: silent, predictionLog: { flushIntervalMs: 3_600_000 } });
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({ config, db: database.db, pool: database.pool, serving, logger: false });
  await app.ready();
  for (const role of ['predict', 'ops', 'engineer'] as const) {
    const response = await send('POST', '/v1/keys', keys.admin, { name: `${role}-key`, roles: [role] });
    keys[role] = response.json().secret;
  }
  await deployWithRecipe('raw', recipe());
  await deployWithRecipe('windowed', recipe({ rowWise: false, rowWiseReason: 'it uses window function avg()', transform: 'SELECT x - avg(x) OVER () AS x, color FROM source' }));
  await deployWithRecipe('reader', recipe({ transform: "SELECT x, color FROM source, read_csv('/etc/passwd')" }));
  await deployWithRecipe('envy', recipe({ transform: "SELECT x, getenv('HOME') AS color FROM source" }));
  await deployWithRecipe('other', recipe());
  const codes = Array.from({ length: 300 }, (_, i) => `('c${i}', '${i % 2 ? 'red' : 'blue'}')`).join(', ');
  await deployWithRecipe('lookup', recipe({ transform: `SELECT s.x, m.name AS color FROM source s LEFT JOIN (VALUES ${codes}) m(code, name) ON s.color = m.code` }));
  await deployWithRecipe('tags', recipe({ transform: "SELECT x, tag AS color FROM source, unnest(string_split(color, ',')) AS t(tag)" }));
  await deployWithRecipe('uses-n', recipe({ transform: "SELECT x + n AS x, CAST(color AS INTEGER)::VARCHAR AS color FROM source" }));
});

afterAll(async () => {
  await app?.close();
  await serving?.close();
  await database?.close();
  await rm(scratch, { recursive: true, force: true });
});

function send(method: 'GET' | 'POST', url: string, key: string, payload?: unknown, contentType = 'application/json') {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
}

const good = { x: 2, color: 'red', day: '2024-02-29', flag: true, n: 3 };

async function loggedRows(): Promise<number> {
  await serving.predictionLog.flush();
  const result = await database.pool.query<{ n: string }>('SELECT count(*) AS n FROM predictions');
  return Number(result.rows[0]!.n);
}

describe('raw rows from hostile callers', () => {
  it('scores a good row, and carries SQL-looking text as a value, never as SQL', async () => {
    const ok = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [good] });
    expect(ok.statusCode).toBe(200);
    const sqlish = { ...good, color: "red'); DROP TABLE predictions; --" };
    const response = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [sqlish, { ...good, color: '$1 \\N\t\n' }] });
    expect(response.statusCode).toBe(200);
    const [id] = response.json().predictions.map((p: { id: string }) => p.id);
    await serving.predictionLog.flush();
    const logged = await database.pool.query('SELECT source, features FROM predictions WHERE id = $1', [id]);
    expect(logged.rows[0]).toEqual({ source: sqlish, features: { x: 2, color: sqlish.color } });
  });

  it('takes a huge string up to the body limit and refuses a bigger body with 413', async () => {
    const big = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [{ ...good, color: 'r'.repeat(900_000) }] });
    expect(big.statusCode).toBe(200);
    const tooBig = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [{ ...good, color: 'r'.repeat(5_000_000) }] });
    expect(tooBig.statusCode).toBe(413);
  });

  it('refuses deep nesting, prototype keys, non-finite numbers and junk bodies with 400', async () => {
    const before = await loggedRows();
    const deep = `{"rows":[{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`;
    const cases: Array<[string, unknown]> = [
      ['deep', deep],
      ['proto', '{"rows":[{"__proto__":{"x":1},"x":2,"color":"red","day":"2024-01-01","flag":true,"n":1}]}'],
      ['constructor.prototype', '{"rows":[{"constructor":{"prototype":{"x":1}},"x":2,"color":"red","day":"2024-01-01","flag":true,"n":1}]}'],
      ['constructor', { rows: [{ ...good, constructor: 1 }] }],
      ['toString', { rows: [{ ...good, toString: 'x' }] }],
      ['infinity', '{"rows":[{"x":1e400,"color":"red","day":"2024-01-01","flag":true,"n":1}]}'],
      ['NaN literal', '{"rows":[{"x":NaN,"color":"red","day":"2024-01-01","flag":true,"n":1}]}'],
      ['empty body', ''],
      ['empty object', {}],
      ['null', 'null'],
      ['array', '[]'],
      ['both', { rows: [good], features: [{ x: 1 }] }],
      ['no rows', { rows: [] }],
      ['1001 rows', { rows: Array.from({ length: 1001 }, () => good) }],
      ['string x', { rows: [{ ...good, x: '2' }] }],
      ['boolean x', { rows: [{ ...good, x: true }] }],
      ['number color', { rows: [{ ...good, color: 5 }] }],
      ['object x', { rows: [{ ...good, x: { $gt: 1 } }] }],
      ['string flag', { rows: [{ ...good, flag: 'true' }] }],
      ['fraction n', { rows: [{ ...good, n: 1.5 }] }],
      ['huge n', { rows: [{ ...good, n: 2 ** 60 }] }],
      ['extra field', { rows: [{ ...good, extra: 1 }] }],
      ['missing field', { rows: [{ x: 2, color: 'red', day: '2024-01-01', flag: true }] }],
      ['row is array', { rows: [[1, 2]] }],
      ['row is null', { rows: [null] }],
      ['NUL in text', { rows: [{ ...good, color: 'a\u0000b' }] }],
    ];
    for (const [name, payload] of cases) {
      const response = await send('POST', '/v1/models/raw/predict', keys.predict, payload);
      expect([name, response.statusCode]).toEqual([name, 400]);
      expect(response.json().error.code).toBeTypeOf('string');
    }
    expect(await loggedRows()).toBe(before);
  });

  it('refuses dates that are not dates, naming the row and field', async () => {
    for (const day of ['99999-01-01', '-0001-01-01', '2023-02-29', '2024-13-01', '2024-1-1', '2024-01-01T00:00:00Z', 'yesterday', '']) {
      const response = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [good, { ...good, day }] });
      expect([day, response.statusCode]).toEqual([day, 400]);
      expect(response.json().error.details).toMatchObject({ row: 1, field: 'day' });
    }
    for (const day of ['0000-01-01', '0001-01-01', '0099-12-31', '1900-01-01', '9999-12-31']) {
      const response = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [{ ...good, day }] });
      expect([day, response.statusCode]).toEqual([day, 200]);
    }
  });

  it('refuses integers out of their column type\'s range, naming the row and field, even when the transform ignores the column', async () => {
    for (const n of [300, -129, 2 ** 60]) {
      const response = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [good, good, { ...good, n }] });
      expect([n, response.statusCode]).toEqual([n, 400]);
      expect(response.json().error.details).toMatchObject({ row: 2, field: 'n' });
    }
    for (const n of [127, -128]) {
      expect((await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [{ ...good, n }] })).statusCode).toBe(200);
    }
  });

  it('names the row on which the feature SQL itself fails', async () => {
    const ok = await send('POST', '/v1/models/uses-n/predict', keys.predict, { rows: [{ ...good, color: '7' }] });
    expect(ok.statusCode).toBe(200);
    const response = await send('POST', '/v1/models/uses-n/predict', keys.predict, { rows: [{ ...good, color: '1' }, { ...good, color: '2' }, good] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details).toMatchObject({ row: 2 });
    expect(response.json().error.message).toMatch(/^rows\[2\]/);
  });

  it('takes exactly 1,000 rows, and many concurrent requests each get their own rows back', async () => {
    const thousand = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: Array.from({ length: 1000 }, (_, i) => ({ ...good, x: i % 2 })) });
    expect(thousand.statusCode).toBe(200);
    expect(thousand.json().predictions).toHaveLength(1000);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send('POST', '/v1/models/raw/predict', keys.predict, { rows: [{ ...good, x: i % 2, color: i % 3 ? 'red' : 'blue' }] })),
    );
    const expected = (i: number) => thousand.json().predictions[i % 2].probability;
    answers.forEach((answer, i) => {
      expect(answer.statusCode).toBe(200);
      if (i % 3) expect(answer.json().predictions[0].probability).toBe(expected(i));
    });
  });

  it('answers each row of a batch with its own features when the feature SQL joins a lookup table (a join may reorder rows)', async () => {
    const rows = [{ ...good, x: 1, color: 'c251' }, { ...good, x: 0, color: 'c4' }, { ...good, x: 1, color: 'c100' }, { ...good, x: 1, color: 'c7' }];
    const batch = await send('POST', '/v1/models/lookup/predict', keys.predict, { rows });
    expect(batch.statusCode).toBe(200);
    for (const [i, row] of rows.entries()) {
      const single = await send('POST', '/v1/models/lookup/predict', keys.predict, { rows: [row] });
      expect([i, batch.json().predictions[i].probability]).toEqual([i, single.json().predictions[0].probability]);
    }
    await serving.predictionLog.flush();
    const ids = batch.json().predictions.map((p: { id: string }) => p.id);
    const logged = await database.pool.query('SELECT source, features FROM predictions WHERE id = ANY($1)', [ids]);
    for (const row of logged.rows) expect(row.features.x).toBe(row.source.x);
  });

  it('never hands one row the feature row another row produced (a feature SQL that makes 2 rows of one and none of another)', async () => {
    const response = await send('POST', '/v1/models/tags/predict', keys.predict, { rows: [{ ...good, color: 'red,blue' }, { ...good, color: null }] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details).toMatchObject({ row: 0 });
  });

  it('refuses raw rows for a model whose feature SQL is not row-wise, and still takes features', async () => {
    const raw = await send('POST', '/v1/models/windowed/predict', keys.predict, { rows: [good] });
    expect(raw.statusCode).toBe(400);
    expect(raw.json().error.code).toBe('RAW_ROWS_NOT_SERVABLE');
    const features = await send('POST', '/v1/models/windowed/predict', keys.predict, { features: [{ x: 1, color: 'red' }] });
    expect(features.statusCode).toBe(200);
  });

  it('never lets a served transform read files or the environment, and answers 4xx, not 5xx', async () => {
    for (const model of ['reader', 'envy']) {
      const response = await send('POST', `/v1/models/${model}/predict`, keys.predict, { rows: [good] });
      expect([model, response.statusCode < 500]).toEqual([model, true]);
      expect(response.body).not.toContain('root:');
      expect(response.body).not.toContain(process.env.HOME ?? 'no-home');
    }
  });
});

describe('feature rows read straight into columns (the plain body) against the same rows through JSON.parse', () => {
  /**
   * The same body sent as written (read into columns: padded past the route's 4,096-character threshold) and with its
   * "features" key's f written as \u0066 (JSON.parse).
   */
  async function bothWays(body: string) {
    const text = body.padEnd(5000, ' ');
    const escaped = text.replace('"features"', '"\\u0066eatures"');
    expect(escaped).not.toBe(text);
    const [columns, parsed] = [await send('POST', '/v1/models/raw/predict', keys.predict, text), await send('POST', '/v1/models/raw/predict', keys.predict, escaped)];
    return { columns, parsed };
  }

  it('answers the same scores, and ids that are one v4 base with the row index in its low 16 bits', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) =>
      i % 4 === 0 ? { x: i / 10 - 50, color: i % 3 ? 'red' : 'blue' } : i % 4 === 1 ? { color: null, x: null } : i % 4 === 2 ? {} : { x: -0, color: 'green' },
    );
    const { columns, parsed } = await bothWays(JSON.stringify({ features: rows }));
    expect(columns.statusCode).toBe(200);
    expect(parsed.statusCode).toBe(200);
    const strip = (body: { predictions: Array<{ id: string }> }) => ({ ...body, predictions: body.predictions.map(({ id: _id, ...rest }) => rest) });
    expect(strip(columns.json())).toEqual(strip(parsed.json()));
    const ids = (columns.json() as { predictions: Array<{ id: string }> }).predictions.map((prediction) => prediction.id);
    expect(ids.map((_, i) => predictionIdAt(ids[0]!, i))).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses bad rows with the same 400, naming the same row and field', async () => {
    const cases = [
      '{"features":[{"x":1,"color":"red"},{"x":"2","color":"red"}]}',
      '{"features":[{"x":1,"color":2}]}',
      '{"features":[{"x":1,"colour":"red"}]}',
      '{"features":[{"x":1},{"x":2,"nope":1,"color":3},{"x":"a"}]}',
      '{"features":[{"x":1},{"color":3,"x":2,"nope":1}]}',
      '{"features":[{"x":1e400}]}',
      '{"features":[{"x":true}]}',
      '{"features":[{"x":1,"__proto__":{"x":1}}]}',
      `{"features":[${Array.from({ length: 1001 }, () => '{"x":1}').join(',')}]}`,
      '{"features":[]}',
      '{"features":[{"x":1}],"rows":[{"x":1}]}',
    ];
    for (const text of cases) {
      const { columns, parsed } = await bothWays(text);
      expect(columns.statusCode, text.slice(0, 80)).toBe(400);
      expect(columns.json(), text.slice(0, 80)).toEqual(parsed.json());
    }
  });
});

describe('the log and feedback against the wrong caller or junk', () => {
  it('refuses the prediction log to predict, engineer and reviewer-less keys', async () => {
    for (const key of [keys.predict, keys.engineer]) {
      expect((await send('GET', '/v1/models/raw/predictions', key)).statusCode).toBe(403);
    }
    expect((await send('GET', '/v1/models/raw/predictions', keys.ops)).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/models/raw/predictions' })).statusCode).toBe(401);
  });

  it('refuses bad query strings on the log with 400', async () => {
    for (const query of ['limit=0', 'limit=-5', 'limit=abc', 'limit=1e9', 'version=x', 'order=sideways', 'from=2024-99-99', 'cursor=' + 'A'.repeat(300), 'to=%00']) {
      const response = await send('GET', `/v1/models/raw/predictions?${query}`, keys.ops);
      expect([query, response.statusCode]).toEqual([query, response.statusCode === 200 ? 200 : 400]);
    }
  });

  it('feedback: labels 2 / -1 / "yes" / null → 400 with nothing written; 10,000 items in one request; 10,001 refused', async () => {
    const predicted = await send('POST', '/v1/models/raw/predict', keys.predict, { rows: [good, good] });
    const [a, b] = predicted.json().predictions.map((p: { id: string }) => p.id);
    for (const label of [2, -1, 'yes', null, 0.5, '1']) {
      const response = await send('POST', '/v1/models/raw/feedback', keys.predict, { items: [{ predictionId: a, label: 1 }, { predictionId: b, label }] });
      expect([label, response.statusCode]).toEqual([label, 400]);
    }
    expect((await database.pool.query('SELECT count(*)::int AS n FROM feedback')).rows[0].n).toBe(0);

    const many = Array.from({ length: 10_000 }, (_, i) => ({ predictionId: i === 0 ? a : i === 1 ? b : randomUUID(), label: i % 2 }));
    many.push({ predictionId: a, label: 0 });
    many.splice(2, 1);
    const response = await send('POST', '/v1/models/raw/feedback', keys.predict, { items: many });
    expect(response.statusCode).toBe(200);
    expect(response.json().accepted).toBe(2);
    expect(response.json().unknown).toHaveLength(9_997);
    expect(response.json().duplicates).toEqual([a]);
    const tooMany = await send('POST', '/v1/models/raw/feedback', keys.predict, { items: [...many, ...many].slice(0, 10_001) });
    expect(tooMany.statusCode).toBe(400);
  });

  it("feedback for another model's prediction is unknown, and a model-less id never attaches", async () => {
    const predicted = await send('POST', '/v1/models/other/predict', keys.predict, { rows: [good] });
    const [id] = predicted.json().predictions.map((p: { id: string }) => p.id);
    const response = await send('POST', '/v1/models/raw/feedback', keys.predict, { items: [{ predictionId: id, label: 1 }] });
    expect(response.json()).toEqual({ accepted: 0, unknown: [id], duplicates: [] });
  });

  it('bulk feedback: paths outside the roots, traversal and symlinks escaping them are refused', async () => {
    const outside = join(scratch, 'outside.csv');
    await writeFile(outside, `id,y\n${randomUUID()},1\n`);
    await symlink(outside, join(dataRoot, 'escape.csv'));
    await symlink(scratch, join(dataRoot, 'escape-dir'));
    for (const uri of ['/etc/passwd', '../outside.csv', 'escape.csv', 'escape-dir/outside.csv', 'file:///etc/passwd', 'http://127.0.0.1/x.csv', '/dev/zero', '.', '*.csv']) {
      const response = await send('POST', '/v1/models/raw/feedback', keys.predict, { dataset: { uri }, idColumn: 'id', labelColumn: 'y' });
      expect([uri, response.statusCode >= 400 && response.statusCode < 500]).toEqual([uri, true]);
    }
  });
});

describe('Postgres unreachable while serving', () => {
  /** A TCP proxy to the test Postgres on loopback, which can drop every connection and refuse new ones. */
  async function startProxy(target: URL): Promise<{ port: number; cutOff(): Promise<void>; restore(): Promise<void> }> {
    const sockets = new Set<Socket>();
    let server: Server | undefined;
    let port = 0;
    const listen = () =>
      new Promise<void>((resolve) => {
        server = createServer((client) => {
          const upstream = connect(Number(target.port), target.hostname);
          for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('error', () => undefined);
            socket.on('close', () => sockets.delete(socket));
          }
          client.pipe(upstream).pipe(client);
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
        });
        server.listen(port, '127.0.0.1', () => {
          port = (server!.address() as { port: number }).port;
          resolve();
        });
      });
    await listen();
    return {
      port,
      cutOff: async () => {
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
      },
      restore: listen,
    };
  }

  it('keeps answering from memory until the log is full, then 503 + Retry-After; the API answers 503 (not 500) for what needs Postgres; nothing is lost', async () => {
    const target = new URL(database.url);
    const proxy = await startProxy(target);
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    const own = createDb(proxied.toString(), { max: 3, logger: silent });
    const deps = await createServingDeps({
      db: own.db,
      pool: own.pool,
      artifacts,
      logger: silent,
      predictionLog: { bufferRows: 8, flushIntervalMs: 20, retryDelayMs: 20 },
    });
    const downApp = await buildApp({ config, db: own.db, pool: own.pool, serving: deps, logger: false, keyCacheTtlMs: 600_000 });
    const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
      downApp.inject({ method, url, headers: { authorization: `Bearer ${keys.predict}` }, ...(payload ? { payload: payload as object } : {}) });
    const opsCall = (url: string) => downApp.inject({ method: 'GET', url, headers: { authorization: `Bearer ${keys.ops}` } });
    const answered: string[] = [];
    try {
      const warm = await call('POST', '/v1/models/raw/predict', { rows: [good] });
      expect(warm.statusCode).toBe(200);
      answered.push(...warm.json().predictions.map((p: { id: string }) => p.id));
      expect((await opsCall('/v1/models/raw/predictions?limit=1')).statusCode).toBe(200);
      await deps.predictionLog.flush();
      await proxy.cutOff();

      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const response = await call('POST', '/v1/models/raw/predict', { rows: [good, good] });
        statuses.push(response.statusCode);
        if (response.statusCode === 200) answered.push(...response.json().predictions.map((p: { id: string }) => p.id));
        else expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses.slice(4)).toEqual([503, 503, 503, 503]);

      const feedback = await call('POST', '/v1/models/raw/feedback', { items: [{ predictionId: answered[0], label: 1 }] });
      expect(feedback.statusCode).toBe(503);
      expect(Number(feedback.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const page = await opsCall('/v1/models/raw/predictions');
      expect(page.statusCode).toBe(503);
      const cold = await call('POST', '/v1/models/other/predict', { rows: [good] });
      expect(cold.statusCode).toBe(503);
      // The flusher retries on its own schedule; wait (bounded) for it to have tried against the dead connection.
      for (let i = 0; i < 600 && deps.predictionLog.stats().failedFlushes === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(deps.predictionLog.stats().failedFlushes).toBeGreaterThan(0);
    } finally {
      await proxy.restore();
    }
    for (;;) {
      try {
        await deps.predictionLog.flush();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await downApp.close();
    await deps.close();
    await own.close();
    const logged = await database.pool.query<{ id: string }>('SELECT id FROM predictions WHERE id = ANY($1)', [answered]);
    expect(logged.rows).toHaveLength(answered.length);
    expect(deps.predictionLog.stats().droppedRows).toBe(0);
  });
});
