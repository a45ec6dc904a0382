// The non-finite number scan every JSON body goes through.
import { describe, expect, it } from 'vitest';
import { findNonFiniteNumber } from './json-body-parser.js';

describe('findNonFiniteNumber', () => {
  it('when every number is finite, then it finds nothing', () => {
    expect(findNonFiniteNumber({ rows: [{ a: 1, b: 'x', c: null }, [2, 3.5]], n: -0 })).toBeNull();
  });

  it('when a number overflowed, then it names the first one by JSON pointer, escaping ~ and /', () => {
    expect(findNonFiniteNumber({ rows: [{ a: 1 }, { 'a/b~c': Number.NEGATIVE_INFINITY, z: Number.NaN }] })).toBe('/rows/1/a~1b~0c');
    expect(findNonFiniteNumber(Number.POSITIVE_INFINITY)).toBe('');
    expect(findNonFiniteNumber([[1], [2, [Number.NaN]]])).toBe('/1/1/0');
  });
});
