// The training rows of one tree as packed records kept in leaf order: every split moves the records
// themselves (not just row ids), so each leaf's rows are one contiguous block of memory and histogram
// building streams through it instead of gathering bins, gradients and hessians from scattered rows
// (cache misses that made deep leaves ~4× slower per row). The records, row ids, gradients and histograms live
// in one WebAssembly.Memory, shared with the helper threads, where the learner's generated kernels work on them.

import type { BinnedMatrix } from './binning.js';
import type { HelperThread } from './helper-thread.js';
import type { HistogramLayout } from './histogram.js';
import type { PhaseProfile } from './phase-profile.js';
import { wasm, WASM_PAGE, type WasmMemory, type WasmModule } from './wasm-encoder.js';
import { instantiateKernels, kernelModule, LOSS_BLOCK, objectiveKernels, SCRATCH_BYTES, type ObjectiveKernels, type WasmKernels } from './wasm-kernels.js';

/** Feature bins per 8-byte word: the top byte stays 0 so the word, read as a double, is finite (never NaN). */
const BINS_PER_WORD = 7;

/**
 * Leaves of at least this many records are partitioned as two halves, each in place, then the misplaced middle
 * blocks exchanged, so a helper thread can take one half. Always, whatever the thread count: the records' order,
 * and with it every histogram's summation order and the model, does not depend on how many threads ran.
 */
export const HALVED_PARTITION_MIN_ROWS = 32_768;

/** Fewest records of a halved partition's exchange that a helper shares (below, the hand-off costs more). */
const EXCHANGE_SHARED_MIN_ROWS = 8_192;

/** Byte offset of feature j's bin inside a record. */
export function binByteOffset(j: number): number {
  return 8 + Math.floor(j / BINS_PER_WORD) * 8 + (j % BINS_PER_WORD);
}

/** Largest WebAssembly (wasm32) memory: 4 GiB. */
const MAX_PAGES = 65536;

/** The training data does not fit one kernel memory (4 GiB): no retry can fix it, unlike a RangeError from a bug. */
export class GbdtDataTooLarge extends Error {
  override readonly name = 'GbdtDataTooLarge';
}

export interface RowRecordsOptions {
  /** Threads that run kernels on the records (each gets its own partition scratch), the calling one included. */
  threads: number;
  /** Doubles of the gradient and of the hessian arrays (rows × trees per iteration). */
  gradientLength: number;
  /** Histograms the learner may hold at once. */
  histograms: number;
  /** Leaves per tree at most (the leaf table's size). */
  leaves: number;
  /** Feature groups of the histogram, one per thread: groups + 1 ascending feature indices from 0 to F. */
  groupBounds: number[];
}

/**
 * Record i (leaf-order position i) is f32[i*stride*2] = gradient, f32[i*stride*2 + 1] = hessian (single
 * precision, as LightGBM stores them; histograms still sum in doubles), then the row's feature bins as
 * bytes: feature j at u8[i*stride*8 + binByteOffset(j)]. Records are moved as whole words (bit-exactly).
 * 16 bytes per row for up to 7 features.
 *
 * The memory (byte addresses): a partition scratch per thread, the root sums, the records, their row ids, every
 * row's bin words, the gradients and hessians, then the histograms. It is a shared WebAssembly.Memory of fixed
 * size: pages nobody touches (histograms never used) cost address space, not RAM.
 */
export class RowRecords {
  /** Record size in 8-byte words. */
  readonly stride: number;
  readonly memory: WasmMemory;
  /** The compiled kernels, for helper threads to instantiate on the same memory. */
  readonly module: WasmModule;
  /** This thread's instance of them. */
  readonly kernels: WasmKernels;
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly u8: Uint8Array;
  /** Row id of each record. */
  readonly rows: Int32Array;
  /** Every row's bin words in row order, the source each tree's records are loaded from. */
  readonly binWords: Float64Array;
  /** Gradient and hessian arrays in the memory (the learner loads records from them without a copy). */
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  /** The training scores (as many as gradients) and labels, where the gradient kernel reads them. */
  readonly scores: Float64Array;
  readonly labels: Float64Array;
  /** The root's gradient and hessian sums, written by the load kernel; [2]: the gradient kernel's product. */
  readonly sums: Float64Array;
  private readonly objective: ObjectiveKernels;
  private readonly leafBegin: Int32Array;
  private readonly leafSize: Int32Array;
  private readonly leafValue: Float64Array;
  /** The binary loss's product of (1 + e) per block of LOSS_BLOCK rows, written by helpers' gradient ranges. */
  private readonly lossProducts: Float64Array;
  /** Times the parallel sections when set (benchmarks only). */
  profile: PhaseProfile | null = null;
  private readonly buffer: ArrayBuffer | SharedArrayBuffer;
  private readonly mask: Uint8Array;
  private readonly histLength: number;
  private nextHistogram: number;
  private readonly histogramsEnd: number;

