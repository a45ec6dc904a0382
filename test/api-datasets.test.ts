// POST/GET /v1/datasets through app.inject() on a real Postgres and the real DuckDB: streamed upload, sha256,
// content address inside the data root, the size limit (413) and unreadable files (400) leaving nothing on disk.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { loadConfig } from '../config.js';
import { resolveAllowedPath } from '../data/allowed-path.js';
import { openDuckDb } from '../data/duckdb-session.js';
import { auditLog } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { filesUnder } from './support/files-under.js';

let database: TestDatabase;
let scratch: string;
let app: KeelApp;
let smallApp: KeelApp;
let dataRoot: string;
const keys = { admin: '', engineer: '', predict: '' };
const SMALL_LIMIT = 2_000;

/** A 201's upload view, or an error body. */
type UploadAnswer = Record<string, unknown> & { uri: string; error: { code: string; message: string } };

async function multipart(fileName: string, content: Buffer | string, field = 'file') {
  const form = new FormData();
  form.append(field, new Blob([content]), fileName);
  const request = new Request('http://upload.test/', { method: 'POST', body: form });
  return { payload: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

async function upload(target: KeelApp, fileName: string, content: Buffer | string, key = keys.engineer, field = 'file') {
  const { payload, contentType } = await multipart(fileName, content, field);
  const response = await target.inject({
    method: 'POST',
    url: '/v1/datasets',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    payload,
  });
  return { status: response.statusCode, body: response.json() as UploadAnswer };
}

beforeAll(async () => {
  database = await createTestDatabase();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-datasets-'));
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  const env = { KEEL_DATA_DIR: scratch, DATABASE_URL: database.url };
  const config = loadConfig(env);
  dataRoot = config.dataRoots[0]!;
  app = await buildApp({ config, db: database.db, pool: database.pool, logger: false });
  smallApp = await buildApp({
    config: loadConfig({ ...env, KEEL_UPLOAD_MAX_BYTES: String(SMALL_LIMIT) }),
    db: database.db,
    pool: database.pool,
    logger: false,
  });
  for (const [name, roles] of [['engineer', ['engineer']], ['predict', ['predict']]] as const) {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: { authorization: `Bearer ${keys.admin}` },
      payload: { name, user: name, roles },
    });
    keys[name] = response.json().secret;
  }
});

