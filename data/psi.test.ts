import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binCounts, binIndex, categoricalPsi, psi, PSI_EPSILON } from './psi.js';

describe('psi', () => {
  it('matches a hand-computed value: 50/50 → 25/75 gives 0.25·ln 2 + 0.25·ln 1.5', () => {
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
  });

  it('is zero for identical proportions whatever the totals', () => {
    expect(psi([10, 20, 30], [100, 200, 300])).toBe(0);
  });

  it('raises an empty bin to epsilon instead of returning Infinity', () => {
    const value = psi([100, 0], [50, 50]);
    expect(value).toBeCloseTo((0.5 - 1) * Math.log(0.5 / 1) + (0.5 - PSI_EPSILON) * Math.log(0.5 / PSI_EPSILON), 12);
  });

  it('is symmetric and non-negative for any pair of distributions', () => {
    const counts = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(counts, counts, (a, b) => {
        const n = Math.min(a.length, b.length);
        const x = a.slice(0, n);
        const y = b.slice(0, n);
        expect(psi(x, y)).toBeGreaterThanOrEqual(0);
        expect(psi(x, y)).toBeCloseTo(psi(y, x), 9);
      }),
    );
  });

  it('refuses bins of different lengths', () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(/matching bins/);
  });
});

describe('binIndex', () => {
  const edges = [0, 1, 2, 3];

  it('puts values in right-closed bins like DuckDB histogram(x, boundaries)', () => {
    expect([0, 0.5, 1, 1.5, 2, 2.5, 3].map((x) => binIndex(edges, x))).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });

  it('clamps values outside the edges into the first and last bins', () => {
    expect(binIndex(edges, -100)).toBe(0);
    expect(binIndex(edges, 100)).toBe(2);
  });

  it('gives NaN for non-finite values, which binCounts skips', () => {
    expect(binIndex(edges, Number.NaN)).toBeNaN();
    expect(binCounts(edges, [0.5, Number.POSITIVE_INFINITY, 2.5, Number.NaN])).toEqual([1, 0, 1]);
  });

  it('treats a single-bin histogram (constant column) as one bin', () => {
    expect(binCounts([5, 5], [5, 5, 7])).toEqual([3]);
  });
});

describe('categoricalPsi', () => {
  it('treats a category never seen in a complete reference as shift', () => {
    const reference = { values: [{ value: 'a', count: 50 }, { value: 'b', count: 50 }], total: 100, complete: true };
    const same = categoricalPsi(reference, { values: [{ value: 'a', count: 5 }, { value: 'b', count: 5 }], total: 10 });
    expect(same).toBe(0);
    const shifted = categoricalPsi(reference, {
      values: [{ value: 'a', count: 5 }, { value: 'b', count: 3 }, { value: 'c', count: 2 }],
      total: 10,
    });
    const expected = psi([50, 50, 0, 0], [5, 3, 2, 0]);
    expect(shifted).toBeCloseTo(expected, 12);
    expect(shifted).toBeGreaterThan(0.25);
  });

  it('pools values outside an incomplete reference list into one "other" bin', () => {
    const reference = { values: [{ value: 'a', count: 60 }], total: 100, complete: false };
    const actual = { values: [{ value: 'a', count: 30 }, { value: 'z', count: 70 }], total: 100 };
    expect(categoricalPsi(reference, actual)).toBeCloseTo(psi([60, 40], [30, 70]), 12);
  });
});
