// The drift reference of one column (a feature, or the model's scores), built at registration from the training
// snapshot's values and stored with the version as JSON. Monitoring later counts live values in the same bins
// (in SQL, see bin-layout.ts; or in JS, see live-counts.ts) and compares the counts (feature-drift.ts).
//
// Numeric bins are LEFT-closed: with interior cut points c_0 < … < c_{m−1}, bucket 0 holds x < c_0, bucket i holds
// c_{i−1} ≤ x < c_i and bucket m holds x ≥ c_{m−1}. That is exactly Postgres `width_bucket(x, ARRAY[c_0, …])`,
// which returns the bucket index 0…m, so the live counts can be computed next to the prediction log.

/** Numeric columns with at most this many distinct finite values get one bin per value, not quantile bins. */
export const MAX_VALUE_BINS = 20;
/** Quantile binning: PSI bins (deciles, so each holds about a tenth of the reference). */
export const PSI_BIN_COUNT = 10;
/** Quantile binning: resolution of the fine grid used for KS and Wasserstein (percentiles). */
export const FINE_QUANTILE_COUNT = 100;
/** Categorical columns: the most frequent categories get their own bin; the rest share one "other" bin. */
export const TOP_CATEGORY_COUNT = 20;
/** Categorical columns: how many further training categories are remembered to tell "other" from "unseen". */
export const MAX_REMEMBERED_CATEGORIES = 1000;

interface ReferenceRows {
  /** Reference rows, missing ones included. */
  rows: number;
  /** Rows with a missing value (NaN/±Infinity for numbers, null for categories). */
  missing: number;
}

export interface NumericReference extends ReferenceRows {
  kind: 'numeric';
  /** `quantile`: many distinct values, percentile cut points. `value`: ≤ 20 distinct values, one bucket each. */
  binning: 'quantile' | 'value';
  /** Finite training range; null when the column had no finite value. */
  min: number | null;
  max: number | null;
  /**
   * Interior cut points of the fine buckets, strictly increasing (left-closed, see the top of this file).
   * Quantile binning: the distinct percentiles 1…99. Value binning: midpoints between consecutive distinct values,
   * so each value sits alone in its bucket and a live value off the list lands in the nearest value's bucket.
   */
  cuts: number[];
  /** Reference counts of finite values per fine bucket (length cuts.length + 1). */
  counts: number[];
  /** Cut points of the PSI bins, a subset of `cuts` (deciles for quantile binning; all cuts for value binning). */
  psiCuts: number[];
  /** Quantile binning: the reference quantile function at levels k/100, k = 0…100 (quantile_cont); else null. */
  quantiles: number[] | null;
  /** Value binning: the distinct values, ascending, one per fine bucket; else null. */
  values: number[] | null;
}

export interface CategoricalReference extends ReferenceRows {
  kind: 'categorical';
  /** The most frequent categories (count descending, then by value), one bin each. */
  categories: string[];
  /** Reference counts per category, then one last entry for "other" (length categories.length + 1). */
  counts: number[];
  /** Further training categories (counted in "other"), remembered so live "other" values can be told from unseen. */
  otherCategories: string[];
  /** False when the training data had more categories than were remembered: unseen shares are then a lower bound. */
  otherCategoriesComplete: boolean;
  /** Distinct non-missing training categories. */
  distinct: number;
}

export type FeatureReference = NumericReference | CategoricalReference;

export interface NumericReferenceOptions {
  maxValueBins?: number;
  psiBinCount?: number;
  fineQuantileCount?: number;
}

export interface CategoricalReferenceOptions {
  topCategoryCount?: number;
  maxRememberedCategories?: number;
}

/** quantile_cont over ascending `sorted` (DuckDB, numpy's default): linear interpolation at position (n − 1)·q. */
export function quantileOfSorted(sorted: ArrayLike<number>, level: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  const position = (n - 1) * level;
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  const fraction = position - below;
  const low = sorted[below];
  const high = sorted[above];
  // Equal neighbours give the value itself (no 0 · ∞ and no rounding drift between them).
  return fraction === 0 || low === high ? low : low + (high - low) * fraction;
}

/** Index of the left-closed bucket of `x` among `cuts` (0…cuts.length), as Postgres width_bucket(x, cuts). */
export function bucketOf(cuts: readonly number[], x: number): number {
  let low = 0;
  let high = cuts.length;
  // Number of cuts ≤ x, by binary search.
  while (low < high) {
    const mid = (low + high) >> 1;
    if (cuts[mid] <= x) low = mid + 1;
    else high = mid;
  }
  return low;
}

function distinctSorted(sorted: Float64Array, limit: number): number[] | null {
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      distinct.push(sorted[i]);
      if (distinct.length > limit) return null;
    }
  }
  return distinct;
}

/** A cut strictly between a < b that keeps a below and b at or above it (left-closed buckets). */
function midpoint(a: number, b: number): number {
  const mid = a / 2 + b / 2;
  return mid > a && mid <= b ? mid : b;
}

