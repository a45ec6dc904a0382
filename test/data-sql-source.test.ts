// SQL sources against the real Postgres of the test stack: read-only, typed, and refused when they try to write.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { profileSnapshot } from '../data/profile-snapshot.js';
import { readSnapshotColumns } from '../data/read-snapshot-columns.js';
import { snapshotDataset } from '../data/snapshot-dataset.js';
import { createDataSandbox, type DataSandbox } from './data-sandbox.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

let database: TestDatabase;
let sandbox: DataSandbox;

beforeAll(async () => {
  database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`
      CREATE TABLE flights (
        id serial PRIMARY KEY, flown_at timestamptz NOT NULL, day date, delay integer, distance bigint,
        fare numeric(8,2), ratio double precision, origin text, note varchar(40), late boolean
      );
      CREATE SEQUENCE keel_probe;
      INSERT INTO flights (flown_at, day, delay, distance, fare, ratio, origin, note, late)
      SELECT timestamptz '2024-01-01 00:00:00+00' + make_interval(mins => g), date '2024-01-01' + (g % 30), (g % 50) - 10,
             100 + g, (g % 7) * 10.25, g / 3.0, (ARRAY['SEA','SFO','JFK'])[1 + g % 3],
             CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 1 THEN '' ELSE 'say "hi", then
leave' END, g % 50 > 25
      FROM generate_series(1, 25000) g;`);
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  sandbox = await createDataSandbox({ sqlConnections: { warehouse: database.url }, sqlStatementTimeoutMs: 5000 });
});

afterEach(async () => {
  await sandbox.cleanup();
});

const ingest = (query: string) =>
  snapshotDataset({ source: { kind: 'sql', connection: 'warehouse', query } }, { artifacts: sandbox.artifacts, settings: sandbox.settings });

async function flightCount(): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*) AS n FROM flights')).rows[0].n);
  } finally {
    await client.end();
  }
}

describe('SQL sources', () => {
  it('extracts a query result in batches with Postgres types mapped to DuckDB types', async () => {
    const snapshot = await ingest('SELECT flown_at, day, delay, distance, fare, ratio, origin, note, late FROM flights ORDER BY id');
    expect(snapshot.rowCount).toBe(25000);
    expect(snapshot.columns).toEqual([
      { name: 'flown_at', type: 'TIMESTAMP WITH TIME ZONE' },
      { name: 'day', type: 'DATE' },
      { name: 'delay', type: 'INTEGER' },
      { name: 'distance', type: 'BIGINT' },
      { name: 'fare', type: 'DOUBLE' },
      { name: 'ratio', type: 'DOUBLE' },
      { name: 'origin', type: 'VARCHAR' },
      { name: 'note', type: 'VARCHAR' },
      { name: 'late', type: 'BOOLEAN' },
    ]);
    const path = await sandbox.artifacts.localPath(snapshot.sha256);
    const profile = await profileSnapshot(path);
    const note = profile.columns.find((column) => column.name === 'note')!;
    // NULL stays NULL, the empty string stays an empty string, and embedded quotes/newlines survive.
    expect(note.nullCount).toBe(2500);
    expect(note.topValues).toEqual([
      { value: 'say "hi", then\nleave', count: 20000 },
      { value: '', count: 2500 },
    ]);
    const data = await readSnapshotColumns(path, { features: ['delay', 'fare', 'late'] });
    expect(Array.from((data.columns.delay as Float64Array).slice(0, 3))).toEqual([-9, -8, -7]);
    expect((data.columns.fare as Float64Array)[5]).toBeCloseTo(61.5, 9);
    expect(profile.columns.find((column) => column.name === 'late')!.topValues!.map((entry) => entry.value).sort()).toEqual([
      'false',
      'true',
    ]);
  });

  it('accepts a WITH … SELECT', async () => {
    const snapshot = await ingest('WITH sea AS (SELECT * FROM flights WHERE origin = $$SEA$$) SELECT count(*) AS n FROM sea');
    expect(snapshot.rowCount).toBe(1);
  });

  it('rejects a DELETE and leaves the table as it was', async () => {
    await expect(ingest('DELETE FROM flights')).rejects.toMatchObject({ code: 'SOURCE_QUERY_REJECTED' });
    expect(await flightCount()).toBe(25000);
    expect(await sandbox.files()).toEqual([]);
  });

  it('rejects "SELECT …; DROP TABLE" and leaves the table in place', async () => {
    await expect(ingest('SELECT 1; DROP TABLE flights')).rejects.toMatchObject({ code: 'SOURCE_QUERY_REJECTED' });
    expect(await flightCount()).toBe(25000);
    expect(await sandbox.files()).toEqual([]);
  });

  it('when a SELECT has a side effect, then the read-only transaction refuses it', async () => {
    await expect(ingest("SELECT nextval('keel_probe')")).rejects.toMatchObject({
      code: 'SOURCE_QUERY_REJECTED',
      message: expect.stringMatching(/read-only transaction/),
    });
    expect(await sandbox.files()).toEqual([]);
  });

  it('reports a failing query as unreadable, naming the connection', async () => {
    await expect(ingest('SELECT no_such_column FROM flights')).rejects.toMatchObject({
      code: 'SOURCE_UNREADABLE',
      message: expect.stringMatching(/on warehouse failed: column "no_such_column" does not exist/),
    });
    expect(await sandbox.files()).toEqual([]);
  });

  it('when cancelled, then the running query is abandoned and nothing is left behind', async () => {
    const controller = new AbortController();
    const pending = snapshotDataset(
      { source: { kind: 'sql', connection: 'warehouse', query: 'SELECT pg_sleep(4), 1 AS x' } },
      { artifacts: sandbox.artifacts, settings: sandbox.settings, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('run cancelled')), 300);
    await expect(pending).rejects.toThrow('run cancelled');
    expect(await sandbox.files()).toEqual([]);
  });

  it('stops a query that runs past the statement timeout', async () => {
    const local = await createDataSandbox({ sqlConnections: { warehouse: database.url }, sqlStatementTimeoutMs: 200 });
    try {
      await expect(
        snapshotDataset(
          { source: { kind: 'sql', connection: 'warehouse', query: 'SELECT pg_sleep(5)' } },
          { artifacts: local.artifacts, settings: local.settings },
        ),
      ).rejects.toMatchObject({ code: 'SOURCE_UNREADABLE', message: expect.stringMatching(/statement timeout/) });
      expect(await local.files()).toEqual([]);
    } finally {
      await local.cleanup();
    }
  });
});
