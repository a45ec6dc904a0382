// The training rows of one tree as packed records kept in leaf order: every split moves the records
// themselves (not just row ids), so each leaf's rows are one contiguous block of memory and histogram
// building streams through it instead of gathering bins, gradients and hessians from scattered rows
// (cache misses that made deep leaves ~4× slower per row).

import type { BinnedMatrix } from './binning.js';

/** Feature bins per 8-byte word: the top byte stays 0 so the word, read as a double, is finite (never NaN). */
const BINS_PER_WORD = 7;

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
  private readonly scratch: Float64Array;
  /** Every row's bin words in row order, the source each tree's records are loaded from. */
  private readonly binWords: Float64Array;
  private readonly partitionKernel: PartitionKernel;

  constructor(data: BinnedMatrix) {
    const f = data.featureCount;
    const words = Math.ceil(f / BINS_PER_WORD);
    this.stride = 1 + words;
    const buffer = new ArrayBuffer(data.rowCount * this.stride * 8);
    this.f64 = new Float64Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.u8 = new Uint8Array(buffer);
    this.scratch = new Float64Array(data.rowCount * this.stride);
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

  /**
   * Stable in-place partition of records [begin, begin+size) — and of `rows`, the row id of each record —
   * by leftMask[bin of `feature`]; returns the left count.
   */
  partition(rows: Int32Array, scratchRows: Int32Array, begin: number, size: number, feature: number, leftMask: Uint8Array): number {
    return this.partitionKernel(this.f64, this.u8, this.scratch, rows, scratchRows, begin, size, binByteOffset(feature), leftMask);
  }
}

type PartitionKernel = (
  f64: Float64Array,
  u8: Uint8Array,
  scratch: Float64Array,
  rows: Int32Array,
  scratchRows: Int32Array,
  begin: number,
  size: number,
  binByte: number,
  leftMask: Uint8Array,
) => number;

const partitionKernels = new Map<number, PartitionKernel>();

/** The partition loop for records of `stride` words, with the record copies unrolled. */
function partitionKernel(stride: number): PartitionKernel {
  let kernel = partitionKernels.get(stride);
  if (kernel === undefined) {
    const copy = (to: string): string => Array.from({ length: stride }, (_, k) => `${to}[dst + ${k}] = f64[src + ${k}];`).join(' ');
    // Generated from an integer (the record size) only.
    kernel = new Function(
      'f64', 'u8', 'scratch', 'rows', 'scratchRows', 'begin', 'size', 'binByte', 'leftMask',
      `const end = begin + size;
       let l = begin;
       let r = 0;
       for (let i = begin; i < end; i++) {
         const src = i * ${stride};
         if (leftMask[u8[src * 8 + binByte]] === 1) {
           if (l !== i) {
             const dst = l * ${stride};
             ${copy('f64')}
             rows[l] = rows[i];
           }
           l++;
         } else {
           const dst = r * ${stride};
           ${copy('scratch')}
           scratchRows[r] = rows[i];
           r++;
         }
       }
       f64.set(scratch.subarray(0, r * ${stride}), l * ${stride});
       rows.set(scratchRows.subarray(0, r), l);
       return l - begin;`,
    ) as PartitionKernel;
    partitionKernels.set(stride, kernel);
  }
  return kernel;
}
