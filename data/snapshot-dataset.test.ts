import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { openDuckDb } from './duckdb-session.js';
import { readCodedColumnsWith, readSnapshotCodedColumns, readSnapshotColumns, selectCodedRows } from './read-snapshot-columns.js';
import { selectRows, unusableReason } from './training-data.js';
import { snapshotDataset, type SnapshotRequest } from './snapshot-dataset.js';

let sandbox: DataSandbox;

beforeEach(async () => {
  sandbox = await createDataSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

const ingest = (request: SnapshotRequest) => snapshotDataset(request, { artifacts: sandbox.artifacts, settings: sandbox.settings });
const weather = { kind: 'file', path: 'seattle-weather.csv' } as const;

describe('snapshotDataset', () => {
  it('freezes the seattle-weather CSV as a Parquet artifact named by its sha256', async () => {
    const snapshot = await ingest({ source: weather });
    expect(snapshot.rowCount).toBe(1461);
    expect(snapshot.columns).toEqual([
      { name: 'date', type: 'DATE' },
      { name: 'precipitation', type: 'DOUBLE' },
      { name: 'temp_max', type: 'DOUBLE' },
      { name: 'temp_min', type: 'DOUBLE' },
      { name: 'wind', type: 'DOUBLE' },
      { name: 'weather', type: 'VARCHAR' },
    ]);
    expect(snapshot.uri).toMatch(new RegExp(`/sha256/${snapshot.sha256.slice(0, 2)}/${snapshot.sha256}\\.parquet$`));
    // The snapshot and, for the serving recipe, a sample of the source rows.
    const sample = snapshot.servingSource.sampleSha256;
    expect((await sandbox.files()).sort()).toEqual(
      [`artifacts/sha256/${snapshot.sha256.slice(0, 2)}/${snapshot.sha256}.parquet`, `artifacts/sha256/${sample.slice(0, 2)}/${sample}.parquet`].sort(),
    );
  });

  it('when the same data is ingested twice, then both runs get the same single snapshot', async () => {
    const first = await ingest({ source: weather });
    const second = await ingest({ source: weather });
    expect(second).toEqual(first);
    expect(await sandbox.files()).toHaveLength(2); // the snapshot and its source sample, each stored once
  });

  it('derives features with a transform over `source`', async () => {
    const snapshot = await ingest({
      source: weather,
      transform: `SELECT month(date) AS month, dayofweek(date) AS weekday, temp_max - temp_min AS temp_range,
                         precipitation > 0 AS wet, weather
                  FROM source WHERE date < DATE '2013-01-01' -- trailing comment`,
    });
    expect(snapshot.rowCount).toBe(366);
    expect(snapshot.columns).toEqual([
      { name: 'month', type: 'BIGINT' },
      { name: 'weekday', type: 'BIGINT' },
      { name: 'temp_range', type: 'DOUBLE' },
      { name: 'wet', type: 'BOOLEAN' },
      { name: 'weather', type: 'VARCHAR' },
    ]);
    const data = await readSnapshotColumns(await sandbox.artifacts.localPath(snapshot.sha256), {
      features: ['month', 'temp_range', 'weather'],
      target: 'wet',
    });
    expect(data.rowCount).toBe(366);
    expect(data.columns.month![0]).toBe(1);
    expect(data.columns.temp_range![0]).toBeCloseTo(12.8 - 5.0, 9);
    expect(data.columns.weather![0]).toBe('drizzle');
    expect(Array.from(data.label!.slice(0, 3))).toEqual([0, 1, 1]);
  });

  it('joins two named sources', async () => {
    await writeFile(
      join(sandbox.dataRoot, 'weather-codes.ndjson'),
      ['{"weather":"rain","wet":true}', '{"weather":"drizzle","wet":true}', '{"weather":"sun","wet":false}'].join('\n'),
    );
    const snapshot = await ingest({
      source: weather,
      sources: { codes: { kind: 'file', path: 'weather-codes.ndjson' } },
      transform: 'SELECT s.date, s.weather, c.wet FROM source s JOIN codes c USING (weather) ORDER BY s.date',
    });
    expect(snapshot.columns.map((column) => column.name)).toEqual(['date', 'weather', 'wet']);
    expect(snapshot.rowCount).toBe(641 + 53 + 640);
  });

  it('reads JSON arrays and Parquet files', async () => {
    await writeFile(join(sandbox.dataRoot, 'rows.json'), JSON.stringify([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]));
    const json = await ingest({ source: { kind: 'file', path: 'rows.json' } });
    expect(json).toMatchObject({ rowCount: 2, columns: [{ name: 'a', type: 'BIGINT' }, { name: 'b', type: 'VARCHAR' }] });
    const fromParquet = await ingest({ source: { kind: 'file', path: json.uri.replace('file://', '') } }).catch((error: Error) => error);
    // The artifact store is not a data root: even Keel's own files are refused unless an admin lists them.
    expect(fromParquet).toMatchObject({ code: 'SOURCE_NOT_ALLOWED' });
    const copy = join(sandbox.dataRoot, 'rows.parquet');
    await writeFile(copy, await sandbox.artifacts.read(json.sha256));
    const parquet = await ingest({ source: { kind: 'file', path: 'rows.parquet' } });
    expect(parquet.sha256).toBe(json.sha256);
  });

  it('rejects a transform input named "source" twice', async () => {
    await expect(ingest({ source: weather, sources: { source: weather } })).rejects.toMatchObject({ code: 'TRANSFORM_REJECTED' });
  });

  it('rejects a transform whose result has duplicate column names', async () => {
    await expect(ingest({ source: weather, transform: 'SELECT date, date FROM source' })).rejects.toMatchObject({
      code: 'TRANSFORM_REJECTED',
      message: expect.stringMatching(/duplicate column names/),
    });
    expect(await sandbox.files()).toEqual([]);
  });
});

describe('snapshotDataset cancellation', () => {
  it('when aborted mid-copy, then DuckDB is interrupted and nothing is left behind', async () => {
    const controller = new AbortController();
    const pending = snapshotDataset(
      { source: weather, transform: 'SELECT a.x, b.x AS y FROM range(100000) a(x), range(100000) b(x)' },
      { artifacts: sandbox.artifacts, settings: sandbox.settings, signal: controller.signal },
    );
    setTimeout(() => controller.abort(new Error('activity cancelled')), 300);
    await expect(pending).rejects.toThrow('activity cancelled');
    expect(await sandbox.files()).toEqual([]);
  });

  it('does not start when already aborted', async () => {
    const signal = AbortSignal.abort(new Error('cancelled before start'));
    await expect(
      snapshotDataset({ source: weather }, { artifacts: sandbox.artifacts, settings: sandbox.settings, signal }),
    ).rejects.toThrow('cancelled before start');
    expect(await sandbox.files()).toEqual([]);
  });
});

describe('readSnapshotColumns', () => {
  it('returns typed columns: numbers as Float64Array with NaN for null, text as strings, booleans as 0/1', async () => {
    await writeFile(join(sandbox.dataRoot, 'mixed.csv'), 'n,t,b\n1.5,x,true\n,y,false\n3,,true\n');
    const snapshot = await ingest({ source: { kind: 'file', path: 'mixed.csv' } });
    const data = await readSnapshotColumns(await sandbox.artifacts.localPath(snapshot.sha256), { features: ['n', 't', 'b'] });
    expect(data.rowCount).toBe(3);
    expect(data.columns.n).toBeInstanceOf(Float64Array);
    expect(Array.from(data.columns.n as Float64Array)).toEqual([1.5, Number.NaN, 3]);
    expect(data.columns.t).toEqual(['x', 'y', null]);
    expect(Array.from(data.columns.b as Float64Array)).toEqual([1, 0, 1]);
    expect(data.label).toBeUndefined();
  });

  it('turns a text target into 0/1 labels given the positive class, and refuses it without one', async () => {
    const snapshot = await ingest({ source: weather });
    const path = await sandbox.artifacts.localPath(snapshot.sha256);
    const data = await readSnapshotColumns(path, { features: ['temp_max'], target: 'weather', positiveClass: 'rain' });
    expect(Array.from(data.label!.slice(0, 3))).toEqual([0, 1, 1]);
    expect(data.label!.reduce((sum, value) => sum + value, 0)).toBe(641);
    await expect(readSnapshotColumns(path, { features: ['temp_max'], target: 'weather' })).rejects.toThrow(/positive class/);
    await expect(readSnapshotColumns(path, { features: ['nope'] })).rejects.toThrow(/no column "nope"/);
  });

  it('reads every row of a multi-chunk snapshot in order', async () => {
    const snapshot = await ingest({ source: weather, transform: 'SELECT x::DOUBLE AS x, (x % 3)::VARCHAR AS k FROM range(5000) t(x)' });
    const data = await readSnapshotColumns(await sandbox.artifacts.localPath(snapshot.sha256), { features: ['x', 'k'] });
    expect(data.rowCount).toBe(5000);
    const x = data.columns.x as Float64Array;
    expect(x.every((value, index) => value === index)).toBe(true);
    expect((data.columns.k as string[])[4999]).toBe(String(4999 % 3));
  });

  it('reads text exactly (empty, spaced, non-ASCII, missing, one distinct value per row, all missing) in row order', async () => {
    const transform = `SELECT x, ['', ' a', 'a', 'é ü', NULL][(x % 5) + 1] AS kind, 'id-' || x AS id, NULL::VARCHAR AS nothing, x % 4 AS code
      FROM range(5000) t(x)`;
    const snapshot = await ingest({ source: weather, transform });
    const path = await sandbox.artifacts.localPath(snapshot.sha256);
    const data = await readSnapshotColumns(path, { features: ['kind', 'id', 'nothing', 'code'], categorical: ['code'] });
    const kinds = ['', ' a', 'a', 'é ü', null];
    expect(data.columns.kind).toEqual(Array.from({ length: 5000 }, (_, x) => kinds[x % 5]));
    expect(data.columns.id).toEqual(Array.from({ length: 5000 }, (_, x) => `id-${x}`));
    expect(data.columns.nothing).toEqual(Array.from({ length: 5000 }, () => null));
    expect(data.columns.code).toEqual(Array.from({ length: 5000 }, (_, x) => String(x % 4)));
  });

  it('keeps text as codes of its distinct values until rows are selected, giving the same rows as the decoded read', async () => {
    const transform = `SELECT x, ['b', NULL, 'a', 'b'][(x % 4) + 1] AS kind, CASE WHEN x % 7 = 0 THEN NULL ELSE x / 2 END AS half,
      'same' AS constant, NULL::VARCHAR AS nothing FROM range(5000) t(x)`;
    const snapshot = await ingest({ source: weather, transform });
    const path = await sandbox.artifacts.localPath(snapshot.sha256);
    const features = ['kind', 'half', 'constant', 'nothing'];
    const coded = await readSnapshotCodedColumns(path, { features });
    const decoded = await readSnapshotColumns(path, { features });
    const kind = coded.columns.kind as { codes: Int32Array; dictionary: string[] };
    expect(kind.codes).toBeInstanceOf(Int32Array);
    expect([...kind.dictionary].sort()).toEqual(['a', 'b']);
    expect(kind.codes[1]).toBe(-1);
    expect(kind.dictionary[kind.codes[2]!]).toBe('a');
    const rows = Uint32Array.from([4999, 0, 1, 7, 2, 3, 2500]);
    expect(selectCodedRows(coded, rows)).toEqual(selectRows(decoded, rows));
    expect(features.map((name) => unusableReason(coded.columns[name]!))).toEqual(features.map((name) => unusableReason(decoded.columns[name]!)));
    expect(unusableReason(coded.columns.constant!)).toBe('constant (same)');
    expect(unusableReason(coded.columns.nothing!)).toBe('entirely missing');
  });
  it('when a caller reads twice on its own session, then the second read works too and no ENUM type is left behind', async () => {
    const snapshot = await ingest({ source: weather, transform: `SELECT x, 'k' || (x % 3)::VARCHAR AS kind FROM range(3000) t(x)` });
    const path = await sandbox.artifacts.localPath(snapshot.sha256);
    const session = await openDuckDb({ threads: 1 });
    try {
      const first = await readCodedColumnsWith(session.connection, path, { features: ['kind'] });
      const second = await readCodedColumnsWith(session.connection, path, { features: ['kind', 'x'] });
      expect(second.columns.kind).toEqual(first.columns.kind);
      const types = await session.connection.runAndReadAll(`SELECT count(*) FROM duckdb_types() WHERE type_name LIKE 'keel_text_%'`);
      expect(Number(types.getRowsJS()[0]![0])).toBe(0);
    } finally {
      session.close();
    }
  });
});
