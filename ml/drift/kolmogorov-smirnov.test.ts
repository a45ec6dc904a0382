import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ksAsymptoticPValue, ksFromBucketCounts } from './kolmogorov-smirnov.js';
import { bucketOf } from './reference-profile.js';

function countOn(cuts: number[], values: number[]): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (const value of values) counts[bucketOf(cuts, value)]++;
  return counts;
}

describe('ksFromBucketCounts', () => {
  // scipy 1.17.1:
  //   a = [1,2,2,3,5,8,13]; b = [2,3,3,4,6,7,9,10]
  //   k = stats.ks_2samp(a, b, method='asymp')                  → statistic 0.30357142857142855
  //   stats.kstwobign.sf(np.sqrt(7*8/15) * k.statistic)         → 0.8815679966383854
  // (ks_2samp's own asymp p-value, 0.7596655690337359, evaluates the finite-n kstwo at round(7·8/15) = 4; we use
  //  the limiting distribution, which is what matters at monitoring sizes.)
  const a = [1, 2, 2, 3, 5, 8, 13];
  const b = [2, 3, 3, 4, 6, 7, 9, 10];

  it('when every distinct value is a cut point, then the statistic is the exact two-sample statistic', () => {
    const cuts = [...new Set([...a, ...b])].sort((x, y) => x - y);
    const result = ksFromBucketCounts(countOn(cuts, a), countOn(cuts, b))!;
    expect(result.statistic).toBeCloseTo(0.30357142857142855, 14);
    expect(result.pValue).toBeCloseTo(0.8815679966383854, 12);
  });

  it('when the grid is coarser, then the statistic is a lower bound within the reported resolution', () => {
    const result = ksFromBucketCounts(countOn([3, 8], a), countOn([3, 8], b))!;
    expect(result.statistic).toBeLessThanOrEqual(0.30357142857142855);
    expect(result.statistic + result.resolution).toBeGreaterThanOrEqual(0.30357142857142855);
  });

  it('when a side is empty, then there is no result', () => {
    expect(ksFromBucketCounts([0, 0], [1, 1])).toBeNull();
  });

  it('the p-value is in [0, 1], and 1 for identical distributions', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(500), fc.nat(500)), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 4 }), (pairs, scale) => {
        const reference = pairs.map(([x]) => x);
        const live = pairs.map(([, y]) => y);
        fc.pre(reference.some((x) => x > 0) && live.some((y) => y > 0));
        const result = ksFromBucketCounts(reference, live)!;
        expect(result.pValue).toBeGreaterThanOrEqual(0);
        expect(result.pValue).toBeLessThanOrEqual(1);
        expect(result.statistic).toBeGreaterThanOrEqual(0);
        expect(result.statistic).toBeLessThanOrEqual(1);
        const same = ksFromBucketCounts(reference, reference.map((x) => x * scale))!;
        expect(same.statistic).toBeCloseTo(0, 12);
        expect(same.pValue).toBe(1);
      }),
    );
  });

  it('ksAsymptoticPValue agrees with the bucketed result', () => {
    expect(ksAsymptoticPValue(0.30357142857142855, 7, 8)).toBeCloseTo(0.8815679966383854, 12);
  });
});
