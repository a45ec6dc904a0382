// Gradient histograms: for every (feature, bin) the sum of gradients and sum of hessians, interleaved as
// [g, h] pairs in one Float64Array (built by the generated kernels of wasm-kernels.ts). No row counts: like
// LightGBM, the split finder estimates a bin's count from its hessian share of the leaf (exact when hessians are
// constant), saving a third of the updates.

import { binCount, type BinMapper } from './binning.js';

export interface HistogramLayout {
  featureCount: number;
  /** First global bin of each feature. */
  offsets: Int32Array;
  /** Bins per feature, including the missing bin. */
  binCounts: Int32Array;
  totalBins: number;
}

export function histogramLayout(mappers: BinMapper[]): HistogramLayout {
  const offsets = new Int32Array(mappers.length);
  const binCounts = new Int32Array(mappers.length);
  let total = 0;
  mappers.forEach((m, f) => {
    offsets[f] = total;
    binCounts[f] = binCount(m);
    total += binCounts[f];
  });
  return { featureCount: mappers.length, offsets, binCounts, totalBins: total };
}
