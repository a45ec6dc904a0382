import { describe, expect, it } from 'vitest';
import { binLayout } from './bin-layout.js';
import { featureDrift } from './feature-drift.js';
import { countLive, countNumericLive, psiBinCounts } from './live-counts.js';
import { buildCategoricalReference, buildFeatureReference, buildNumericReference } from './reference-profile.js';

/**
 * Park–Miller minimal-standard generator and Box–Muller: exact in JS doubles (products stay below 2^53), so the
 * same numbers come out of the Python snippet that produced the scipy reference values below:
 *   def park_miller(seed, n):
 *       s = seed; out = []
 *       for _ in range(n): s = s * 48271 % 2147483647; out.append(s / 2147483647)
 *       return out
 *   def normals(seed, n):
 *       u = park_miller(seed, 2 * n)
 *       return np.array([np.sqrt(-2*np.log(u[2*i])) * np.cos(2*np.pi*u[2*i+1]) for i in range(n)])
 */
function normals(seed: number, n: number): Float64Array {
  let state = seed;
  const next = (): number => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = next();
    const u2 = next();
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

/** `n` rows of a 0/1 flag with exactly round(n · share) ones, interleaved evenly. */
function flag(n: number, share: number): Float64Array {
  const ones = Math.round(n * share);
  return Float64Array.from({ length: n }, (_, i) => (Math.floor(((i + 1) * ones) / n) > Math.floor((i * ones) / n) ? 1 : 0));
}

describe('numeric features', () => {
  const reference = buildNumericReference(normals(12345, 2000));

  it('when the generator is the Python one, then it reproduces its first values', () => {
    // normals(12345, 2000)[:3] in the Python snippet above.
    expect(Array.from(normals(12345, 3))).toEqual([-0.2446760899366028, 0.7909317684105714, -0.24723510930034692].map((x) => expect.closeTo(x, 14)));
  });

  it('when many-valued, then it has percentile buckets and decile PSI bins made of them', () => {
    expect(reference.binning).toBe('quantile');
    expect(reference.cuts).toHaveLength(99);
    expect(reference.psiCuts).toHaveLength(9);
    for (const cut of reference.psiCuts) expect(reference.cuts).toContain(cut);
    expect(reference.quantiles).toHaveLength(101);
    expect(reference.quantiles![0]).toBe(reference.min);
    expect(reference.quantiles![100]).toBe(reference.max);
    expect(psiBinCounts(reference, reference.counts)).toEqual(new Array(10).fill(200));
    expect(JSON.parse(JSON.stringify(reference))).toEqual(reference);
  });

  it('when live data is shifted by 0.3 sd, then KS and Wasserstein agree with scipy on the raw samples', () => {
    // scipy 1.17.1, with normals() from the snippet above:
    //   ref = normals(12345, 2000); live = normals(678, 1000) + 0.3
    //   stats.ks_2samp(ref, live, method='asymp').statistic             → 0.14500000000000002
    //   stats.kstwobign.sf(np.sqrt(2000*1000/3000) * 0.14500000000000002) → 1.3375438217214066e-12
    //   stats.wasserstein_distance(ref, live)                            → 0.3048544717136237
    const live = normals(678, 1000).map((x) => x + 0.3);
    const drift = featureDrift(reference, countLive(reference, live));
    const ks = drift.ks!;
    expect(ks.statistic).toBeLessThanOrEqual(0.14500000000000002 + 1e-12);
    expect(ks.statistic).toBeGreaterThanOrEqual(0.14500000000000002 - ks.resolution);
    // The shifted sample piles 3.5 % into the top bucket, which bounds the resolution here.
    expect(ks.resolution).toBeLessThan(0.05);
    // The grid statistic is within one bucket's share of scipy's, so the p-value is within that of scipy's tiny one.
    expect(ks.pValue).toBeLessThan(1e-9);
    // Binned estimate (uniform within percentile buckets; the open tail buckets are the widest): within 5 %.
    expect(Math.abs(drift.wasserstein! - 0.3048544717136237)).toBeLessThan(0.015);
  });

  it('when live data comes from the same distribution, then PSI is below 0.1 and nothing else alarms', () => {
    const drift = featureDrift(reference, countLive(reference, normals(999, 1000)));
    expect(drift.psi!).toBeLessThan(0.1);
    expect(drift.ks!.pValue).toBeGreaterThan(0.01);
    expect(drift.wasserstein!).toBeLessThan(0.1);
    expect(drift.outOfRangeShare!).toBeLessThan(0.01);
  });

  it('when live data is shifted by one standard deviation, then PSI is at least 0.25', () => {
    const drift = featureDrift(reference, countLive(reference, normals(999, 1000).map((x) => x + 1)));
    expect(drift.psi!).toBeGreaterThanOrEqual(0.25);
    expect(drift.ks!.pValue).toBeLessThan(1e-6);
    // Two different samples: the sample distance is near, not at, the population's 1.
    expect(drift.wasserstein!).toBeGreaterThan(0.85);
    expect(drift.wasserstein!).toBeLessThan(1.15);
    expect(drift.outOfRangeShare!).toBeGreaterThan(0);
  });

  it('when a 0/1 flag moves from 5% to 60% ones, then it has value bins and PSI, KS and chi-square all alarm', () => {
    const flagReference = buildNumericReference(flag(2000, 0.05));
    expect(flagReference).toMatchObject({ binning: 'value', values: [0, 1], cuts: [0.5], counts: [1900, 100] });
    const drift = featureDrift(flagReference, countLive(flagReference, flag(1000, 0.6)));
    expect(drift.psi!).toBeGreaterThan(1);
    expect(drift.ks!.statistic).toBeCloseTo(0.55, 12);
    expect(drift.ks!.pValue).toBeLessThan(1e-50);
    expect(drift.chiSquare!.pValue).toBeLessThan(1e-50);
    expect(drift.wasserstein!).toBeCloseTo(0.55, 12);
    expect(drift.unseenShare).toBe(0);
  });

  it('when a value-binned column sees a value it never had, then the unseen and out-of-range shares say so', () => {
    const flagReference = buildNumericReference(flag(100, 0.5));
    const live = countNumericLive(flagReference, [0, 1, 0.5, 7, Number.NaN, null]);
    expect(live).toMatchObject({ rows: 6, missing: 2, counts: [1, 3], unseen: 2, belowMin: 0, aboveMax: 1, min: 0, max: 7 });
    const drift = featureDrift(flagReference, live);
    expect(drift.unseenShare).toBe(0.5);
    expect(drift.outOfRangeShare).toBe(0.25);
    expect(drift.missingShare).toEqual({ reference: 0, live: 2 / 6 });
  });

  it('when values are missing, then the missing share is reported and they stay out of the bins', () => {
    const values = normals(5, 1000);
    for (let i = 0; i < 100; i++) values[i * 10] = Number.NaN;
    const withMissing = buildNumericReference(values);
    expect(withMissing.missing).toBe(100);
    expect(withMissing.counts.reduce((sum, count) => sum + count, 0)).toBe(900);
    expect(featureDrift(withMissing, countLive(withMissing, [Number.NaN, 1, 2, null])).missingShare).toEqual({ reference: 0.1, live: 0.5 });
  });

  it('when a column has ties at a quantile, then cut points stay strictly increasing', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => (i < 500 ? 0 : i));
    const tied = buildNumericReference(values);
    expect(tied.binning).toBe('quantile');
    for (let i = 1; i < tied.cuts.length; i++) expect(tied.cuts[i]).toBeGreaterThan(tied.cuts[i - 1]);
    expect(tied.counts[0]).toBe(0);
    expect(tied.counts[1]).toBe(500);
    const same = featureDrift(tied, countLive(tied, values));
    expect(same.psi).toBe(0);
    expect(same.ks!.statistic).toBe(0);
  });
});

