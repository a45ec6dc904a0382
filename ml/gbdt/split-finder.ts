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
  const sumGrad = sums.grad;
  const sumHess = sums.hess;
  const sumCount = sums.count;
  const cntFactor = sumCount / sumHess;
  const minData = p.minDataInLeaf;
  const minHess = p.minSumHessianInLeaf;
  const parentGain = (sumGrad * sumGrad) / (sumHess + l2);
  const missG = hist[off + MISSING_BIN * 2];
  const missH = hist[off + MISSING_BIN * 2 + 1];
  const missC = Math.round(missH * cntFactor);
  // Any missing row adds a positive hessian (or, saturated, a non-zero gradient).
  const hasMissing = missH > 0 || missG !== 0;
  let bestGain = gainToBeat;
  let bestT = -1;
  let bestMissingLeft = false;
  // LightGBM's order, so equal gains pick the same threshold: first from the top bin down with missing rows on the
  // left (the highest of equal thresholds wins), then, when there are missing rows, from the bottom up with them
  // on the right (it wins only when strictly better). t = nb - 1 puts every present row left: "present vs missing".
  // (The candidate test is written out in both loops: a closure per call cost more than the scan itself.)
  let rg = 0;
  let rh = 0;
  let rc = 0;
  for (let t = nb - 2; t >= 1; t--) {
    const k = off + (t + 1) * 2;
    rg += hist[k];
    rh += hist[k + 1];
    rc += Math.round(hist[k + 1] * cntFactor);
    const lg = sumGrad - rg;
    const lh = sumHess - rh;
    const lc = sumCount - rc;
    const cg = sumGrad - lg;
    const ch = sumHess - lh;
    const cc = sumCount - lc;
    if (lc >= minData && cc >= minData && lh >= minHess && ch >= minHess) {
      const gain = (lg * lg) / (lh + l2) + (cg * cg) / (ch + l2) - parentGain;
      if (gain > bestGain) {
        bestGain = gain;
        bestT = t;
        bestMissingLeft = hasMissing;
      }
    }
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
      const cg = sumGrad - lg;
      const ch = sumHess - lh;
      const cc = sumCount - lc;
      if (lc >= minData && cc >= minData && lh >= minHess && ch >= minHess) {
        const gain = (lg * lg) / (lh + l2) + (cg * cg) / (ch + l2) - parentGain;
        if (gain > bestGain) {
          bestGain = gain;
          bestT = t;
          bestMissingLeft = false;
        }
      }
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
  const missingLeft = hasMissing ? bestMissingLeft : leftCount >= sumCount - leftCount;
  return {
    feature: f,
    gain: bestGain,
    thresholdBin: bestT,
    leftCategoryBins: null,
    missingLeft,
    leftGrad,
    leftHess,
    leftCount,
    rightGrad: sumGrad - leftGrad,
    rightHess: sumHess - leftHess,
    rightCount: sumCount - leftCount,
    l2,
  };
}

