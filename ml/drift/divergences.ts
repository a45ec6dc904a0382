// Distances between two binned distributions given as counts in the same bins.
import { chiSquareSurvival } from './special-functions.js';

/**
 * Proportions below this are raised to it before PSI's logarithm, so a bin empty on one side contributes a large
 * but finite term (the same floor as data/psi.ts, so validation and monitoring PSIs compare).
 */
export const PSI_EPSILON = 1e-4;

function total(counts: readonly number[]): number {
  let sum = 0;
  for (const count of counts) {
    if (!(count >= 0)) throw new RangeError(`counts must be non-negative numbers, got ${count}`);
    sum += count;
  }
  return sum;
}

function assertSameBins(expected: readonly number[], actual: readonly number[], what: string): void {
  if (expected.length !== actual.length) throw new RangeError(`${what} needs matching bins, got ${expected.length} and ${actual.length}`);
}

/**
 * Population Stability Index Σ (a_i − e_i)·ln(a_i / e_i) over bin proportions, each floored at `epsilon`.
 * Null when either side has no observations (nothing to compare).
 */
export function psi(referenceCounts: readonly number[], liveCounts: readonly number[], epsilon = PSI_EPSILON): number | null {
  assertSameBins(referenceCounts, liveCounts, 'PSI');
  const referenceTotal = total(referenceCounts);
  const liveTotal = total(liveCounts);
  if (referenceTotal === 0 || liveTotal === 0) return null;
  let sum = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const e = Math.max(referenceCounts[i] / referenceTotal, epsilon);
    const a = Math.max(liveCounts[i] / liveTotal, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Jensen–Shannon distance with base-2 logarithms (scipy.spatial.distance.jensenshannon(p, q, base=2)): the square
 * root of the JS divergence, in [0, 1]; 0 for identical distributions, 1 for disjoint ones. No epsilon needed.
 */
export function jensenShannonDistance(referenceCounts: readonly number[], liveCounts: readonly number[]): number | null {
  assertSameBins(referenceCounts, liveCounts, 'Jensen–Shannon');
  const referenceTotal = total(referenceCounts);
  const liveTotal = total(liveCounts);
  if (referenceTotal === 0 || liveTotal === 0) return null;
  let divergence = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const p = referenceCounts[i] / referenceTotal;
    const q = liveCounts[i] / liveTotal;
    const m = (p + q) / 2;
    if (p > 0) divergence += p * Math.log2(p / m);
    if (q > 0) divergence += q * Math.log2(q / m);
  }
  // Rounding can leave a tiny negative or a hair above 1.
  return Math.sqrt(Math.min(1, Math.max(0, divergence / 2)));
}

export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * Chi-square test of homogeneity on the 2 × k table [reference counts; live counts]: are both samples drawn from
 * one distribution? Equal to scipy.stats.chi2_contingency(table, correction=False). Both samples are finite, so
 * this is the two-sample test (not a goodness-of-fit against the reference as if it were exact). Bins empty on
 * both sides are dropped (they carry no information and would make the expected count 0). Null when either side
 * is empty; statistic 0 and p-value 1 when only one bin is non-empty.
 */
export function chiSquareHomogeneity(referenceCounts: readonly number[], liveCounts: readonly number[]): ChiSquareResult | null {
  assertSameBins(referenceCounts, liveCounts, 'chi-square');
  const referenceTotal = total(referenceCounts);
  const liveTotal = total(liveCounts);
  if (referenceTotal === 0 || liveTotal === 0) return null;
  const grandTotal = referenceTotal + liveTotal;
  let statistic = 0;
  let bins = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const column = referenceCounts[i] + liveCounts[i];
    if (column === 0) continue;
    bins++;
    const expectedReference = (column * referenceTotal) / grandTotal;
    const expectedLive = (column * liveTotal) / grandTotal;
    statistic += (referenceCounts[i] - expectedReference) ** 2 / expectedReference + (liveCounts[i] - expectedLive) ** 2 / expectedLive;
  }
  const degreesOfFreedom = bins - 1;
  if (degreesOfFreedom === 0) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
  return { statistic, degreesOfFreedom, pValue: chiSquareSurvival(statistic, degreesOfFreedom) };
}