afterAll(async () => {
  await app?.close();
  await smallApp?.close();
  await database?.close();
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

const csv = 'id,city,temp\n1,Oslo,3.5\n2,Lima,19\n3,Pune,31.25\n';

describe('POST /v1/datasets', () => {
  it('when a CSV is uploaded, then it is stored under its sha256 in the data root, readable by ingest, listed and audited', async () => {
    const { status, body } = await upload(app, 'cities.csv', csv);
    expect(status, JSON.stringify(body)).toBe(201);
    const sha256 = createHash('sha256').update(csv).digest('hex');
    expect(body).toMatchObject({ sha256, bytes: Buffer.byteLength(csv), rows: 3, format: 'csv', fileName: 'cities.csv', uploadedBy: 'engineer' });
    expect(body.columns).toEqual([
      { name: 'id', type: 'BIGINT' },
      { name: 'city', type: 'VARCHAR' },
      { name: 'temp', type: 'DOUBLE' },
    ]);
    expect(body.uri).toBe(path.join(dataRoot, 'uploads', `${sha256}.csv`));
    expect(await fs.readFile(body.uri, 'utf8')).toBe(csv);
    // The uri passes the same data-root check ingest applies to a run's dataset.uri.
    expect(await resolveAllowedPath(body.uri, [dataRoot])).toBe(await fs.realpath(body.uri));

    const listed = await app.inject({ method: 'GET', url: '/v1/datasets', headers: { authorization: `Bearer ${keys.engineer}` } });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().datasets[0]).toMatchObject({ id: body.id, uri: body.uri, sha256 });
    const audit = await database.db.select().from(auditLog).where(eq(auditLog.action, 'dataset.upload'));
    expect(audit.find((row) => row.subject === `dataset_upload:${body.id}`)).toMatchObject({ actor: 'engineer', role: 'engineer' });
  });

  it('when JSON lines or Parquet are uploaded, then they are read by their format', async () => {
    const jsonl = '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n';
    const lines = await upload(app, 'rows.jsonl', jsonl);
    expect(lines.status, JSON.stringify(lines.body)).toBe(201);
    expect(lines.body).toMatchObject({ rows: 2, format: 'ndjson' });
    expect(lines.body.uri.endsWith('.jsonl')).toBe(true);

    const parquetPath = path.join(scratch, 'made.parquet');
    const session = await openDuckDb();
    try {
      await session.connection.run(`COPY (SELECT range AS n, CAST(range * 2.5 AS DOUBLE) AS x FROM range(5)) TO '${parquetPath}' (FORMAT parquet)`);
    } finally {
      session.close();
    }
    const parquet = await upload(app, 'made.parquet', await fs.readFile(parquetPath));
    expect(parquet.status, JSON.stringify(parquet.body)).toBe(201);
    expect(parquet.body).toMatchObject({ rows: 5, format: 'parquet', columns: [{ name: 'n', type: 'BIGINT' }, { name: 'x', type: 'DOUBLE' }] });
  });

  it('when the file is over KEEL_UPLOAD_MAX_BYTES, then 413 and nothing is left on disk', async () => {
    const before = await filesUnder(dataRoot);
    const big = `id,text\n${Array.from({ length: 200 }, (_, i) => `${i},${'x'.repeat(20)}`).join('\n')}\n`;
    expect(big.length).toBeGreaterThan(SMALL_LIMIT);
    const { status, body } = await upload(smallApp, 'big.csv', big);
    expect(status).toBe(413);
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.error.message).toMatch(/KEEL_UPLOAD_MAX_BYTES/);
    expect(await filesUnder(dataRoot)).toEqual(before);
    // Under the limit the same small app takes it.
    expect((await upload(smallApp, 'small.csv', csv)).status).toBe(201);
  });

  it.each([
    ['an image named .png', 'photo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
    ['binary bytes named .csv', 'fake.csv', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0xc3, 0x28, 0xa0, 0xa1, 0x0a, 0xe2, 0x28, 0xa1, 0x0a])],
    ['a ragged CSV', 'ragged.csv', 'a,b\n1,2\n3,4,5,6\n'],
    ['a header without rows', 'empty.csv', 'a,b\n'],
    ['text named .parquet', 'table.parquet', 'not parquet at all\n'],
    ['a JSON array named .jsonl', 'array.jsonl', '[{"a": 1},\n{"a": 2}]'],
  ])('when %s is uploaded, then 400 DATASET_UNREADABLE and nothing is left on disk', async (_label, fileName, content) => {
    const before = await filesUnder(dataRoot);
    const { status, body } = await upload(app, fileName, content);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('DATASET_UNREADABLE');
    expect(body.error.message).toContain(fileName);
    expect(await filesUnder(dataRoot)).toEqual(before);
  });

  it('refuses a key without the engineer role (403), a body without a "file" field (400) and a JSON body (415)', async () => {
    expect((await upload(app, 'cities.csv', csv, keys.predict)).status).toBe(403);
    const wrongField = await upload(app, 'cities.csv', csv, keys.engineer, 'data');
    expect(wrongField.status).toBe(400);
    expect(wrongField.body.error.message).toMatch(/file/);
    const json = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { authorization: `Bearer ${keys.engineer}`, 'content-type': 'application/json' },
      payload: { uri: '/etc/passwd' },
    });
    expect(json.statusCode).toBe(415);
  });

  it('when a multipart body is malformed (no parts, cut short), then 400 naming the body, never a 500', async () => {
    for (const payload of ['../../etc/passwd', '--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2']) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/datasets',
        headers: { authorization: `Bearer ${keys.engineer}`, 'content-type': 'multipart/form-data; boundary=x' },
        payload,
      });
      expect(response.statusCode, payload).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
