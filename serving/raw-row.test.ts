import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { readSnapshotColumns } from '../data/read-snapshot-columns.js';
import { openRowTransformSession } from '../data/row-transform-session.js';
import { checkRowWiseOnSample, parseTreeFindings, ROW_WISE_CHECK_ROWS } from '../data/row-wise-check.js';
import { readSourceSampleRows } from '../data/source-schema.js';
import { snapshotDataset } from '../data/snapshot-dataset.js';
import { PredictionInputError } from './errors.js';
import { validateSourceRows } from './raw-row-validation.js';
import { featureConversion, rawRowsRefusal, type RecipeFeature, type ServingRecipe } from '../workflows/contracts/serving-recipe.js';

let sandbox: DataSandbox;
beforeEach(async () => {
  sandbox = await createDataSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const weather = { kind: 'file', path: 'seattle-weather.csv' } as const;
const SOURCE = [
  { name: 'date', type: 'DATE' },
  { name: 'precipitation', type: 'DOUBLE' },
  { name: 'temp_max', type: 'DOUBLE' },
  { name: 'temp_min', type: 'DOUBLE' },
  { name: 'wind', type: 'DOUBLE' },
  { name: 'weather', type: 'VARCHAR' },
];
const numeric = (name: string, type: string): RecipeFeature => ({ name, type, kind: 'numeric', conversion: featureConversion(type, 'numeric') });

describe('raw source rows through the serving session', () => {
  it("gives exactly the trainer's feature rows for the snapshot's rows (month of a DATE, a BOOLEAN, a date as epoch seconds)", async () => {
    const transform = `SELECT month("date") AS month, "date" AS day, weather = 'sun' AS sunny, temp_max, weather, precipitation > 0 AS rained FROM source`;
    const snapshot = await snapshotDataset({ source: weather, transform }, { artifacts: sandbox.artifacts, settings: sandbox.settings });
    expect(snapshot.servingSource.source).toEqual(SOURCE);
    expect(snapshot.servingSource.sampleRows).toBe(1000);
    const features: RecipeFeature[] = [
      numeric('month', 'BIGINT'),
      numeric('day', 'DATE'),
      numeric('sunny', 'BOOLEAN'),
      numeric('temp_max', 'DOUBLE'),
      { name: 'weather', type: 'VARCHAR', kind: 'categorical', conversion: 'text' },
    ];
    expect(features.map((feature) => feature.conversion)).toEqual(['double', 'epoch_seconds', 'boolean_0_1', 'double', 'text']);
    const trainer = await readSnapshotColumns(await sandbox.artifacts.localPath(snapshot.sha256), { features: features.map((f) => f.name) });
    const trainerKeys = new Set(
      Array.from({ length: trainer.rowCount }, (_, row) => JSON.stringify(features.map((f) => trainer.columns[f.name]![row] ?? null))),
    );

    const sample = await readSourceSampleRows(await sandbox.artifacts.localPath(snapshot.servingSource.sampleSha256), SOURCE);
    expect(sample[0]).toMatchObject({ date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    const session = await openRowTransformSession({ source: SOURCE, transform: snapshot.servingSource.transform, features });
    try {
      const produced = await session.transformRows(validateSourceRows(sample, SOURCE));
      expect(produced.every((outputs) => outputs.length === 1)).toBe(true);
      for (const [outputs] of produced) expect(trainerKeys.has(JSON.stringify(outputs))).toBe(true);
      const [[one]] = await session.transformRows([['2015-11-03', null, 9.4, 4.4, 5.1, 'sun']]);
      expect(one).toEqual([11, Date.UTC(2015, 10, 3) / 1000, 1, 9.4, 'sun']);
      expect((await checkRowWiseOnSample(session, validateSourceRows(sample.slice(0, 50), SOURCE))).rowWise).toBe(true);
    } finally {
      session.close();
    }
  });

  it('batches concurrent requests into one execution and still answers each with its own rows', async () => {
    const session = await openRowTransformSession({ source: SOURCE, transform: 'SELECT temp_max * 2 AS t FROM source', features: [numeric('t', 'DOUBLE')] });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => session.transformRows([['2012-01-01', 0, i, 0, 0, 'sun']])),
      );
      expect(answers.map((answer) => answer[0]![0]![0])).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    } finally {
      session.close();
    }
  });

  it('returns every row of a result larger than one DuckDB chunk (2,048 rows), in input order', async () => {
    const session = await openRowTransformSession({ source: SOURCE, transform: 'SELECT temp_max * 2 AS t FROM source', features: [numeric('t', 'DOUBLE')] });
    try {
      const rows = Array.from({ length: 5_000 }, (_, i) => ['2012-01-01', 0, i, 0, 0, 'sun']);
      expect((await session.transformBatch(rows)).map((row) => row[0])).toEqual(rows.map((_, i) => i * 2));
    } finally {
      session.close();
    }
  });

  it('passes every double (-0, subnormals, extremes, NaN, ±Infinity) and any text (quotes, backslashes, line breaks, emoji) to the feature SQL unchanged', async () => {
    const session = await openRowTransformSession({
      source: [
        { name: 'x', type: 'DOUBLE' },
        { name: 'n', type: 'BIGINT' },
        { name: 's', type: 'VARCHAR' },
        { name: 'b', type: 'BOOLEAN' },
      ],
      transform: 'SELECT x, n, s, b::INTEGER AS b FROM source',
      features: [numeric('x', 'DOUBLE'), numeric('n', 'BIGINT'), { name: 's', type: 'VARCHAR', kind: 'categorical', conversion: 'text' }, numeric('b', 'INTEGER')],
    });
    try {
      const doubles = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), 2_000).concat([0, -0, 5e-324, -Number.MAX_VALUE, 0.1, 1 / 3]);
      const texts = fc.sample(fc.string({ unit: 'grapheme', maxLength: 20 }), doubles.length).map((text, i) => (i % 3 === 0 ? `"\\\n\t'${text}` : text));
      const integers = fc.sample(fc.maxSafeInteger(), doubles.length);
      const rows = doubles.map((x, i) => [x, integers[i]!, texts[i]!.replaceAll('\0', ''), i % 2 === 0]);
      const out = await session.transformBatch(rows);
      expect(out).toHaveLength(rows.length);
      out.forEach((row, i) => {
        expect(Object.is(row[0], rows[i]![0]), `row ${i}: ${row[0]} vs ${rows[i]![0]}`).toBe(true);
        expect(row.slice(1)).toEqual([rows[i]![1], rows[i]![2], i % 2 === 0 ? 1 : 0]);
      });
      // A snapshot's sample rows (the row-wise check at registration) may hold non-finite doubles: NaN reads as missing.
      const special = await session.transformBatch([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY].map((x) => [x, 1, 'a', true]));
      expect(special.map((row) => row[0])).toEqual([null, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    } finally {
      session.close();
    }
  });

  it('when a text value holds a lone UTF-16 surrogate, then the feature SQL sees U+FFFD in its place, as a bound VARCHAR gave, not a JSON error quoting the row', async () => {
    const session = await openRowTransformSession({ source: [{ name: 's', type: 'VARCHAR' }], transform: null, features: [{ name: 's', type: 'VARCHAR', kind: 'categorical', conversion: 'text' }] });
    try {
      const texts = ['a\ud800b', '\udc00', 'x\udbff', '\udfff\ud800', '\ud83d\ude00'];
      expect(await session.transformBatch(texts.map((text) => [text]))).toEqual([['a\ufffdb'], ['\ufffd'], ['x\ufffd'], ['\ufffd\ufffd'], ['\ud83d\ude00']]);
    } finally {
      session.close();
    }
  });

  it('when a batch carries much text (concurrent requests each near the body limit), then it still runs as one execution instead of failing for memory', async () => {
    // The memory limit scaled down with the text: 18 MB of JSON text needs ~4 times that from DuckDB's JSON reader.
    const session = await openRowTransformSession(
      { source: [{ name: 's', type: 'VARCHAR' }, { name: 'x', type: 'DOUBLE' }], transform: 'SELECT length(s)::DOUBLE + x AS n FROM source', features: [numeric('n', 'DOUBLE')] },
      { memoryLimit: '64MB' },
    );
    try {
      const rows = Array.from({ length: 20 }, (_, i) => [`${'y'.repeat(900_000)}\ud800`, i]);
      expect((await session.transformBatch(rows)).map((row) => row[0])).toEqual(rows.map((_, i) => 900_001 + i));
      expect(await session.transformBatch([['\ud800', 1]])).toEqual([[2]]);
    } finally {
      session.close();
    }
  });

  it('answers requests arriving over several turns each with its own rows; a bad row fails only its request', async () => {
    const session = await openRowTransformSession({
      source: SOURCE,
      transform: 'SELECT CAST(weather AS INTEGER)::DOUBLE AS t FROM source',
      features: [numeric('t', 'DOUBLE')],
    });
    try {
      const waiting: Array<Promise<unknown>> = [];
      for (let wave = 0; wave < 6; wave++) {
        for (let i = 0; i < 10; i++) {
          const n = wave * 10 + i;
          waiting.push(session.transformRows([['2012-01-01', 0, 0, 0, 0, n === 33 ? 'sun' : String(n)]]).then((answer) => answer[0]![0]![0], () => 'refused'));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await Promise.all(waiting)).toEqual(Array.from({ length: 60 }, (_, n) => (n === 33 ? 'refused' : n)));
    } finally {
      session.close();
    }
  });
});

describe('the row-wise check', () => {
  const windowed = 'SELECT temp_max - avg(temp_max) OVER () AS t FROM source';
  const aggregated = 'SELECT count(*)::DOUBLE AS t FROM source';
  const limited = 'SELECT temp_max AS t FROM source LIMIT 10';
  const subquery = 'SELECT temp_max - (SELECT avg(temp_max) FROM source) AS t FROM source';

  it('names window functions, GROUP BY, DISTINCT, LIMIT and joins to named inputs from the parse tree', async () => {
    expect(await parseTreeFindings(windowed, [])).toEqual(['window function avg()']);
    expect(await parseTreeFindings(limited, [])).toEqual(['LIMIT']);
    expect(await parseTreeFindings('SELECT DISTINCT temp_max AS t FROM source', [])).toEqual(['DISTINCT']);
    expect(await parseTreeFindings('SELECT weather, avg(temp_max) AS t FROM source GROUP BY weather', [])).toEqual(['GROUP BY']);
    expect(await parseTreeFindings('SELECT s.temp_max AS t FROM source s JOIN stations USING (weather)', ['stations'])).toEqual([
      'a join to the named input "stations" (named inputs are not served)',
    ]);
    expect(await parseTreeFindings('SELECT month(date) AS m FROM source WHERE wind > 1', [])).toEqual([]);
  });

  it('refuses an aggregate, a window, a LIMIT and a scalar subquery on sample rows: one at a time differs from one batch', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ['2012-01-01', 0, i, 0, 0, 'sun'] as (string | number)[]);
    for (const transform of [aggregated, windowed, limited, subquery]) {
      const session = await openRowTransformSession({ source: SOURCE, transform, features: [numeric('t', 'DOUBLE')] });
      try {
        const verdict = await checkRowWiseOnSample(session, rows);
        expect(verdict.rowWise, transform).toBe(false);
        expect(verdict.reason).toMatch(/depends on other rows/);
      } finally {
        session.close();
      }
    }
  });

  it('checks at most ROW_WISE_CHECK_ROWS of a larger sample one at a time, and still refuses a row-dependent transform', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ['2012-01-01', 0, i, 0, 0, 'sun'] as (string | number)[]);
    const rowWise = await openRowTransformSession({ source: SOURCE, transform: 'SELECT temp_max * 2 AS t FROM source', features: [numeric('t', 'DOUBLE')] });
    const dependent = await openRowTransformSession({ source: SOURCE, transform: subquery, features: [numeric('t', 'DOUBLE')] });
    try {
      expect(await checkRowWiseOnSample(rowWise, rows)).toEqual({ rowWise: true, checkedRows: ROW_WISE_CHECK_ROWS });
      const verdict = await checkRowWiseOnSample(dependent, rows);
      expect(verdict).toMatchObject({ rowWise: false, checkedRows: ROW_WISE_CHECK_ROWS });
    } finally {
      rowWise.close();
      dependent.close();
    }
  });

  it('when the only row a transform depends on other rows for lies past ROW_WISE_CHECK_ROWS (a rare NULL, an extreme), then it is still refused', async () => {
    // Mean imputation through a scalar subquery: one row alone imputes avg(NULL) = NULL, a batch imputes the batch's
    // mean, so only a sample row whose temp_max is NULL shows it; here that is row 700 of 1,000 (the old check read all).
    const rows = Array.from({ length: 1000 }, (_, i) => ['2012-01-01', 0, i === 700 ? null : i % 40, 0, 0, 'sun'] as (string | number | null)[]);
    const imputed = await openRowTransformSession({
      source: SOURCE,
      transform: 'SELECT coalesce(temp_max, (SELECT avg(temp_max) FROM source)) AS t FROM source',
      features: [numeric('t', 'DOUBLE')],
    });
    // Scaled by the batch's largest value: only a row holding the sample's maximum (row 900) differs from 1.
    const wide = Array.from({ length: 1000 }, (_, i) => ['2012-01-01', 0, i === 900 ? 500 : 1, 0, 0, 'sun'] as (string | number)[]);
    const scaled = await openRowTransformSession({
      source: SOURCE,
      transform: 'SELECT CASE WHEN temp_max > 100 THEN temp_max / (SELECT min(temp_max) FROM source) ELSE 1 END AS t FROM source',
      features: [numeric('t', 'DOUBLE')],
    });
    try {
      expect(await parseTreeFindings('SELECT coalesce(temp_max, (SELECT avg(temp_max) FROM source)) AS t FROM source', [])).toEqual([]);
      expect(await checkRowWiseOnSample(imputed, rows)).toMatchObject({ rowWise: false, checkedRows: ROW_WISE_CHECK_ROWS });
      expect(await checkRowWiseOnSample(scaled, wide)).toMatchObject({ rowWise: false, checkedRows: ROW_WISE_CHECK_ROWS });
    } finally {
      imputed.close();
      scaled.close();
    }
  });

  it('answers raw-row requests for a refused or recipe-less version with the documented message', () => {
    const recipe = { rowWise: false, rowWiseReason: 'it uses window function avg()' } as ServingRecipe;
    expect(rawRowsRefusal(recipe)).toBe(
      "this version's feature SQL cannot be served row by row (it uses window function avg()): send ready feature rows as { \"features\": [...] } instead",
    );
    expect(rawRowsRefusal(null)).toMatch(/registered before serving recipes existed.*"features"/);
  });
});

