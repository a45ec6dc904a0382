import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldValue, parseFeatureRowsBody, type FeatureRowsBody } from './feature-rows-body.js';

type Value = number | string | null;

/** What the columns say row `row` held for each field, as an object like JSON.parse's (absent fields left out). */
function rowOf(body: FeatureRowsBody, row: number): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const field of body.features.fields) {
    const kind = field.kinds[row];
    if (kind === FieldValue.Null) out[field.name] = null;
    else if (kind === FieldValue.Number) out[field.name] = field.numbers[row]!;
    else if (kind === FieldValue.String) out[field.name] = field.strings![row]!;
  }
  return out;
}

function rowsOf(body: FeatureRowsBody): Record<string, Value>[] {
  return Array.from({ length: body.features.rowCount }, (_, row) => rowOf(body, row));
}

/** Sorted by key: the columns keep no per-row key order. */
function sortedRows(rows: readonly Record<string, Value>[]): Array<Array<[string, Value]>> {
  return rows.map((row) => Object.entries(row).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// Strings JSON.stringify writes without an escape; keys other than __proto__.
const plainString = fc.string({ unit: fc.constantFrom('a', 'b', 'é', ' ', '-', '_', '中', '😀', '/', '{', '}', ',', ':', '[', ']') });
const plainKey = plainString.filter((key) => key !== '__proto__');
const value: fc.Arbitrary<Value> = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), plainString, fc.constant(null));

describe('feature rows read straight into columns', () => {
  it('reads every plain body (1..1,000 rows of numbers, unescaped strings and nulls) as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(plainKey, value, { maxKeys: 6 }), { minLength: 1, maxLength: 40 }), fc.boolean(), (rows, spaced) => {
        const text = spaced ? JSON.stringify({ features: rows }, null, 2) : JSON.stringify({ features: rows });
        const body = parseFeatureRowsBody(text, 1000);
        expect(body).toBeDefined();
        expect(body!.features.rowCount).toBe(rows.length);
        expect(sortedRows(rowsOf(body!))).toEqual(sortedRows(JSON.parse(text).features));
        expect(body!.features.rows()).toEqual(JSON.parse(text).features);
      }),
    );
  });

  it('reads every number as the same double JSON.parse gives, -0 and huge ones included; one past the largest double is refused', () => {
    const texts = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).chain((x) =>
        fc.constantFrom(String(x), x.toExponential(), x.toExponential(3), x.toPrecision(17), Math.abs(x) < 1e21 ? x.toFixed(5) : String(x)),
      ),
      fc.tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,24})$/), fc.stringMatching(/^[0-9]{0,24}$/), fc.option(fc.integer({ min: -340, max: 340 })))
        .map(([minus, whole, fraction, exponent]) => `${minus ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}${exponent === null ? '' : `e${exponent}`}`),
      fc.constantFrom('-0', '0', '-0.0', '0e0', '1E+2', '1e-2', '9007199254740993', '123456789012345678901234567890', '2.2250738585072014e-308', '5e-324', '1.7976931348623157e308', '0.1', '0.30000000000000004'),
    );
    fc.assert(
      fc.property(texts, (number) => {
        const expected = JSON.parse(number) as number;
        const body = parseFeatureRowsBody(`{"features":[{"x":${number}}]}`, 1000);
        // Past the largest double (1.798e308, 1e400): left to the generic parser, which refuses it naming the field.
        if (!Number.isFinite(expected)) {
          expect(body, number).toBeUndefined();
          return;
        }
        expect(body, number).toBeDefined();
        expect(Object.is(body!.features.fields[0]!.numbers[0], expected), `${number}: ${body!.features.fields[0]!.numbers[0]} vs ${expected}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves to the generic parser and the schema whatever is not the plain shape: they answer with their own messages', () => {
    const refused = [
      '{"features":[{"__proto__":{"x":1}}]}', // prototype poisoning
      '{"features":[{"__proto__":1}]}',
      '{"features":[{"x":1e400}]}', // parses to Infinity
      '{"features":[{"x":-1e400}]}',
      '{"features":[{"x":NaN}]}',
      '{"features":[{"x":Infinity}]}',
      '{"features":[{"x":true}]}', // not a feature value
      '{"features":[{"x":{"y":1}}]}',
      '{"features":[{"x":[1]}]}',
      '{"features":[{"x":1,"x":2}]}', // duplicate key: JSON.parse keeps the last
      '{"features":[]}', // no rows
      '{"features":[1]}',
      '{"features":{}}',
      '{"rows":[{"x":1}]}',
      '{"features":[{"x":1}],"rows":[]}',
      '{"features":[{"x":"a\\"b"}]}', // escapes
      '{"features":[{"x\\u0000":1}]}',
      '{"features":[{"x":"\\ud800"}]}',
      '{"features":[{"x":"a\u0001"}]}', // a control character
      '{"features":[{"x":01}]}', // not JSON numbers
      '{"features":[{"x":1.}]}',
      '{"features":[{"x":.5}]}',
      '{"features":[{"x":+1}]}',
      '{"features":[{"x":-}]}',
      '{"features":[{"x":1e}]}',
      '{"features":[{"x":nul}]}',
      '{"features":[{"x":1}]} x', // trailing text
      '{"features":[{"x":1},]}',
      '{"features":[{"x":1,}]}',
      '{"features":[{"x":1}]',
      '{"features":[{"x":"abc',
      '',
    ];
    for (const text of refused) expect(parseFeatureRowsBody(text, 1000), text).toBeUndefined();
  });

  it('takes at most maxRows rows', () => {
    const rows = (n: number) => JSON.stringify({ features: Array.from({ length: n }, (_, i) => ({ x: i })) });
    expect(parseFeatureRowsBody(rows(1000), 1000)?.features.rowCount).toBe(1000);
    expect(parseFeatureRowsBody(rows(1001), 1000)).toBeUndefined();
  });

  it('fills rows that lack a field with absent (NaN, null) and keeps fields in order of first appearance', () => {
    const body = parseFeatureRowsBody('{"features":[{"a":1},{},{"b":"x","a":null},{"b":"x"}]}', 1000)!;
    expect(body.features.fields.map((field) => field.name)).toEqual(['a', 'b']);
    const [a, b] = body.features.fields;
    expect(Array.from(a!.kinds)).toEqual([FieldValue.Number, FieldValue.Absent, FieldValue.Null, FieldValue.Absent]);
    expect(Array.from(a!.numbers)).toEqual([1, Number.NaN, Number.NaN, Number.NaN]);
    expect(b!.strings).toEqual([null, null, 'x', 'x']);
    expect(b!.numberCount).toBe(0);
    expect(b!.stringCount).toBe(2);
  });
});
