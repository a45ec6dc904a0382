// Best-split search on one leaf's histogram, following LightGBM's definitions:
// gain = G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ); numeric splits try missing on both sides;
// categorical splits sort categories by sum_grad/(sum_hess + cat_smooth) and scan prefixes from both ends.
// Histograms hold no counts: as LightGBM does, a bin's row count is estimated as
// round(bin hessian × leaf rows / leaf hessian), exact whenever hessians are constant (L2 regression). The
// estimate can be far off for a binary task (a few uncertain rows carry most of a leaf's hessian), so the tree
// learner checks the real child sizes after partitioning and refuses a split that breaks minDataInLeaf.

import { MISSING_BIN } from './binning.js';
import type { HistogramLayout } from './histogram.js';
import type { GbdtParams } from './params.js';

export interface SplitInfo {
  feature: number;
  gain: number;
  /** Numeric: bins 1..thresholdBin go left. -1 for categorical splits. */
  thresholdBin: number;
  /** Categorical: the non-missing bins that go left (bin = category code + 1), ascending. */
  leftCategoryBins: number[] | null;
  missingLeft: boolean;
  leftGrad: number;
  leftHess: number;
  leftCount: number;
  rightGrad: number;
  rightHess: number;
  rightCount: number;
  /** L2 regulariser for the children's outputs (λ, plus cat_l2 for sorted categorical splits). */
  l2: number;
}

export interface LeafSums {
  grad: number;
  hess: number;
  count: number;
}

/** LightGBM's kEpsilon, as the least denominator: a leaf whose hessians all rounded to 0 (a saturated binary score) stays defined. */
export const HESSIAN_EPSILON = 1e-15;

/** -G / max(H + λ, ε); never NaN or infinite (a non-finite quotient, only possible from overflow, gives 0). */
export function leafOutput(grad: number, hess: number, l2: number): number {
  const output = -grad / Math.max(hess + l2, HESSIAN_EPSILON);
  return Number.isFinite(output) ? output : 0;
}

/** Best split over the features with usedFeature[f] = 1, or null when no split gains more than minGainToSplit. */
export function findBestSplit(
  hist: Float64Array,
  layout: HistogramLayout,
  isCategorical: Uint8Array,
  usedFeature: Uint8Array,
  sums: LeafSums,
  params: GbdtParams,
): SplitInfo | null {
  let best: SplitInfo | null = null;
  for (let f = 0; f < layout.featureCount; f++) {
    if (usedFeature[f] === 0) continue;
    const candidate: SplitInfo | null = isCategorical[f] === 1
      ? bestCategoricalSplit(hist, layout, f, sums, params, best === null ? params.minGainToSplit : best.gain)
      : bestNumericSplit(hist, layout, f, sums, params, best === null ? params.minGainToSplit : best.gain);
    if (candidate !== null) best = candidate;
  }
  return best;
}

function bestNumericSplit(
  hist: Float64Array,
  layout: HistogramLayout,
  f: number,
  sums: LeafSums,
  p: GbdtParams,
  gainToBeat: number,
): SplitInfo | null {
  const off = layout.offsets[f] * 2;
  const nb = layout.binCounts[f];
  const l2 = p.lambdaL2;
  const cntFactor = sums.count / sums.hess;
  const minData = p.minDataInLeaf;
  const minHess = p.minSumHessianInLeaf;
  const parentGain = (sums.grad * sums.grad) / (sums.hess + l2);
  const missG = hist[off + MISSING_BIN * 2];
  const missH = hist[off + MISSING_BIN * 2 + 1];
  const missC = Math.round(missH * cntFactor);
  // Any missing row adds a positive hessian (or, saturated, a non-zero gradient).
  const hasMissing = missH > 0 || missG !== 0;
  let bestGain = gainToBeat;
  let bestT = -1;
  let bestMissingLeft = false;
  const consider = (t: number, lg: number, lh: number, lc: number, missingLeft: boolean): void => {
    const rg = sums.grad - lg;
    const rh = sums.hess - lh;
    const rc = sums.count - lc;
    if (lc >= minData && rc >= minData && lh >= minHess && rh >= minHess) {
      const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentGain;
      if (gain > bestGain) {
        bestGain = gain;
        bestT = t;
        bestMissingLeft = missingLeft;
      }
    }
  };
  // LightGBM's order, so equal gains pick the same threshold: first from the top bin down with missing rows on the
  // left (the highest of equal thresholds wins), then, when there are missing rows, from the bottom up with them
  // on the right (it wins only when strictly better). t = nb - 1 puts every present row left: "present vs missing".
  let rg = 0;
  let rh = 0;
  let rc = 0;
  for (let t = nb - 2; t >= 1; t--) {
    const k = off + (t + 1) * 2;
    rg += hist[k];
    rh += hist[k + 1];
    rc += Math.round(hist[k + 1] * cntFactor);
    consider(t, sums.grad - rg, sums.hess - rh, sums.count - rc, hasMissing);
  }
  if (hasMissing) {
    let lg = 0;
    let lh = 0;
    let lc = 0;
    for (let t = 1; t <= nb - 1; t++) {
      const k = off + t * 2;
      lg += hist[k];
      lh += hist[k + 1];
      lc += Math.round(hist[k + 1] * cntFactor);
      consider(t, lg, lh, lc, false);
    }
  }
  if (bestT < 0) return null;
  let leftGrad = 0;
  let leftHess = 0;
  let leftCount = 0;
  for (let t = 1; t <= bestT; t++) {
    leftGrad += hist[off + t * 2];
    leftHess += hist[off + t * 2 + 1];
    leftCount += Math.round(hist[off + t * 2 + 1] * cntFactor);
  }
  if (bestMissingLeft) {
    leftGrad += missG;
    leftHess += missH;
    leftCount += missC;
  }
  // Missing never seen here: send it (at prediction time) to the child that saw more rows.
  const missingLeft = hasMissing ? bestMissingLeft : leftCount >= sums.count - leftCount;
  return {
    feature: f,
    gain: bestGain,
    thresholdBin: bestT,
    leftCategoryBins: null,
    missingLeft,
    leftGrad,
    leftHess,
    leftCount,
    rightGrad: sums.grad - leftGrad,
    rightHess: sums.hess - leftHess,
    rightCount: sums.count - leftCount,
    l2,
  };
}