describe('raw row validation', () => {
  const error = (rows: unknown[]) => {
    try {
      validateSourceRows(rows, SOURCE);
    } catch (caught) {
      return caught as PredictionInputError;
    }
    throw new Error('accepted');
  };
  const good = { date: '2012-01-01', precipitation: 0, temp_max: 1, temp_min: 0, wind: 2, weather: 'sun' };

  it('names the row and field of a missing column, an unknown column and a wrong type; null only when explicit', () => {
    const { weather: _dropped, ...missing } = good;
    expect(error([good, missing])).toMatchObject({ rowIndex: 1, field: 'weather', message: expect.stringMatching(/is missing.*send null explicitly/) });
    expect(error([{ ...good, colour: 'red' }])).toMatchObject({ rowIndex: 0, field: 'colour' });
    expect(error([good, good, { ...good, temp_max: '12' }])).toMatchObject({ rowIndex: 2, field: 'temp_max' });
    expect(error([{ ...good, date: '2012-02-30' }])).toMatchObject({ field: 'date', message: expect.stringContaining('ISO-8601 date') });
    expect(error([{ ...good, date: 1325376000 }])).toMatchObject({ field: 'date' });
    expect(validateSourceRows([{ ...good, precipitation: null }], SOURCE)[0]).toEqual(['2012-01-01', null, 1, 0, 2, 'sun']);
  });

  it('takes true/false for BOOLEAN and ISO-8601 date-times for TIMESTAMP', () => {
    const columns = [{ name: 'flag', type: 'BOOLEAN' }, { name: 'at', type: 'TIMESTAMP' }, { name: 'n', type: 'BIGINT' }];
    expect(validateSourceRows([{ flag: true, at: '2024-03-01T10:30:00Z', n: 3 }], columns)).toEqual([[true, '2024-03-01T10:30:00Z', 3]]);
    expect(() => validateSourceRows([{ flag: 1, at: null, n: 3 }], columns)).toThrow(/rows\[0\]\.flag: expected true or false/);
    expect(() => validateSourceRows([{ flag: null, at: '2024-13-01T00:00', n: 3 }], columns)).toThrow(/rows\[0\]\.at/);
    expect(() => validateSourceRows([{ flag: null, at: null, n: 3.5 }], columns)).toThrow(/rows\[0\]\.n: expected an integer/);
  });

  it('refuses a UTC offset other than Z for a TIMESTAMP without time zone (DuckDB would drop it and shift the instant), and takes it WITH TIME ZONE', () => {
    const naive = [{ name: 'at', type: 'TIMESTAMP' }];
    expect(() => validateSourceRows([{ at: '2024-03-01T10:30:00+05:00' }], naive)).toThrow(/rows\[0\]\.at: .*without time zone/);
    expect(() => validateSourceRows([{ at: '2024-03-01T10:30:00-0800' }], naive)).toThrow(/rows\[0\]\.at/);
    expect(validateSourceRows([{ at: '2024-03-01T10:30:00+00:00' }, { at: '2024-03-01T10:30:00' }], naive)).toHaveLength(2);
    const zoned = [{ name: 'at', type: 'TIMESTAMP WITH TIME ZONE' }];
    expect(validateSourceRows([{ at: '2024-03-01T10:30:00+05:00' }], zoned)).toEqual([['2024-03-01T10:30:00+05:00']]);
    expect(() => validateSourceRows([{ at: '2024-03-01T10:30:00+25:00' }], zoned)).toThrow(/rows\[0\]\.at/);
  });
});

describe('the serving DuckDB sandbox', () => {
  it('cannot read files, even through a transform that tries', async () => {
    await expect(
      openRowTransformSession({ source: SOURCE, transform: "SELECT * FROM read_csv('/etc/passwd')", features: [numeric('t', 'DOUBLE')] }),
    ).rejects.toThrow(/cannot run on source rows.*(disabled by configuration|Permission)/);
    const session = await openRowTransformSession({
      source: SOURCE,
      transform: "SELECT length(current_setting('enable_external_access')::VARCHAR)::DOUBLE AS t FROM source",
      features: [numeric('t', 'DOUBLE')],
    });
    try {
      // 'false' has five letters: external access is off in the serving session.
      expect(await session.transformRows([['2012-01-01', 0, 1, 0, 0, 'sun']])).toEqual([[[5]]]);
    } finally {
      session.close();
    }
  });
});
