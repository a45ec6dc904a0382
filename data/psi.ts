// Population Stability Index and the histogram binning shared by validation (here) and drift monitoring (later).
//
// Bins are right-closed like DuckDB's `histogram(x, boundaries)`: with edges e0 < e1 < … < ek, bin 0 holds
// x ≤ e1, bin i holds e_i < x ≤ e_{i+1}, and the last bin holds x > e_{k-1}. Values outside [e0, ek] fall into
// the first or last bin, so live data is always binned on the reference's edges.

export interface PsiThresholds {
  warn: number;
  fail: number;
}

export const DEFAULT_PSI_THRESHOLDS: PsiThresholds = { warn: 0.1, fail: 0.25 };

/** Proportions below this are raised to it, so an empty bin contributes a large but finite term. */
export const PSI_EPSILON = 1e-4;

/** Index of the bin holding `x` for histogram `edges` (length k+1 → k bins); NaN for non-finite x. */
export function binIndex(edges: readonly number[], x: number): number {
  if (!Number.isFinite(x)) return Number.NaN;
  const bins = Math.max(1, edges.length - 1);
  // Binary search over the interior cut points edges[1..bins-1].
  let low = 0;
  let high = bins - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (x <= edges[mid + 1]!) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Counts of the finite `values` in the bins of `edges`. */
export function binCounts(edges: readonly number[], values: Iterable<number>): number[] {
  const counts = new Array<number>(Math.max(1, edges.length - 1)).fill(0);
  for (const value of values) {
    const index = binIndex(edges, value);
    if (!Number.isNaN(index)) counts[index]! += 1;
  }
  return counts;
}

/** PSI = Σ (a_i − e_i) · ln(a_i / e_i) over bin proportions; 0 when either side has no observations. */
export function psi(expectedCounts: readonly number[], actualCounts: readonly number[], epsilon = PSI_EPSILON): number {
  if (expectedCounts.length !== actualCounts.length) {
    throw new RangeError(`PSI needs matching bins, got ${expectedCounts.length} and ${actualCounts.length}`);
  }
  const expectedTotal = expectedCounts.reduce((sum, count) => sum + count, 0);
  const actualTotal = actualCounts.reduce((sum, count) => sum + count, 0);
  if (expectedTotal === 0 || actualTotal === 0) return 0;
  let total = 0;
  for (let i = 0; i < expectedCounts.length; i += 1) {
    const e = Math.max(expectedCounts[i]! / expectedTotal, epsilon);
    const a = Math.max(actualCounts[i]! / actualTotal, epsilon);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

export interface CategoryCount {
  value: string;
  count: number;
}

/**
 * PSI between two categorical distributions. With `referenceComplete`, every category either side ever had
 * is its own bin (unseen categories show up as shift); otherwise the reference's listed categories are bins and
 * everything else, on both sides, goes into one "other" bin holding the remaining counts.
 */
export function categoricalPsi(
  reference: { values: readonly CategoryCount[]; total: number; complete: boolean },
  actual: { values: readonly CategoryCount[]; total: number },
  epsilon = PSI_EPSILON,
): number {
  const referenceCounts = new Map(reference.values.map((entry) => [entry.value, entry.count]));
  const actualCounts = new Map(actual.values.map((entry) => [entry.value, entry.count]));
  const expected: number[] = [];
  const observed: number[] = [];
  if (reference.complete) {
    for (const value of new Set([...referenceCounts.keys(), ...actualCounts.keys()])) {
      expected.push(referenceCounts.get(value) ?? 0);
      observed.push(actualCounts.get(value) ?? 0);
    }
    const listedActual = observed.reduce((sum, count) => sum + count, 0);
    expected.push(0);
    observed.push(Math.max(0, actual.total - listedActual));
  } else {
    let listedActual = 0;
    for (const [value, count] of referenceCounts) {
      const seen = actualCounts.get(value) ?? 0;
      expected.push(count);
      observed.push(seen);
      listedActual += seen;
    }
    const listedReference = expected.reduce((sum, count) => sum + count, 0);
    expected.push(Math.max(0, reference.total - listedReference));
    observed.push(Math.max(0, actual.total - listedActual));
  }
  return psi(expected, observed, epsilon);
}