function bestCategoricalSplit(
  hist: Float64Array,
  layout: HistogramLayout,
  f: number,
  sums: LeafSums,
  p: GbdtParams,
  gainToBeat: number,
): SplitInfo | null {
  const off = layout.offsets[f] * 2;
  const nb = layout.binCounts[f];
  const cntFactor = sums.count / sums.hess;
  const minData = p.minDataInLeaf;
  const minHess = p.minSumHessianInLeaf;
  const parentGain = (sums.grad * sums.grad) / (sums.hess + p.lambdaL2);
  const G = (b: number): number => hist[off + b * 2];
  const H = (b: number): number => hist[off + b * 2 + 1];
  const C = (b: number): number => Math.round(hist[off + b * 2 + 1] * cntFactor);

  let bestGain = gainToBeat;
  let bestSet: number[] | null = null;
  let bestL2 = p.lambdaL2;

  if (nb - 1 <= p.maxCatToOnehot) {
    // Few categories: one category (or missing) against the rest.
    const l2 = p.lambdaL2;
    for (let b = 0; b < nb; b++) {
      if (H(b) === 0 && G(b) === 0) continue; // no rows in this bin
      const lc = C(b);
      const lg = G(b);
      const lh = H(b);
      const rg = sums.grad - lg;
      const rh = sums.hess - lh;
      const rc = sums.count - lc;
      if (lc < minData || rc < minData || lh < minHess || rh < minHess) continue;
      const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentGain;
      if (gain > bestGain) {
        bestGain = gain;
        bestSet = [b];
        bestL2 = l2;
      }
    }
  } else {
    const l2 = p.lambdaL2 + p.catL2;
    const sorted: number[] = [];
    for (let b = 0; b < nb; b++) if (C(b) > 0 && C(b) >= p.catSmooth) sorted.push(b);
    const ctr = (b: number): number => G(b) / (H(b) + p.catSmooth);
    sorted.sort((a, b) => ctr(a) - ctr(b) || a - b);
    const used = sorted.length;
    const maxNumCat = Math.min(p.maxCatThreshold, Math.floor((used + 1) / 2));
    for (const dir of [1, -1]) {
      let pos = dir === 1 ? 0 : used - 1;
      let lg = 0;
      let lh = 0;
      let lc = 0;
      let groupCount = 0;
      for (let i = 0; i < used && i < maxNumCat; i++) {
        const b = sorted[pos];
        pos += dir;
        lg += G(b);
        lh += H(b);
        lc += C(b);
        groupCount += C(b);
        if (lc < minData || lh < minHess) continue;
        const rc = sums.count - lc;
        if (rc < minData || rc < p.minDataPerGroup) break;
        const rh = sums.hess - lh;
        if (rh < minHess) break;
        if (groupCount < p.minDataPerGroup) continue;
        groupCount = 0;
        const rg = sums.grad - lg;
        const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentGain;
        if (gain > bestGain) {
          bestGain = gain;
          bestSet = dir === 1 ? sorted.slice(0, i + 1) : sorted.slice(used - 1 - i);
          bestL2 = l2;
        }
      }
    }
  }
  if (bestSet === null) return null;
  let leftGrad = 0;
  let leftHess = 0;
  let leftCount = 0;
  for (const b of bestSet) {
    leftGrad += G(b);
    leftHess += H(b);
    leftCount += C(b);
  }
  const missingLeft = bestSet.includes(MISSING_BIN);
  return {
    feature: f,
    gain: bestGain,
    thresholdBin: -1,
    leftCategoryBins: bestSet.filter((b) => b !== MISSING_BIN).sort((a, b) => a - b),
    missingLeft,
    leftGrad,
    leftHess,
    leftCount,
    rightGrad: sums.grad - leftGrad,
    rightHess: sums.hess - leftHess,
    rightCount: sums.count - leftCount,
    l2: bestL2,
  };
}
