// Live values counted in a reference's bins. The monitoring activity produces these counts in SQL (see
// bin-layout.ts); the functions here count an in-memory batch the same way (tests, and a JS fallback).
import { bucketOf, type CategoricalReference, type FeatureReference, type NumericReference } from './reference-profile.js';

export interface NumericLiveCounts {
  kind: 'numeric';
  /** Live rows in the window, missing ones included. */
  rows: number;
  /** Live rows whose value is missing (SQL NULL or NaN). */
  missing: number;
  /** Finite live values per fine bucket of the reference (length reference.cuts.length + 1). */
  counts: number[];
  /** Finite live values below the training min / above the training max. */
  belowMin: number;
  aboveMax: number;
  /** Value binning: finite live values equal to none of the reference's values (0 for quantile binning). */
  unseen: number;
  /** Smallest and largest finite live value (sharpen the Wasserstein estimate); null when there is none. */
  min: number | null;
  max: number | null;
}

export interface CategoricalLiveCounts {
  kind: 'categorical';
  rows: number;
  missing: number;
  /** Live values per reference category, then one last entry for everything else (length categories.length + 1). */
  counts: number[];
  /** Live values that the training data never had (a subset of the "other" entry). */
  unseen: number;
}

export type LiveCounts = NumericLiveCounts | CategoricalLiveCounts;

/** Counts a batch of live numbers (NaN/±Infinity missing) in a numeric reference's buckets. */
export function countNumericLive(reference: NumericReference, values: ArrayLike<number | null>): NumericLiveCounts {
  const counts = new Array<number>(reference.cuts.length + 1).fill(0);
  const known = reference.values === null ? null : new Set(reference.values);
  const live: NumericLiveCounts = {
    kind: 'numeric', rows: values.length, missing: 0, counts, belowMin: 0, aboveMax: 0, unseen: 0, min: null, max: null,
  };
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === null || !Number.isFinite(x)) {
      live.missing++;
      continue;
    }
    counts[bucketOf(reference.cuts, x)]++;
    if (reference.min !== null && x < reference.min) live.belowMin++;
    if (reference.max !== null && x > reference.max) live.aboveMax++;
    if (known !== null && !known.has(x)) live.unseen++;
    if (live.min === null || x < live.min) live.min = x;
    if (live.max === null || x > live.max) live.max = x;
  }
  return live;
}

/** Counts a batch of live categories (null missing) in a categorical reference's bins. */
export function countCategoricalLive(reference: CategoricalReference, values: ArrayLike<string | null>): CategoricalLiveCounts {
  const index = new Map(reference.categories.map((category, i) => [category, i]));
  const other = new Set(reference.otherCategories);
  const counts = new Array<number>(reference.categories.length + 1).fill(0);
  const live: CategoricalLiveCounts = { kind: 'categorical', rows: values.length, missing: 0, counts, unseen: 0 };
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      live.missing++;
      continue;
    }
    const bin = index.get(value);
    if (bin !== undefined) counts[bin]++;
    else {
      counts[counts.length - 1]++;
      if (!other.has(value)) live.unseen++;
    }
  }
  return live;
}

/** Counts a batch of live values in the reference's bins (numbers for numeric references, strings for categorical). */
export function countLive(reference: FeatureReference, values: ArrayLike<number | null> | ArrayLike<string | null>): LiveCounts {
  if (reference.kind === 'numeric') {
    const numbers = Array.from(values as ArrayLike<unknown>, (value) => (typeof value === 'number' ? value : value === null || value === undefined ? null : Number.NaN));
    return countNumericLive(reference, numbers);
  }
  return countCategoricalLive(reference, Array.from(values as ArrayLike<unknown>, (value) => (value === null || value === undefined ? null : String(value))));
}

/** Throws when live counts were not counted in this reference's bins (a SQL/reference mismatch). */
export function assertCountsMatchReference(reference: FeatureReference, live: LiveCounts): void {
  if (reference.kind !== live.kind) throw new RangeError(`live counts are ${live.kind} but the reference is ${reference.kind}`);
  if (live.counts.length !== reference.counts.length) {
    throw new RangeError(`live counts have ${live.counts.length} bins but the reference has ${reference.counts.length}`);
  }
  const counted = live.counts.reduce((sum, count) => sum + count, 0);
  if (counted + live.missing !== live.rows) {
    throw new RangeError(`live counts cover ${counted} values and ${live.missing} missing, but the window has ${live.rows} rows`);
  }
}

/**
 * Sums fine-bucket counts into the PSI bins. Quantile binning: the PSI cuts are a subset of the fine cuts, so
 * each fine bucket lies inside exactly one PSI bin. Value and categorical binning: the bins are the same.
 */
export function psiBinCounts(reference: FeatureReference, fineCounts: readonly number[]): number[] {
  if (reference.kind === 'categorical' || reference.psiCuts.length === reference.cuts.length) return [...fineCounts];
  const coarse = new Array<number>(reference.psiCuts.length + 1).fill(0);
  for (let j = 0; j < fineCounts.length; j++) {
    // Fine bucket j starts at cuts[j − 1] (bucket 0 at −∞); its PSI bin is the number of PSI cuts at or below that.
    const bin = j === 0 ? 0 : bucketOf(reference.psiCuts, reference.cuts[j - 1]);
    coarse[bin] += fineCounts[j];
  }
  return coarse;
}