  constructor(data: BinnedMatrix, layout: HistogramLayout, options: RowRecordsOptions) {
    const f = data.featureCount;
    const n = data.rowCount;
    const words = Math.ceil(f / BINS_PER_WORD);
    this.stride = 1 + words;
    this.histLength = layout.totalBins * 2;
    let top = 0;
    const take = (bytes: number): number => {
      const at = top;
      top = Math.ceil((top + bytes) / 64) * 64;
      return at;
    };
    take(options.threads * SCRATCH_BYTES);
    const sums = take(24);
    const records = take(n * this.stride * 8);
    const rows = take(n * 4);
    const binWords = take(n * words * 8);
    const grad = take(options.gradientLength * 8);
    const hess = take(options.gradientLength * 8);
    const scores = take(options.gradientLength * 8);
    const labels = take(n * 8);
    const wideLeaves = options.leaves > 256;
    const leafOfRow = take(n * (wideLeaves ? 2 : 1));
    const leafBegin = take(options.leaves * 4);
    const leafSize = take(options.leaves * 4);
    const leafValue = take(options.leaves * 8);
    const lossProducts = take((Math.floor(options.gradientLength / LOSS_BLOCK) + 1) * 8);
    this.nextHistogram = take(0);
    this.histogramsEnd = this.nextHistogram + options.histograms * this.histLength * 8;
    const pages = Math.ceil(this.histogramsEnd / WASM_PAGE);
    if (pages > MAX_PAGES) {
      throw new GbdtDataTooLarge(`GBDT training data needs ${(this.histogramsEnd / 2 ** 30).toFixed(1)} GiB of kernel memory; at most 4 GiB fit (fewer rows, features or leaves)`);
    }
    this.memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
    const buffer = this.memory.buffer;
    this.buffer = buffer;
    this.mask = new Uint8Array(buffer, 0, 256);
    this.sums = new Float64Array(buffer, sums, 3);
    this.f64 = new Float64Array(buffer, records, n * this.stride);
    this.f32 = new Float32Array(buffer, records, n * this.stride * 2);
    this.u8 = new Uint8Array(buffer, records, n * this.stride * 8);
    this.rows = new Int32Array(buffer, rows, n);
    this.binWords = new Float64Array(buffer, binWords, n * words);
    this.grad = new Float64Array(buffer, grad, options.gradientLength);
    this.hess = new Float64Array(buffer, hess, options.gradientLength);
    this.scores = new Float64Array(buffer, scores, options.gradientLength);
    this.labels = new Float64Array(buffer, labels, n);
    const bins = new Uint8Array(buffer, binWords, n * words * 8);
    for (let j = 0; j < f; j++) {
      const column = data.columns[j];
      const at = binByteOffset(j) - 8;
      for (let r = 0; r < n; r++) bins[r * words * 8 + at] = column[r];
    }
    const kernelLayout = {
      stride: this.stride,
      records,
      rows,
      binWords,
      binOffsets: layout.offsets,
      binBytes: Array.from({ length: f }, (_, j) => binByteOffset(j)),
      histLength: this.histLength,
      leafOfRow,
      wideLeaves,
      leafBegin,
      leafSize,
      leafValue,
    };
    this.leafBegin = new Int32Array(buffer, leafBegin, options.leaves);
    this.leafSize = new Int32Array(buffer, leafSize, options.leaves);
    this.leafValue = new Float64Array(buffer, leafValue, options.leaves);
    this.lossProducts = new Float64Array(buffer, lossProducts, Math.floor(options.gradientLength / LOSS_BLOCK) + 1);
    this.module = kernelModule(kernelLayout, options.groupBounds, { pages, shared: true });
    this.kernels = instantiateKernels(this.module, this.memory, options.groupBounds.length - 1);
    this.objective = objectiveKernels(this.memory, pages);
  }

