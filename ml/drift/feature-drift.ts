// Every per-feature drift statistic of one window, from the reference and the window's live counts.
import { chiSquareHomogeneity, jensenShannonDistance, psi, type ChiSquareResult } from './divergences.js';
import { ksFromBucketCounts, type KsResult } from './kolmogorov-smirnov.js';
import { assertCountsMatchReference, psiBinCounts, type LiveCounts, type NumericLiveCounts } from './live-counts.js';
import type { FeatureReference, NumericReference } from './reference-profile.js';
import { segmentsFromBucketCounts, segmentsFromQuantiles, segmentsFromValueCounts, wassersteinBetweenSegments } from './wasserstein.js';

export interface FeatureDrift {
  kind: 'numeric' | 'categorical';
  binning: 'quantile' | 'value' | 'category';
  /** Live rows in the window (missing included). */
  liveRows: number;
  /** PSI over the PSI bins (deciles, values, or top categories + other); null when a side has no values. */
  psi: number | null;
  /** Jensen–Shannon distance (base 2, in [0, 1]) over the same bins. */
  jensenShannon: number | null;
  /** Numbers: two-sample KS over the fine buckets (see kolmogorov-smirnov.ts for the resolution). */
  ks: KsResult | null;
  /** Categories and value-binned numbers: chi-square test of homogeneity over the bins. */
  chiSquare: ChiSquareResult | null;
  /** Numbers: Wasserstein-1 distance in the feature's units (see `wassersteinOf`). */
  wasserstein: number | null;
  /** Share of rows with a missing value, in the reference and in the window. */
  missingShare: { reference: number | null; live: number | null };
  /** Share of non-missing live values never seen in training (categories; value-binned numbers). */
  unseenShare: number | null;
  /** Numbers: share of non-missing live values outside the training [min, max]. */
  outOfRangeShare: number | null;
}

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/**
 * Wasserstein-1 between the reference and the live window. Quantile binning: the reference is its percentile
 * function (linear between percentiles, as quantile_cont interpolates the sample), the live window its bucket
 * counts spread uniformly within each bucket and clipped to the live min/max; the error is at most about the
 * bucket widths weighted by their mass (≈ 1 % of the range between percentiles). Value binning: both sides are
 * point masses at the reference values, exact when every live value is one of them (off-list values count at the
 * nearest reference value; see unseenShare).
 */
export function wassersteinOf(reference: NumericReference, live: NumericLiveCounts): number | null {
  const liveFinite = live.counts.reduce((sum, count) => sum + count, 0);
  if (liveFinite === 0 || reference.min === null || reference.max === null) return null;
  if (reference.binning === 'value') {
    const values = reference.values ?? [];
    return wassersteinBetweenSegments(segmentsFromValueCounts(values, reference.counts), segmentsFromValueCounts(values, live.counts));
  }
  const liveMin = live.min ?? Math.min(reference.min, reference.cuts[0] ?? reference.min);
  const liveMax = live.max ?? Math.max(reference.max, reference.cuts[reference.cuts.length - 1] ?? reference.max);
  return wassersteinBetweenSegments(
    segmentsFromQuantiles(reference.quantiles ?? [reference.min, reference.max]),
    segmentsFromBucketCounts(reference.cuts, live.counts, liveMin, liveMax),
  );
}

/** All per-feature statistics of a window. Throws when `live` was not counted on this reference's bins. */
export function featureDrift(reference: FeatureReference, live: LiveCounts): FeatureDrift {
  assertCountsMatchReference(reference, live);
  const liveValues = live.rows - live.missing;
  const referencePsiCounts = psiBinCounts(reference, reference.counts);
  const livePsiCounts = psiBinCounts(reference, live.counts);
  const common = {
    liveRows: live.rows,
    psi: psi(referencePsiCounts, livePsiCounts),
    jensenShannon: jensenShannonDistance(referencePsiCounts, livePsiCounts),
    missingShare: { reference: share(reference.missing, reference.rows), live: share(live.missing, live.rows) },
  };
  if (reference.kind === 'categorical' || live.kind === 'categorical') {
    return {
      kind: 'categorical', binning: 'category', ...common,
      ks: null,
      chiSquare: chiSquareHomogeneity(reference.counts, live.counts),
      wasserstein: null,
      unseenShare: share(live.unseen, liveValues),
      outOfRangeShare: null,
    };
  }
  return {
    kind: 'numeric', binning: reference.binning, ...common,
    ks: ksFromBucketCounts(reference.counts, live.counts),
    chiSquare: reference.binning === 'value' ? chiSquareHomogeneity(reference.counts, live.counts) : null,
    wasserstein: wassersteinOf(reference, live),
    unseenShare: reference.binning === 'value' ? share(live.unseen, liveValues) : null,
    outOfRangeShare: share(live.belowMin + live.aboveMax, liveValues),
  };
}
