// Gradient histograms: for every (feature, bin) the sum of gradients and sum of hessians, interleaved as
// [g, h] pairs in one Float64Array. No row counts: like LightGBM, the split finder estimates a bin's count
// from its hessian share of the leaf (exact when hessians are constant), saving a third of the updates.

import { binCount, type BinMapper, type BinnedMatrix } from './binning.js';

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
 * Row-major global bin ids (feature offset + bin) for histogram building: one row's features are adjacent,
 * so each row's gradient pair is read once and the offset addition is done once, not per tree.
 */
export function globalBinMatrix(data: BinnedMatrix, layout: HistogramLayout): Uint16Array {
  const f = data.featureCount;
  const out = new Uint16Array(data.rowCount * f);
  for (let j = 0; j < f; j++) {
    const column = data.columns[j];
    const off = layout.offsets[j];
    for (let r = 0; r < data.rowCount; r++) out[r * f + j] = off + column[r];
  }
  return out;
}

/**
 * Accumulates rows[begin..end) into `hist` (cleared first).
 * Arguments: (hist, globalBins, rows, begin, end, grad, hess).
 */
export type HistogramKernel = (
  hist: Float64Array,
  globalBins: Uint16Array,
  rows: Int32Array,
  begin: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
) => void;

const kernels = new Map<number, HistogramKernel>();

/**
 * A histogram kernel for exactly `featureCount` features. Up to 64 features the per-row feature loop is
 * generated fully unrolled: measured ~2× faster than the loop, because V8 keeps the adds independent.
 */
export function histogramKernel(featureCount: number): HistogramKernel {
  let kernel = kernels.get(featureCount);
  if (kernel === undefined) {
    kernel = featureCount <= 64 ? unrolledKernel(featureCount) : loopKernel(featureCount);
    kernels.set(featureCount, kernel);
  }
  return kernel;
}

function unrolledKernel(f: number): HistogramKernel {
  const body: string[] = [];
  for (let j = 0; j < f; j++) {
    body.push(`k = gbins[base + ${j}] * 2; hist[k] += g; hist[k + 1] += h;`);
  }
  // Generated from constants only (no user input): the feature count is an integer.
  return new Function(
    'hist', 'gbins', 'rows', 'begin', 'end', 'grad', 'hess',
    `hist.fill(0);
     for (let i = begin; i < end; i++) {
       const r = rows[i];
       const g = grad[r];
       const h = hess[r];
       const base = r * ${f};
       let k = 0;
       ${body.join('\n       ')}
     }`,
  ) as HistogramKernel;
}

function loopKernel(f: number): HistogramKernel {
  return (hist, gbins, rows, begin, end, grad, hess) => {
    hist.fill(0);
    for (let i = begin; i < end; i++) {
      const r = rows[i];
      const g = grad[r];
      const h = hess[r];
      const base = r * f;
      for (let j = 0; j < f; j++) {
        const k = gbins[base + j] * 2;
        hist[k] += g;
        hist[k + 1] += h;
      }
    }
  };
}

/** parent := parent - child, leaving the sibling's histogram in `parent`. */
export function subtractHistogram(parent: Float64Array, child: Float64Array): void {
  for (let k = 0; k < parent.length; k++) parent[k] -= child[k];
}