  /**
   * The binary log loss's gradients and hessians at `score` (views of this memory: scores, labels, gradients)
   * and the mean log loss of `score`: what objective.ts's computeGradients returns, bit for bit (the same
   * operations in the same order, V8's exp included; one log per 512 rows). With helpers, each takes a range of
   * rows (rows are independent) and leaves its blocks' products of (1 + e); this thread sums the loss in row order,
   * as one thread does.
   */
  binaryGradients(score: Float64Array, label: Float64Array, grad: Float64Array, hess: Float64Array, helpers: readonly HelperThread[] = []): number {
    const n = score.length;
    const [s, y, g, h] = [this.address(score), this.address(label), this.address(grad), this.address(hess)];
    const product = this.sums.byteOffset + 16;
    const kernel = this.objective.binaryGradients;
    const threads = helpers.length + 1;
    /** Start of thread t's rows: whole blocks, the last thread's range ending the rows. */
    const start = (t: number): number => (t === threads ? n : Math.floor((t * n) / threads / LOSS_BLOCK) * LOSS_BLOCK);
    this.profile?.begin();
    for (let t = 1; t < threads; t++) helpers[t - 1].startCall('binaryGradientsRange', [start(t), start(t + 1), s, y, g, h, this.lossProducts.byteOffset]);
    const own = start(1);
    let sum = 0;
    for (let from = 0; from < own; from += LOSS_BLOCK) {
      sum = kernel(from, Math.min(own, from + LOSS_BLOCK), sum, s, y, g, h, product);
      sum += Math.log(this.sums[2]);
    }
    if (threads > 1) {
      this.profile?.joined();
      for (const helper of helpers) helper.finish();
      this.profile?.waited();
      const lossTerms = this.objective.lossTerms;
      for (let from = own; from < n; from += LOSS_BLOCK) {
        sum = lossTerms(from, Math.min(n, from + LOSS_BLOCK), sum, s, y);
        sum += Math.log(this.lossProducts[from / LOSS_BLOCK]);
      }
    }
    this.profile?.end('gradients', helpers);
    // computeGradients adds the log of the (empty) block after the last full one too.
    if (n % LOSS_BLOCK === 0) sum += Math.log(1);
    return n === 0 ? NaN : sum / n;
  }

  /** A histogram ([g, h] per bin) in the memory, for the kernels to fill; the learner keeps and reuses it. */
  newHistogram(): Float64Array {
    if (this.nextHistogram >= this.histogramsEnd) throw new Error('GBDT learner holds more histograms than it reserved');
    const hist = new Float64Array(this.buffer, this.nextHistogram, this.histLength);
    this.nextHistogram += this.histLength * 8;
    return hist;
  }

  /** Byte address of a view into the memory. */
  address(view: Float64Array | Int32Array): number {
    if (view.buffer !== this.buffer) throw new Error('not a view of the GBDT learner memory');
    return view.byteOffset;
  }

  /** Whether a view lies in this memory (the kernels can read it without a copy). */
  holds(view: Float64Array): boolean {
    return view.buffer === this.buffer;
  }

  /**
   * Loads records [0, count) from the row ids in `rows` (ascending) and their gradients (views of this memory),
   * builds the root's histogram into `hist` and returns nothing: the sums are in `sums`. With helpers, the records
   * are loaded in ranges, one per thread, then the histogram built by feature groups (the first
   * `histogramHelpers` helpers take groups 1…): each bin and both sums still added in record order.
   */
  loadWithRootHistogram(hist: Float64Array, count: number, grad: Float64Array, hess: Float64Array, helpers: readonly HelperThread[] = [], histogramHelpers = 0): void {
    const [h, gradAddress, hessAddress] = [this.address(hist), this.address(grad), this.address(hess)];
    const profile = this.profile;
    profile?.begin();
    if (helpers.length === 0) {
      this.kernels.load(h, this.address(this.sums), count, gradAddress, hessAddress);
      profile?.end('load');
      return;
    }
    const threads = helpers.length + 1;
    const start = (t: number): number => Math.floor((t * count) / threads);
    for (let t = 1; t < threads; t++) helpers[t - 1].startCall('loadRange', [start(t), start(t + 1), gradAddress, hessAddress]);
    this.kernels.loadRange(0, start(1), gradAddress, hessAddress);
    profile?.joined();
    for (const helper of helpers) helper.finish();
    profile?.end('load', helpers);
    profile?.begin();
    const histogramers = helpers.slice(0, histogramHelpers);
    for (const helper of histogramers) helper.startHistogram(h, 0, count);
    this.kernels.rootGroup0(h, this.address(this.sums), 0, count);
    profile?.joined();
    for (const helper of histogramers) helper.finish();
    profile?.end('load', histogramers);
  }