/** Scratch for the categorical search, reused across calls (the search runs twice per split). */
let catBins = new Int32Array(256);
let catScratch = new Int32Array(256);
let catCtr = new Float64Array(256);
let catCount = new Float64Array(256);

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
  const sumGrad = sums.grad;
  const sumHess = sums.hess;
  const sumCount = sums.count;
  const cntFactor = sumCount / sumHess;
  const minData = p.minDataInLeaf;
  const minHess = p.minSumHessianInLeaf;
  const parentGain = (sumGrad * sumGrad) / (sumHess + p.lambdaL2);
  if (catCount.length < nb) {
    catBins = new Int32Array(nb);
    catScratch = new Int32Array(nb);
    catCtr = new Float64Array(nb);
    catCount = new Float64Array(nb);
  }
  const count = catCount;
  for (let b = 0; b < nb; b++) count[b] = Math.round(hist[off + b * 2 + 1] * cntFactor);

  let bestGain = gainToBeat;
  let bestL2 = p.lambdaL2;
  // The winner: a single bin (one-hot), or the first (dir 1) / last (dir -1) `bestLength` sorted bins.
  let bestSingle = -1;
  let bestDir = 0;
  let bestLength = 0;
  let used = 0;

  if (nb - 1 <= p.maxCatToOnehot) {
    // Few categories: one category (or missing) against the rest.
    const l2 = p.lambdaL2;
    for (let b = 0; b < nb; b++) {
      const lg = hist[off + b * 2];
      const lh = hist[off + b * 2 + 1];
      if (lh === 0 && lg === 0) continue; // no rows in this bin
      const lc = count[b];
      const rg = sumGrad - lg;
      const rh = sumHess - lh;
      const rc = sumCount - lc;
      if (lc < minData || rc < minData || lh < minHess || rh < minHess) continue;
      const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentGain;
      if (gain > bestGain) {
        bestGain = gain;
        bestSingle = b;
        bestL2 = l2;
      }
    }
  } else {
    const l2 = p.lambdaL2 + p.catL2;
    const catSmooth = p.catSmooth;
    const ctr = catCtr;
    for (let b = 0; b < nb; b++) {
      if (count[b] > 0 && count[b] >= catSmooth) {
        catBins[used++] = b;
        ctr[b] = hist[off + b * 2] / (hist[off + b * 2 + 1] + catSmooth);
      }
    }
    // Ascending by ctr, ties by bin: a stable sort of bins that start ascending.
    const sorted = sortBinsByKey(catBins, catScratch, used, ctr);
    const maxNumCat = Math.min(p.maxCatThreshold, Math.floor((used + 1) / 2));
    for (let dir = 1; dir >= -1; dir -= 2) {
      let pos = dir === 1 ? 0 : used - 1;
      let lg = 0;
      let lh = 0;
      let lc = 0;
      let groupCount = 0;
      for (let i = 0; i < used && i < maxNumCat; i++) {
        const b = sorted[pos];
        pos += dir;
        lg += hist[off + b * 2];
        lh += hist[off + b * 2 + 1];
        lc += count[b];
        groupCount += count[b];
        if (lc < minData || lh < minHess) continue;
        const rc = sumCount - lc;
        if (rc < minData || rc < p.minDataPerGroup) break;
        const rh = sumHess - lh;
        if (rh < minHess) break;
        if (groupCount < p.minDataPerGroup) continue;
        groupCount = 0;
        const rg = sumGrad - lg;
        const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentGain;
        if (gain > bestGain) {
          bestGain = gain;
          bestDir = dir;
          bestLength = i + 1;
          bestL2 = l2;
        }
      }
    }
    if (bestDir !== 0) {
      // Move the winning bins to the front of catBins (sortBinsByKey may have returned the scratch array).
      const from = bestDir === 1 ? 0 : used - bestLength;
      for (let i = 0; i < bestLength; i++) catScratch[i] = sorted[from + i];
    }
  }
  let bestSet: number[];
  if (bestSingle >= 0) bestSet = [bestSingle];
  else if (bestDir !== 0) bestSet = Array.from(catScratch.subarray(0, bestLength));
  else return null;
  let leftGrad = 0;
  let leftHess = 0;
  let leftCount = 0;
  for (const b of bestSet) {
    leftGrad += hist[off + b * 2];
    leftHess += hist[off + b * 2 + 1];
    leftCount += count[b];
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
    rightGrad: sumGrad - leftGrad,
    rightHess: sumHess - leftHess,
    rightCount: sumCount - leftCount,
    l2: bestL2,
  };
}

/** Runs sorted by insertion before the merges: short runs of random keys sort faster that way (fewer passes). */
const INSERTION_RUN = 16;

/**
 * Stable sort of bins[0..n) by key[bin] ascending, using `scratch` (same length); returns the array holding the
 * result (bins or scratch). Equal keys keep their order, so bins that start ascending tie-break by bin. Runs of
 * INSERTION_RUN bins are insertion-sorted, then merged bottom-up; a stable sort's result is the only one, so this is
 * the order a plain merge sort gives (keys are finite: no NaN to break the ordering).
 */
export function sortBinsByKey(bins: Int32Array, scratch: Int32Array, n: number, key: Float64Array): Int32Array {
  for (let lo = 0; lo < n; lo += INSERTION_RUN) {
    const hi = Math.min(lo + INSERTION_RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const b = bins[i];
      const k = key[b];
      let j = i - 1;
      // Move left only past strictly greater keys: stability.
      while (j >= lo && k < key[bins[j]]) {
        bins[j + 1] = bins[j];
        j--;
      }
      bins[j + 1] = b;
    }
  }
  let src = bins;
  let dst = scratch;
  for (let width = INSERTION_RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        // Take from the right run only when strictly smaller: stability.
        if (key[src[j]] < key[src[i]]) dst[k++] = src[j++];
        else dst[k++] = src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}
