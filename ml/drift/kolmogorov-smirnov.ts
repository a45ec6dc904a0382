// Two-sample Kolmogorov–Smirnov from counts in shared left-closed buckets (see reference-profile.ts).
import { kolmogorovSurvival } from './special-functions.js';

export interface KsResult {
  /** max over the cut points c of |F_ref(c⁻) − F_live(c⁻)|: the KS statistic seen at the grid's resolution. */
  statistic: number;
  /** Asymptotic two-sided p-value: kstwobign.sf(√(n·m/(n+m)) · statistic). */
  pValue: number;
  /**
   * The exact sample statistic lies in [statistic, statistic + resolution]: inside a bucket each CDF rises by at
   * most that bucket's share, so resolution = the largest bucket share on either side. With percentile buckets it
   * is about 0.01 (a bucket of tied values can hold more); with one bucket per value the statistic is exact.
   */
  resolution: number;
}

/**
 * KS statistic and asymptotic p-value from two samples counted in the same buckets (bucket i = [c_{i−1}, c_i)).
 * Both CDFs are known exactly at every cut point, so the statistic is the exact sample statistic restricted to
 * those points. The p-value uses the limiting Kolmogorov distribution with the effective size n·m/(n+m), as
 * scipy.stats.kstwobign does (scipy's ks_2samp(method='asymp') instead evaluates the finite-n distribution kstwo at
 * round(n·m/(n+m)); the two agree closely once that size is in the hundreds). Null when either side is empty.
 */
export function ksFromBucketCounts(referenceCounts: readonly number[], liveCounts: readonly number[]): KsResult | null {
  if (referenceCounts.length !== liveCounts.length) {
    throw new RangeError(`KS needs matching buckets, got ${referenceCounts.length} and ${liveCounts.length}`);
  }
  const n = referenceCounts.reduce((sum, count) => sum + count, 0);
  const m = liveCounts.reduce((sum, count) => sum + count, 0);
  if (n === 0 || m === 0) return null;
  let referenceCumulative = 0;
  let liveCumulative = 0;
  let statistic = 0;
  let resolution = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    resolution = Math.max(resolution, referenceCounts[i] / n, liveCounts[i] / m);
    referenceCumulative += referenceCounts[i];
    liveCumulative += liveCounts[i];
    statistic = Math.max(statistic, Math.abs(referenceCumulative / n - liveCumulative / m));
  }
  const effectiveSize = (n * m) / (n + m);
  return { statistic, pValue: kolmogorovSurvival(Math.sqrt(effectiveSize) * statistic), resolution };
}

/** Asymptotic two-sided KS p-value for a statistic from samples of sizes n and m (scipy kstwobign.sf). */
export function ksAsymptoticPValue(statistic: number, n: number, m: number): number {
  return kolmogorovSurvival(Math.sqrt((n * m) / (n + m)) * statistic);
}