  /**
   * score[r] += leafValue[l] for each row r of leaf l: leaf l holds records [leafBegin[l], leafBegin[l] +
   * leafSize[l]), and the leaves hold every row 0..score.length-1 (a tree grown without bagging). `score` is a view
   * of this memory. With helpers, each thread scatters the leaf ids of a range of leaves, then adds a range of rows.
   */
  addLeafValues(leafCount: number, leafBegin: Int32Array, leafSize: Int32Array, leafValue: Float64Array, score: Float64Array, helpers: readonly HelperThread[] = []): void {
    this.leafBegin.set(leafBegin.subarray(0, leafCount));
    this.leafSize.set(leafSize.subarray(0, leafCount));
    this.leafValue.set(leafValue.subarray(0, leafCount));
    const k = this.kernels;
    let n = 0;
    for (let l = 0; l < leafCount; l++) n += leafSize[l];
    const profile = this.profile;
    const threads = helpers.length + 1;
    profile?.begin();
    if (threads === 1) {
      k.scatterLeafIds(0, leafCount);
      k.addLeafValues(0, n, this.address(score));
      profile?.end('scores');
      return;
    }
    // Leaves in contiguous runs of about n / threads records each (leaf l's records are [leafBegin[l], …)).
    const leafStarts = [0];
    for (let l = 0, seen = 0; l < leafCount && leafStarts.length < threads; l++) {
      seen += leafSize[l];
      if (seen >= (leafStarts.length * n) / threads) leafStarts.push(l + 1);
    }
    while (leafStarts.length < threads) leafStarts.push(leafCount);
    leafStarts.push(leafCount);
    for (let t = 1; t < threads; t++) helpers[t - 1].startCall('scatterLeafIds', [leafStarts[t], leafStarts[t + 1]]);
    k.scatterLeafIds(0, leafStarts[1]);
    profile?.joined();
    for (const helper of helpers) helper.finish();
    profile?.end('scores', helpers);
    profile?.begin();
    const start = (t: number): number => Math.floor((t * n) / threads);
    for (let t = 1; t < threads; t++) helpers[t - 1].startCall('addLeafValues', [start(t), start(t + 1), this.address(score)]);
    k.addLeafValues(0, start(1), this.address(score));
    profile?.joined();
    for (const helper of helpers) helper.finish();
    profile?.end('scores', helpers);
  }

  /**
   * Swaps records (and row ids) [a, a + count) with [b, b + count), a + count <= b, in place; with a helper, it swaps
   * the second half of the records (pure moves: the result does not depend on who moves what).
   */
  private exchange(a: number, b: number, count: number, helper: HelperThread | null): void {
    if (count === 0) return;
    const recordBytes = this.stride * 8;
    const records = this.f64.byteOffset;
    const rows = this.rows.byteOffset;
    const own = helper === null ? count : count >>> 1;
    if (helper !== null) helper.startCall('swapBytes', [records + (a + own) * recordBytes, records + (b + own) * recordBytes, (count - own) * recordBytes]);
    this.kernels.swapBytes(records + a * recordBytes, records + b * recordBytes, own * recordBytes);
    this.kernels.swapBytes(rows + a * 4, rows + b * 4, count * 4);
    if (helper !== null) {
      this.profile?.joined();
      helper.finish();
    }
  }

  /** Byte address of thread t's partition scratch (t = 0: the calling thread). */
  static scratchOf(thread: number): number {
    return thread * SCRATCH_BYTES;
  }

  /**
   * In-place partition of records [begin, begin+size) — and of their row ids — by leftMask[bin of `feature`];
   * returns the left count. A range of HALVED_PARTITION_MIN_ROWS or more is split in two halves, the upper one on
   * `helper` when given.
   */
  partition(begin: number, size: number, feature: number, leftMask: Uint8Array, helper: HelperThread | null = null): number {
    const binByte = binByteOffset(feature);
    const partition = this.kernels.partition;
    const profile = this.profile;
    profile?.begin();
    this.mask.set(leftMask);
    if (size < HALVED_PARTITION_MIN_ROWS) {
      const left = partition(begin, size, binByte, 0);
      profile?.end('partition');
      return left;
    }
    const mid = begin + (size >>> 1);
    const end = begin + size;
    helper?.startPartition(mid, end, binByte, leftMask);
    const leftA = partition(begin, mid - begin, binByte, 0);
    let leftB: number;
    if (helper === null) {
      leftB = partition(mid, end - mid, binByte, 0);
    } else {
      profile?.joined();
      leftB = helper.finish();
      profile?.end('partition', [helper]);
      profile?.begin();
    }
    // [left A | right A | left B | right B]: exchange the shorter of (right A, left B) with the far end of the other.
    const rightA = mid - begin - leftA;
    const exchanged = Math.min(rightA, leftB);
    const from = begin + leftA;
    const to = mid + leftB - exchanged;
    const exchanger = helper !== null && exchanged >= EXCHANGE_SHARED_MIN_ROWS ? helper : null;
    this.exchange(from, to, exchanged, exchanger);
    profile?.end('partition', exchanger === null ? [] : [exchanger]);
    return leftA + leftB;
  }
}
