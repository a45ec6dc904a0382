import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../test/data-sandbox.js';
import { openDuckDb, type DuckDbSession } from './duckdb-session.js';
import { columnKind, profileRelation, profileSnapshot, QUANTILE_LEVELS } from './profile-snapshot.js';
import { FLIGHTS_3M_PARQUET } from '../test/support/training-snapshots.js';
import { quoteString } from './sql-literal.js';

let session: DuckDbSession;

beforeAll(async () => {
  session = await openDuckDb({ threads: 1 });
});

afterAll(() => session.close());

const values = (rows: string) => `(SELECT * FROM (VALUES ${rows}) AS t(x))`;

describe('profileRelation', () => {
  it('computes hand-checked statistics for 1, 2, 3, 4 and a null', async () => {
    const profile = await profileRelation(session.connection, values('(1.0::DOUBLE), (2.0), (3.0), (4.0), (NULL)'));
    expect(profile.rowCount).toBe(5);
    const [x] = profile.columns;
    expect(x).toMatchObject({ name: 'x', type: 'DOUBLE', kind: 'numeric', count: 4, nullCount: 1, nullRate: 0.2 });
    expect(x!.distinctCount).toBe(4);
    expect(x!.min).toBe(1);
    expect(x!.max).toBe(4);
    expect(x!.mean).toBe(2.5);
    expect(x!.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    // Linear interpolation between order statistics: position (n − 1)·q.
    expect(x!.quantiles!.p25).toBeCloseTo(1.75, 12);
    expect(x!.quantiles!.p50).toBeCloseTo(2.5, 12);
    expect(x!.quantiles!.p99).toBeCloseTo(3.97, 12);
    expect(x!.histogram!.edges.map((edge) => Number(edge.toFixed(6)))).toEqual([1, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1, 3.4, 3.7, 4]);
    expect(x!.histogram!.counts).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
  });

  it('counts NaN and ±Infinity separately and keeps them out of the moments', async () => {
    const profile = await profileRelation(
      session.connection,
      values("(1.0::DOUBLE), (3.0), ('NaN'::DOUBLE), ('Infinity'::DOUBLE), ('-Infinity'::DOUBLE)"),
    );
    const [x] = profile.columns;
    expect(x).toMatchObject({ count: 5, nanCount: 1, infinityCount: 2, min: 1, max: 3, mean: 2 });
    expect(x!.histogram!.counts.reduce((sum, count) => sum + count, 0)).toBe(2);
  });

  it('lists every category with its count, most frequent first', async () => {
    const profile = await profileRelation(session.connection, values("('b'), ('a'), ('b'), (NULL), ('c'), ('b')"));
    expect(profile.columns[0]).toMatchObject({
      kind: 'categorical',
      count: 5,
      distinctCount: 3,
      categoriesComplete: true,
      topValues: [
        { value: 'b', count: 3 },
        { value: 'a', count: 1 },
        { value: 'c', count: 1 },
      ],
      histogram: null,
    });
  });

  it('gives a constant column a single histogram bin', async () => {
    const profile = await profileRelation(session.connection, values('(7::INTEGER), (7), (7)'));
    expect(profile.columns[0]!.histogram).toEqual({ edges: [7, 7], counts: [3] });
  });

  it('counts values on the reference edges when given a reference', async () => {
    const reference = await profileRelation(session.connection, values('(1.0::DOUBLE), (2.0), (3.0), (4.0)'));
    const profile = await profileRelation(session.connection, values('(0.0::DOUBLE), (3.9), (10.0)'), reference);
    expect(profile.columns[0]!.onReferenceEdges).toEqual({
      edges: reference.columns[0]!.histogram!.edges,
      counts: [1, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    });
  });

  it('computes the same quantiles as DuckDB quantile_cont from exact value counts, for any data', async () => {
    const levels = Object.values(QUANTILE_LEVELS);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 60 }), async (xs) => {
        const relation = values(xs.map((x) => `(${x}::INTEGER)`).join(', '));
        const profile = await profileRelation(session.connection, relation);
        const direct = await session.connection.runAndReadAll(`SELECT quantile_cont(x, [${levels.join(', ')}]) FROM ${relation}`);
        const expected = direct.getRowsJS()[0]![0] as number[];
        const actual = Object.values(profile.columns[0]!.quantiles!);
        actual.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 9));
        expect(profile.columns[0]!.histogram!.counts.reduce((sum, count) => sum + count, 0)).toBe(xs.length);
      }),
      { numRuns: 25 },
    );
  });

  it('profiles a column with more distinct values than the value-count limit through DuckDB quantiles and bins', async () => {
    const relation = '(SELECT (x * 7919 % 30011)::DOUBLE AS x FROM range(30011) t(x))';
    const profile = await profileRelation(session.connection, relation);
    const [x] = profile.columns;
    expect(x!.distinctCount).toBe(30011);
    expect(x!.quantiles!.p50).toBe(15005);
    expect(x!.quantiles!.p1).toBeCloseTo(300.1, 9);
    expect(x!.histogram!.edges).toHaveLength(11);
    expect(x!.histogram!.counts).toEqual([3002, 3001, 3001, 3001, 3001, 3001, 3001, 3001, 3001, 3001]);
    const again = await profileRelation(session.connection, relation, profile);
    expect(again.columns[0]!.onReferenceEdges!.counts).toEqual(x!.histogram!.counts);
  });

  it('agrees with statistics computed independently from the seattle-weather CSV text', async () => {
    const path = join(FIXTURES, 'seattle-weather.csv');
    const lines = (await readFile(path, 'utf8')).trim().split('\n').slice(1);
    const tempMax = lines.map((line) => Number(line.split(',')[2]));
    const mean = tempMax.reduce((sum, value) => sum + value, 0) / tempMax.length;
    const weather = new Map<string, number>();
    for (const line of lines) {
      const value = line.split(',')[5]!;
      weather.set(value, (weather.get(value) ?? 0) + 1);
    }
    const profile = await profileRelation(session.connection, `read_csv(${quoteString(path)})`);
    expect(profile.rowCount).toBe(1461);
    const column = profile.columns.find((candidate) => candidate.name === 'temp_max')!;
    expect(column.mean).toBeCloseTo(mean, 9);
    expect(column.min).toBe(Math.min(...tempMax));
    expect(column.max).toBe(Math.max(...tempMax));
    expect(column.histogram!.counts.reduce((sum, count) => sum + count, 0)).toBe(1461);
    const categories = profile.columns.find((candidate) => candidate.name === 'weather')!.topValues!;
    expect(Object.fromEntries(categories.map((entry) => [entry.value, entry.count]))).toEqual(Object.fromEntries(weather));
    expect(profile.columns.find((candidate) => candidate.name === 'date')).toMatchObject({
      kind: 'temporal',
      min: '2012-01-01',
      max: '2015-12-31',
    });
  });
});

describe('columnKind', () => {
  it.each([
    ['DOUBLE', 'numeric'],
    ['DECIMAL(18,3)', 'numeric'],
    ['BIGINT', 'numeric'],
    ['BOOLEAN', 'boolean'],
    ['VARCHAR', 'categorical'],
    ['DATE', 'temporal'],
    ['TIMESTAMP WITH TIME ZONE', 'temporal'],
    ['INTEGER[]', 'other'],
  ])('classifies %s as %s', (type, kind) => {
    expect(columnKind(type)).toBe(kind);
  });
});

describe('profileSnapshot', () => {
  it('when its signal aborts while it profiles 3M rows, then the DuckDB query is interrupted and it throws the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('the run was cancelled');
    const profiling = profileSnapshot(FLIGHTS_3M_PARQUET, { duckdb: { threads: 1 }, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 200);
    await expect(profiling).rejects.toBe(reason);
  });
});
