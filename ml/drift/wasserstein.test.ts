import { describe, expect, it } from 'vitest';
import { segmentsFromBucketCounts, segmentsFromQuantiles, segmentsFromValueCounts, wassersteinBetweenSegments } from './wasserstein.js';

describe('wassersteinBetweenSegments', () => {
  it('when both sides are point masses, then it matches scipy wasserstein_distance exactly', () => {
    // scipy 1.17.1: stats.wasserstein_distance([0,0,0,1,1,2], [0,1,1,2,2,2]) → 0.6666666666666667
    const values = [0, 1, 2];
    const distance = wassersteinBetweenSegments(segmentsFromValueCounts(values, [3, 2, 1]), segmentsFromValueCounts(values, [1, 2, 3]));
    expect(distance).toBeCloseTo(0.6666666666666667, 14);
  });

  it('when a uniform distribution is shifted by d, then the distance is d', () => {
    const uniform = segmentsFromQuantiles([0, 0.5, 1]);
    const shifted = segmentsFromQuantiles([0.3, 0.8, 1.3]);
    expect(wassersteinBetweenSegments(uniform, shifted)).toBeCloseTo(0.3, 14);
  });

  it('when a uniform [0, 1] is compared with a point mass at 0.5, then it is 1/4', () => {
    expect(wassersteinBetweenSegments([{ from: 0, to: 1, mass: 1 }], [{ from: 0.5, to: 0.5, mass: 1 }])).toBeCloseTo(0.25, 14);
  });

  it('when counts are bucketed, then the end buckets are closed by the sample min and max', () => {
    const segments = segmentsFromBucketCounts([1, 2], [1, 0, 3], 0.5, 4);
    expect(segments).toEqual([{ from: 0.5, to: 1, mass: 1 }, { from: 2, to: 4, mass: 3 }]);
  });
});
