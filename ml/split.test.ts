import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitPart, splitRows } from './split.js';

describe('deterministic split', () => {
  it('assigns every row to exactly one part, the same way for the same seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer(), (rows, seed) => {
        const a = splitRows(rows, seed);
        const b = splitRows(rows, seed);
        expect(a.train.length + a.valid.length + a.holdout.length).toBe(rows);
        expect(Array.from(a.holdout)).toEqual(Array.from(b.holdout));
      }),
      { numRuns: 30 },
    );
  });

  it('when the split runs on 100,000 rows, then the parts are close to the requested fractions', () => {
    const parts = splitRows(100_000, 42);
    expect(parts.holdout.length / 100_000).toBeCloseTo(0.2, 1);
    expect(parts.valid.length / 100_000).toBeCloseTo(0.1, 1);
  });

  it('gives different holdouts for different seeds', () => {
    const differing = Array.from({ length: 1000 }, (_, row) => splitPart(1, row) !== splitPart(2, row)).filter(Boolean);
    expect(differing.length).toBeGreaterThan(100);
  });
});
