import { describe, expect, it } from 'vitest';
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';
import { PredictionInputError } from './errors.js';
import { validateFeatureRows, validateRows } from './input-validation.js';

const features: OnnxFeatureSchema[] = [
  { name: 'age', kind: 'numeric', input: 'age' },
  { name: 'plan', kind: 'categorical', categories: ['free', 'pro'], input: 'plan' },
];

function rejection(rows: unknown[]): PredictionInputError {
  try {
    validateRows(rows, features);
  } catch (error) {
    if (error instanceof PredictionInputError) return error;
    throw error;
  }
  throw new Error('rows were accepted');
}

describe('validateRows', () => {
  it('accepts numbers, strings and nulls, and treats an absent feature as missing', () => {
    expect(validateRows([{ age: 3.5, plan: 'pro' }, { age: null }, {}], features)).toEqual([
      { age: 3.5, plan: 'pro' },
      { age: null, plan: null },
      { age: null, plan: null },
    ]);
  });

  it('fills the scorer\'s columns in the same pass: numbers (NaN when missing), strings (null when missing)', () => {
    const { rows, input } = validateFeatureRows([{ plan: 'pro', age: 3.5 }, { age: null }, {}, { age: -0, plan: 'free' }], features);
    expect(rows).toHaveLength(4);
    expect(input.rowCount).toBe(4);
    expect(input.columns.age).toBeInstanceOf(Float64Array);
    expect(Array.from(input.columns.age as Float64Array)).toEqual([3.5, Number.NaN, Number.NaN, -0]);
    expect(input.columns.plan).toEqual(['pro', null, null, 'free']);
  });

  it('rejects an unknown feature, naming the row and the field', () => {
    expect(rejection([{ age: 1 }, { age: 1, agee: 2 }])).toMatchObject({ rowIndex: 1, field: 'agee' });
  });

  it('rejects a string for a numeric feature and a number for a categorical one', () => {
    expect(rejection([{ age: '42' }])).toMatchObject({ rowIndex: 0, field: 'age', message: 'rows[0].age: expected a number or null, got a string' });
    expect(rejection([{ plan: 1 }])).toMatchObject({ field: 'plan' });
    expect(rejection([{ plan: { name: 'pro' } }]).message).toContain('got an object');
  });

  it('rejects non-finite numbers and rows that are not objects', () => {
    expect(rejection([{ age: Number.POSITIVE_INFINITY }])).toMatchObject({ field: 'age' });
    expect(rejection([{ age: Number.NaN }])).toMatchObject({ field: 'age' });
    expect(rejection([{ age: 1 }, [1, 2]])).toMatchObject({ rowIndex: 1, field: '' });
  });
});

describe('features named like Object.prototype members', () => {
  it('counts an absent "constructor" or "toString" feature as missing (null), not as the inherited function', () => {
    const odd: OnnxFeatureSchema[] = [
      { name: 'constructor', kind: 'numeric', input: 'constructor' },
      { name: 'toString', kind: 'categorical', categories: ['a'], input: 'toString' },
    ];
    expect(validateRows([{}], odd)).toEqual([{ constructor: null, toString: null }]);
    expect(Object.hasOwn(validateRows([{}], odd)[0]!, 'constructor')).toBe(true);
  });
});
