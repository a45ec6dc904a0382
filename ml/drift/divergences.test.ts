import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chiSquareHomogeneity, jensenShannonDistance, psi } from './divergences.js';

// Reference values from scipy 1.17.1 / numpy 2.4.6:
//   import numpy as np; from scipy import stats; from scipy.spatial.distance import jensenshannon
//   def psi(e, a, eps=1e-4):
//       e = np.maximum(np.asarray(e, float) / np.sum(e), eps); a = np.maximum(np.asarray(a, float) / np.sum(a), eps)
//       return float(np.sum((a - e) * np.log(a / e)))
//   psi([10,20,30,40], [40,30,20,10]); psi([5,0,5], [3,3,4]); psi([950,50], [400,600])
//   jensenshannon([10,20,30,40], [40,30,20,10], base=2)
//   stats.chi2_contingency(np.array([[50,30,20],[30,30,40]]), correction=False)
//   stats.chi2_contingency(np.array([[950,50],[400,600]]), correction=False)
describe('psi', () => {
  it('when computed with numpy, then it matches', () => {
    expect(psi([10, 20, 30, 40], [40, 30, 20, 10])).toBeCloseTo(0.9128696382935673, 13);
    expect(psi([950, 50], [400, 600])).toBeCloseTo(1.8424472480010325, 13);
  });

  it('when a reference bin is empty, then its proportion is floored at 1e-4', () => {
    expect(psi([5, 0, 5], [3, 3, 4])).toBeCloseTo(2.525589113422928, 12);
  });

  it('when a side has no observations, then it is null', () => {
    expect(psi([0, 0], [1, 2])).toBeNull();
    expect(psi([1, 2], [0, 0])).toBeNull();
  });
});

describe('jensenShannonDistance', () => {
  it('when computed with scipy, then it matches', () => {
    expect(jensenShannonDistance([10, 20, 30, 40], [40, 30, 20, 10])).toBeCloseTo(0.3918681606471551, 14);
  });

  it('when the distributions are disjoint, then it is 1', () => {
    expect(jensenShannonDistance([1, 0], [0, 1])).toBe(1);
  });
});

describe('chiSquareHomogeneity', () => {
  it('when computed with scipy chi2_contingency, then statistic, dof and p-value match', () => {
    const result = chiSquareHomogeneity([50, 30, 20], [30, 30, 40])!;
    expect(result.statistic).toBeCloseTo(11.666666666666668, 12);
    expect(result.degreesOfFreedom).toBe(2);
    expect(result.pValue).toBeCloseTo(0.0029282996948181853, 14);
  });

  it('when a 0/1 flag moves from 5% to 60% ones, then the p-value is tiny', () => {
    const result = chiSquareHomogeneity([950, 50], [400, 600])!;
    expect(result.statistic).toBeCloseTo(689.4586894586894, 10);
    expect(result.degreesOfFreedom).toBe(1);
    expect(result.pValue / 5.8614644062430344e-152).toBeCloseTo(1, 8);
  });

  it('when a bin is empty on both sides, then it is dropped from the degrees of freedom', () => {
    expect(chiSquareHomogeneity([50, 0, 30, 20], [30, 0, 30, 40])!.degreesOfFreedom).toBe(2);
  });

  it('when only one bin has values, then the samples agree: statistic 0, p-value 1', () => {
    expect(chiSquareHomogeneity([7, 0], [3, 0])).toEqual({ statistic: 0, degreesOfFreedom: 0, pValue: 1 });
  });
});

const countPairs = fc
  .integer({ min: 1, max: 12 })
  .chain((bins) => fc.tuple(fc.array(fc.nat(1000), { minLength: bins, maxLength: bins }), fc.array(fc.nat(1000), { minLength: bins, maxLength: bins })))
  .filter(([a, b]) => a.some((x) => x > 0) && b.some((x) => x > 0));

describe('properties', () => {
  it('PSI is never negative, JS distance is in [0, 1], the chi-square p-value is in [0, 1]', () => {
    fc.assert(
      fc.property(countPairs, ([a, b]) => {
        expect(psi(a, b)!).toBeGreaterThanOrEqual(0);
        const js = jensenShannonDistance(a, b)!;
        expect(js).toBeGreaterThanOrEqual(0);
        expect(js).toBeLessThanOrEqual(1);
        const chi = chiSquareHomogeneity(a, b)!;
        expect(chi.pValue).toBeGreaterThanOrEqual(0);
        expect(chi.pValue).toBeLessThanOrEqual(1);
        expect(chi.statistic).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('when both sides have the same proportions, then PSI, JS and chi-square are 0 and the p-value is 1', () => {
    fc.assert(
      fc.property(countPairs, fc.integer({ min: 1, max: 5 }), ([a], scale) => {
        const b = a.map((x) => x * scale);
        expect(psi(a, b)).toBeCloseTo(0, 12);
        expect(jensenShannonDistance(a, b)).toBeLessThan(1e-7);
        const chi = chiSquareHomogeneity(a, b)!;
        expect(chi.statistic).toBeCloseTo(0, 9);
        expect(chi.pValue).toBeCloseTo(1, 9);
      }),
    );
  });

  it('PSI is symmetric in its two sides', () => {
    fc.assert(
      fc.property(countPairs, ([a, b]) => {
        const forward = psi(a, b)!;
        expect(Math.abs(forward - psi(b, a)!)).toBeLessThanOrEqual(1e-12 * Math.max(1, forward));
      }),
    );
  });
});