describe('categorical features', () => {
  const repeat = (entries: Array<[string, number]>): string[] => entries.flatMap(([value, count]) => new Array<string>(count).fill(value));
  const training = repeat([['a', 500], ['b', 300], ['c', 150], ['d', 50]]);

  it('when two category frequencies are swapped, then PSI and chi-square detect it', () => {
    const reference = buildCategoricalReference(training);
    expect(reference).toMatchObject({ categories: ['a', 'b', 'c', 'd'], counts: [500, 300, 150, 50, 0], otherCategoriesComplete: true });
    const drift = featureDrift(reference, countLive(reference, repeat([['a', 150], ['b', 300], ['c', 500], ['d', 50]])));
    expect(drift.psi!).toBeGreaterThanOrEqual(0.25);
    expect(drift.chiSquare!.pValue).toBeLessThan(1e-10);
    expect(drift.jensenShannon!).toBeGreaterThan(0.2);
    expect(drift.ks).toBeNull();
  });

  it('when live categories match the training proportions, then PSI is 0 and the p-value 1', () => {
    const reference = buildCategoricalReference(training);
    const drift = featureDrift(reference, countLive(reference, repeat([['a', 50], ['b', 30], ['c', 15], ['d', 5]])));
    expect(drift.psi).toBeCloseTo(0, 12);
    expect(drift.chiSquare!.pValue).toBeCloseTo(1, 12);
  });

  it('when there are more categories than bins, then the rest go to "other" and only new ones are unseen', () => {
    const reference = buildCategoricalReference([...training, 'e', 'f', null], { topCategoryCount: 3 });
    expect(reference).toMatchObject({ categories: ['a', 'b', 'c'], counts: [500, 300, 150, 52], otherCategories: ['d', 'e', 'f'], missing: 1, distinct: 6 });
    const live = countLive(reference, ['a', 'd', 'zzz', null]);
    expect(live).toEqual({ kind: 'categorical', rows: 4, missing: 1, counts: [1, 0, 0, 2], unseen: 1 });
    expect(featureDrift(reference, live).unseenShare).toBeCloseTo(1 / 3, 14);
    expect(binLayout(reference)).toEqual({ kind: 'categorical', categories: ['a', 'b', 'c'], known: ['a', 'b', 'c', 'd', 'e', 'f'] });
  });

  it('when live counts come from a different reference, then featureDrift refuses them', () => {
    const reference = buildCategoricalReference(training);
    expect(() => featureDrift(reference, { kind: 'categorical', rows: 3, missing: 0, counts: [1, 2], unseen: 0 })).toThrow(/bins/);
  });
});

describe('buildFeatureReference', () => {
  it('when given numbers it builds a numeric reference, and strings a categorical one', () => {
    expect(buildFeatureReference(Float64Array.of(1, 2, Number.NaN)).kind).toBe('numeric');
    expect(buildFeatureReference([null, 'x']).kind).toBe('categorical');
  });
});
