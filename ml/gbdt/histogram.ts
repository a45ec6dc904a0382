// Gradient histograms: for every (feature, bin) the sum of gradients and sum of hessians, interleaved as
// [g, h] pairs in one Float64Array. No row counts: like LightGBM, the split finder estimates a bin's count
// from its hessian share of the leaf (exact when hessians are constant), saving a third of the updates.

import { binCount, type BinMapper } from './binning.js';
import { binByteOffset } from './row-records.js';

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

/**
 * Accumulates records [begin, end) of a RowRecords (f64 and u8 are its views) into `hist` (cleared first).
 */
export type HistogramKernel = (hist: Float64Array, f32: Float32Array, u8: Uint8Array, begin: number, end: number) => void;

const kernels = new Map<string, HistogramKernel>();

/**
 * A histogram kernel for exactly this layout: record stride and bin offsets are baked in as constants and
 * the per-row feature loop is generated fully unrolled (measured ~2× faster than the loop, because V8
 * keeps the adds independent). With a feature range [from, to) it clears and fills only those features' bins:
 * a helper thread builds one range while the calling thread builds another. Each bin sums its rows in record
 * order whatever the range, so a histogram built in ranges equals one built whole, bit for bit.
 */
export function histogramKernel(layout: HistogramLayout, stride: number, from = 0, to = layout.featureCount): HistogramKernel {
  const key = `${stride}:${from}:${to}:${layout.totalBins}:${Array.from(layout.offsets).join(',')}`;
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    const body: string[] = [];
    for (let j = from; j < to; j++) {
      body.push(`k = (${layout.offsets[j]} + u8[b + ${binByteOffset(j)}]) * 2; hist[k] += g; hist[k + 1] += h;`);
    }
    const [clearFrom, clearTo] = histogramSlice(layout, from, to);
    // Generated from integers only (stride, bin offsets), never from user input.
    kernel = new Function(
      'hist', 'f32', 'u8', 'begin', 'end',
      `hist.fill(0, ${clearFrom}, ${clearTo});
       for (let i = begin; i < end; i++) {
         const d = i * ${stride};
         const g = f32[d * 2];
         const h = f32[d * 2 + 1];
         const b = d * 8;
         let k = 0;
         ${body.join('\n         ')}
       }
       //# sourceURL=keel-gbdt-histogram.js`,
    ) as HistogramKernel;
    kernels.set(key, kernel);
  }
  return kernel;
}

/** First global bin (×2: the [g, h] pair index) of each feature group [from, to): where its slice of a histogram starts and ends. */
export function histogramSlice(layout: HistogramLayout, from: number, to: number): [number, number] {
  return [layout.offsets[from] * 2, to === layout.featureCount ? layout.totalBins * 2 : layout.offsets[to] * 2];
}

/**
 * Loads a tree's records [0, count) from rows inBag[0..count) (ascending): single-precision gradient and hessian
 * plus the row's bin words, and accumulates the root's histogram (cleared first) and its gradient and hessian
 * sums (into sums[0], sums[1]) in the same pass, while each record is still in cache: the same sums, in the same
 * order, as loading first and building the root histogram after.
 */
export type LoadingHistogramKernel = (
  hist: Float64Array,
  sums: Float64Array,
  f64: Float64Array,
  f32: Float32Array,
  u8: Uint8Array,
  binWords: Float64Array,
  inBag: Int32Array,
  count: number,
  grad: Float64Array,
  hess: Float64Array,
) => void;

const loadingKernels = new Map<string, LoadingHistogramKernel>();

export function loadingHistogramKernel(layout: HistogramLayout, stride: number): LoadingHistogramKernel {
  const key = `${stride}:${Array.from(layout.offsets).join(',')}`;
  let kernel = loadingKernels.get(key);
  if (kernel === undefined) {
    const words = stride - 1;
    const copy = Array.from({ length: words }, (_, w) => `f64[d + ${1 + w}] = binWords[r * ${words} + ${w}];`).join(' ');
    const body: string[] = [];
    for (let j = 0; j < layout.featureCount; j++) {
      body.push(`k = (${layout.offsets[j]} + u8[b + ${binByteOffset(j)}]) * 2; hist[k] += g; hist[k + 1] += h;`);
    }
    // Generated from integers only (stride, bin offsets), never from user input.
    kernel = new Function(
      'hist', 'sums', 'f64', 'f32', 'u8', 'binWords', 'inBag', 'count', 'grad', 'hess',
      `hist.fill(0);
       let sumGrad = 0;
       let sumHess = 0;
       for (let i = 0; i < count; i++) {
         const r = inBag[i];
         const d = i * ${stride};
         f32[d * 2] = grad[r];
         f32[d * 2 + 1] = hess[r];
         ${copy}
         const g = f32[d * 2];
         const h = f32[d * 2 + 1];
         sumGrad += g;
         sumHess += h;
         const b = d * 8;
         let k = 0;
         ${body.join('\n         ')}
       }
       sums[0] = sumGrad;
       sums[1] = sumHess;
       //# sourceURL=keel-gbdt-load-histogram.js`,
    ) as LoadingHistogramKernel;
    loadingKernels.set(key, kernel);
  }
  return kernel;
}

/** parent := parent - child, leaving the sibling's histogram in `parent`. */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let k = 0; k < parent.length; k++) parent[k] -= child[k];
}