function strictlyIncreasing(values: readonly number[]): number[] {
  const out: number[] = [];
  for (const value of values) if (out.length === 0 || value > out[out.length - 1]) out.push(value);
  return out;
}

function countInBuckets(cuts: readonly number[], sortedFinite: Float64Array): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (let i = 0; i < sortedFinite.length; i++) counts[bucketOf(cuts, sortedFinite[i])]++;
  return counts;
}

/**
 * Reference of a numeric column. `values` holds one entry per training row; NaN (and ±Infinity) mean missing.
 * Many-valued columns get percentile buckets (deciles for PSI); columns with ≤ `maxValueBins` distinct values get
 * one bucket per value, so a 0/1 flag moving from 5 % to 60 % ones moves mass between two buckets.
 */
export function buildNumericReference(values: ArrayLike<number>, options: NumericReferenceOptions = {}): NumericReference {
  const maxValueBins = options.maxValueBins ?? MAX_VALUE_BINS;
  const psiBinCount = options.psiBinCount ?? PSI_BIN_COUNT;
  const fineQuantileCount = options.fineQuantileCount ?? FINE_QUANTILE_COUNT;
  if (fineQuantileCount % psiBinCount !== 0) {
    throw new RangeError(`fineQuantileCount (${fineQuantileCount}) must be a multiple of psiBinCount (${psiBinCount}) so PSI cuts are fine cuts`);
  }
  let finiteCount = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finiteCount++;
  const sorted = new Float64Array(finiteCount);
  for (let i = 0, j = 0; i < values.length; i++) if (Number.isFinite(values[i])) sorted[j++] = values[i];
  sorted.sort();
  const rows = values.length;
  const missing = rows - finiteCount;
  const min = finiteCount > 0 ? sorted[0] : null;
  const max = finiteCount > 0 ? sorted[finiteCount - 1] : null;

  const distinct = distinctSorted(sorted, maxValueBins);
  if (distinct !== null) {
    const cuts = distinct.slice(1).map((value, i) => midpoint(distinct[i], value));
    return {
      kind: 'numeric', binning: 'value', rows, missing, min, max,
      cuts, counts: countInBuckets(cuts, sorted), psiCuts: [...cuts], quantiles: null, values: distinct,
    };
  }
  const quantiles = Array.from({ length: fineQuantileCount + 1 }, (_, k) => quantileOfSorted(sorted, k / fineQuantileCount));
  const cuts = strictlyIncreasing(quantiles.slice(1, -1));
  const step = fineQuantileCount / psiBinCount;
  // The same numbers as the fine grid (same quantile at the same level), so the PSI bins coarsen the fine buckets.
  const psiCuts = strictlyIncreasing(quantiles.filter((_, k) => k > 0 && k < fineQuantileCount && k % step === 0));
  return {
    kind: 'numeric', binning: 'quantile', rows, missing, min, max,
    cuts, counts: countInBuckets(cuts, sorted), psiCuts, quantiles, values: null,
  };
}

/** Reference of a categorical column; null is missing. */
export function buildCategoricalReference(
  values: ArrayLike<string | null>,
  options: CategoricalReferenceOptions = {},
): CategoricalReference {
  const topCategoryCount = options.topCategoryCount ?? TOP_CATEGORY_COUNT;
  const maxRemembered = options.maxRememberedCategories ?? MAX_REMEMBERED_CATEGORIES;
  const frequencies = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) missing++;
    else frequencies.set(value, (frequencies.get(value) ?? 0) + 1);
  }
  // Count descending, then by code unit order: deterministic whatever the row order.
  const ranked = [...frequencies].sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0));
  const top = ranked.slice(0, topCategoryCount);
  const rest = ranked.slice(topCategoryCount);
  const otherCount = rest.reduce((sum, [, count]) => sum + count, 0);
  return {
    kind: 'categorical',
    rows: values.length,
    missing,
    categories: top.map(([value]) => value),
    counts: [...top.map(([, count]) => count), otherCount],
    otherCategories: rest.slice(0, maxRemembered).map(([value]) => value),
    otherCategoriesComplete: rest.length <= maxRemembered,
    distinct: frequencies.size,
  };
}

/** Reference of a column as read from a snapshot: Float64Array (NaN missing) for numbers, strings/null for categories. */
export function buildFeatureReference(
  values: ArrayLike<number> | ArrayLike<string | null>,
  options: NumericReferenceOptions & CategoricalReferenceOptions = {},
): FeatureReference {
  if (values instanceof Float64Array || values instanceof Float32Array) return buildNumericReference(values, options);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'number') return buildNumericReference(values as ArrayLike<number>, options);
    if (typeof value === 'string') return buildCategoricalReference(values as ArrayLike<string | null>, options);
  }
  // All null: nothing says which kind it is; a numeric reference of missing values fits both.
  return buildNumericReference(Float64Array.from({ length: values.length }, () => Number.NaN), options);
}
