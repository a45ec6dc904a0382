// The training rows of one tree as packed records kept in leaf order: every split moves the records
// themselves (not just row ids), so each leaf's rows are one contiguous block of memory and histogram
// building streams through it instead of gathering bins, gradients and hessians from scattered rows
// (cache misses that made deep leaves ~4× slower per row).

import type { BinnedMatrix } from './binning.js';
import type { HelperThread } from './helper-thread.js';

/** Feature bins per 8-byte word: the top byte stays 0 so the word, read as a double, is finite (never NaN). */
const BINS_PER_WORD = 7;

/**
 * Leaves of at least this many records are partitioned as two halves, each in place, then the misplaced middle
 * blocks exchanged, so a helper thread can take one half. Always, whatever the thread count: the records' order,
 * and with it every histogram's summation order and the model, does not depend on how many threads ran.
 */
export const HALVED_PARTITION_MIN_ROWS = 32_768;

/** Byte offset of feature j's bin inside a record. */
export function binByteOffset(j: number): number {
  return 8 + Math.floor(j / BINS_PER_WORD) * 8 + (j % BINS_PER_WORD);
}

/**
 * Record i (leaf-order position i) is f32[i*stride*2] = gradient, f32[i*stride*2 + 1] = hessian (single
 * precision, as LightGBM stores them; histograms still sum in doubles), then the row's feature bins as
 * bytes: feature j at u8[i*stride*8 + binByteOffset(j)]. Records are moved as doubles, which V8 copies
 * bit-exactly because every word is finite: the hessian (≥ 0) is the sign and exponent of the first word,
 * and the top byte of each bin word is 0. 16 bytes per row for up to 7 features.
 */
export class RowRecords {
  /** Record size in 8-byte words. */
  readonly stride: number;
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly u8: Uint8Array;
  /** The records' memory: a SharedArrayBuffer when helper threads share it. */
  readonly buffer: ArrayBufferLike;
  /** Every row's bin words in row order, the source each tree's records are loaded from. */
  readonly binWords: Float64Array;
  private readonly partitionKernel: PartitionKernel;
  private readonly offsetsLeft = new Int32Array(PARTITION_BLOCK);
  private readonly offsetsRight = new Int32Array(PARTITION_BLOCK);
  /** Scratch of the halves' exchange, grown on demand. */
  private exchangeWords = new Float64Array(0);
  private exchangeRows = new Int32Array(0);

  constructor(data: BinnedMatrix, shared = false) {
    const f = data.featureCount;
    const words = Math.ceil(f / BINS_PER_WORD);
    this.stride = 1 + words;
    const bytes = data.rowCount * this.stride * 8;
    const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    this.buffer = buffer;
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    const bins = new Uint8Array(data.rowCount * words * 8);
    for (let j = 0; j < f; j++) {
      const column = data.columns[j];
      const at = binByteOffset(j) - 8;
      for (let r = 0; r < data.rowCount; r++) bins[r * words * 8 + at] = column[r];
    }
    this.binWords = new Float64Array(bins.buffer);
    this.partitionKernel = partitionKernel(this.stride);
  }

  /** Fills records [0, count) with rows inBag[0..count) (ascending) and their gradients. */
  load(inBag: Int32Array, count: number, grad: Float64Array, hess: Float64Array): void {
    const { stride, f64, f32, binWords } = this;
    const words = stride - 1;
    for (let i = 0; i < count; i++) {
      const r = inBag[i];
      const d = i * stride;
      f32[d * 2] = grad[r];
      f32[d * 2 + 1] = hess[r];
      const src = r * words;
      for (let k = 0; k < words; k++) f64[d + 1 + k] = binWords[src + k];
    }
  }

  /** Swaps records (and row ids) [a, a + count) with [b, b + count), a + count <= b, as three bulk copies. */
  private exchange(rows: Int32Array, a: number, b: number, count: number): void {
    if (count === 0) return;
    const { f64, stride } = this;
    const words = count * stride;
    if (this.exchangeWords.length < words) this.exchangeWords = new Float64Array(Math.max(words, 2 * this.exchangeWords.length));
    if (this.exchangeRows.length < count) this.exchangeRows = new Int32Array(Math.max(count, 2 * this.exchangeRows.length));
    const tmp = this.exchangeWords;
    tmp.set(f64.subarray(a * stride, a * stride + words));
    f64.copyWithin(a * stride, b * stride, b * stride + words);
    f64.set(tmp.subarray(0, words), b * stride);
    const tmpRows = this.exchangeRows;
    tmpRows.set(rows.subarray(a, a + count));
    rows.copyWithin(a, b, b + count);
    rows.set(tmpRows.subarray(0, count), b);
  }

  /** Source of the partition kernel, for a helper thread. */
  get partitionSource(): string {
    return this.partitionKernel.toString();
  }

  /**
   * In-place partition of records [begin, begin+size) — and of `rows`, the row id of each record — by
   * leftMask[bin of `feature`]; returns the left count. A range of HALVED_PARTITION_MIN_ROWS or more is split in
   * two halves, the upper one on `helper` when given.
   */
  partition(rows: Int32Array, begin: number, size: number, feature: number, leftMask: Uint8Array, helper: HelperThread | null = null): number {
    const binByte = binByteOffset(feature);
    const kernel = this.partitionKernel;
    if (size < HALVED_PARTITION_MIN_ROWS) {
      return kernel(this.f64, this.u8, rows, begin, size, binByte, leftMask, this.offsetsLeft, this.offsetsRight);
    }
    const mid = begin + (size >>> 1);
    const end = begin + size;
    helper?.startPartition(mid, end, binByte, leftMask);
    const leftA = kernel(this.f64, this.u8, rows, begin, mid - begin, binByte, leftMask, this.offsetsLeft, this.offsetsRight);
    const leftB = helper === null
      ? kernel(this.f64, this.u8, rows, mid, end - mid, binByte, leftMask, this.offsetsLeft, this.offsetsRight)
      : helper.finish();
    // [left A | right A | left B | right B]: exchange the shorter of (right A, left B) with the far end of the other.
    const rightA = mid - begin - leftA;
    const exchanged = Math.min(rightA, leftB);
    const from = begin + leftA;
    const to = mid + leftB - exchanged;
    this.exchange(rows, from, to, exchanged);
    return leftA + leftB;
  }
}

type PartitionKernel = (
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

/** Records classified per block by the branch-free partition: enough to amortise a block switch, small enough for L1. */
const PARTITION_BLOCK = 128;

/**
 * Hoare's two-cursor partition for records of `stride` words, made branch-free as in BlockQuicksort (Edelkamp &
 * Weiß, 2016): a block of records at each end is classified without branches into a list of misplaced offsets, then
 * those pairs are swapped (unrolled). A plain Hoare scan mispredicts about every other record on an even split; the
 * block form has no data-dependent branch per record. The last few blocks' worth of records finish with the plain
 * scan. Only misplaced records move. Rows within a leaf end up in a deterministic but not ascending order.
 */
function partitionKernel(stride: number): PartitionKernel {
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
