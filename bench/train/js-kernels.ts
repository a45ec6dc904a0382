// The JavaScript kernels the trainer used before its WebAssembly ones (ml/gbdt/wasm-kernels.ts), kept here as the
// reference that bench/train/wasm-kernels-ab.ts and histogram-threads.ts measure against: histogram accumulation
// and the fused load over records of `stride` words, and the branch-free block partition.

import type { HistogramLayout } from '../../ml/gbdt/histogram.js';
import { binByteOffset } from '../../ml/gbdt/row-records.js';

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


/** First global bin (×2: the [g, h] pair index) of each feature group [from, to): where its slice of a histogram starts and ends. */
export function histogramSlice(layout: HistogramLayout, from: number, to: number): [number, number] {
  return [layout.offsets[from] * 2, to === layout.featureCount ? layout.totalBins * 2 : layout.offsets[to] * 2];
}

/** Records classified per block by the branch-free partition. */
const PARTITION_BLOCK = 128;

export type PartitionKernel = (
  f64: Float64Array,
  u8: Uint8Array,
  rows: Int32Array,
  begin: number,
  size: number,
  binByte: number,
  leftMask: Uint8Array,
  offsetsLeft: Int32Array,
  offsetsRight: Int32Array,
) => number;

const partitionKernels = new Map<number, PartitionKernel>();


/**
 * Hoare's two-cursor partition for records of `stride` words, made branch-free as in BlockQuicksort (Edelkamp &
 * Weiß, 2016): a block of records at each end is classified without branches into a list of misplaced offsets, then
 * those pairs are swapped (unrolled). A plain Hoare scan mispredicts about every other record on an even split; the
 * block form has no data-dependent branch per record. The last few blocks' worth of records finish with the plain
 * scan. Only misplaced records move. Rows within a leaf end up in a deterministic but not ascending order.
 */
export function partitionKernel(stride: number): PartitionKernel {
  let kernel = partitionKernels.get(stride);
  if (kernel === undefined) {
    const swap = Array.from({ length: stride }, (_, k) => `t = f64[a + ${k}]; f64[a + ${k}] = f64[b + ${k}]; f64[b + ${k}] = t;`).join(' ');
    const swapRecords = `const a = x * ${stride};
         const b = y * ${stride};
         ${swap}
         const row = rows[x];
         rows[x] = rows[y];
         rows[y] = row;`;
    // Generated from integers (the record size, the block size) only.
    kernel = new Function(
      'f64', 'u8', 'rows', 'begin', 'size', 'binByte', 'leftMask', 'offsetsLeft', 'offsetsRight',
      `let i = begin;
       let j = begin + size - 1;
       let t = 0;
       let startLeft = 0;
       let countLeft = 0;
       let startRight = 0;
       let countRight = 0;
       // Invariant: records before i go left, records after j go right; [i, j] is unsorted.
       while (j - i + 1 > ${2 * PARTITION_BLOCK}) {
         if (countLeft === 0) {
           startLeft = 0;
           for (let k = 0; k < ${PARTITION_BLOCK}; k++) {
             offsetsLeft[countLeft] = k;
             countLeft += 1 - leftMask[u8[(i + k) * ${stride * 8} + binByte]];
           }
         }
         if (countRight === 0) {
           startRight = 0;
           for (let k = 0; k < ${PARTITION_BLOCK}; k++) {
             offsetsRight[countRight] = k;
             countRight += leftMask[u8[(j - k) * ${stride * 8} + binByte]];
           }
         }
         const pairs = countLeft < countRight ? countLeft : countRight;
         for (let p = 0; p < pairs; p++) {
           const x = i + offsetsLeft[startLeft + p];
           const y = j - offsetsRight[startRight + p];
           ${swapRecords}
         }
         countLeft -= pairs;
         countRight -= pairs;
         startLeft += pairs;
         startRight += pairs;
         if (countLeft === 0) i += ${PARTITION_BLOCK};
         if (countRight === 0) j -= ${PARTITION_BLOCK};
       }
       // A block with misplaced records left lies inside [i, j]; the plain scan finishes the range.
       for (;;) {
         while (i <= j && leftMask[u8[i * ${stride * 8} + binByte]] === 1) i++;
         while (i < j && leftMask[u8[j * ${stride * 8} + binByte]] === 0) j--;
         if (i >= j) break;
         const x = i;
         const y = j;
         ${swapRecords}
         i++;
         j--;
       }
       return i - begin;
       //# sourceURL=keel-gbdt-partition.js`,
    ) as PartitionKernel;
    partitionKernels.set(stride, kernel);
  }
  return kernel;
}
