// The tree learner's hot loops as WebAssembly, generated per dataset layout: histogram accumulation (one f64x2 add
// of the record's [gradient, hessian] pair per feature), the fused load of a tree's records with the root's histogram,
// and the branch-free block partition of the records. They compute exactly what the JavaScript kernels before them
// did, in the same order, so histograms (and models) are the same bit for bit; they are faster because the records'
// [g, h] pair is added as one SIMD value and no access is bounds-checked (wasm32 memory is guarded).

import { Code, encodeModule, I32, wasm, type FunctionSpec, type WasmMemory, type WasmModule } from './wasm-encoder.js';

/** Where a learner's data lives in its WebAssembly.Memory (byte addresses). */
export interface KernelLayout {
  /** Record size in 8-byte words; record i starts at records + i * stride * 8. */
  stride: number;
  records: number;
  /** Row id of each record (Int32). */
  rows: number;
  /** Every row's bin words in row order, (stride - 1) words per row. */
  binWords: number;
  /** Global first bin of each feature, and the byte offset of each feature's bin inside a record. */
  binOffsets: ArrayLike<number>;
  binBytes: ArrayLike<number>;
  /** Doubles of a whole histogram ([g, h] per bin). */
  histLength: number;
}

/** Records per block of the branch-free partition (as the JavaScript kernel). */
export const PARTITION_BLOCK = 128;
/** Per-thread scratch: the go-left flags (256 bytes) and the two blocks' offset lists. */
export const SCRATCH_BYTES = 256 + 2 * PARTITION_BLOCK * 4;

/**
 * hist(histAddress, begin, end): clears the histogram's bins of features [from, to) and adds records [begin, end)
 * into them, row by row in record order.
 */
function histogramFunction(k: KernelLayout, from: number, to: number): Code {
  const c = new Code(3);
  const [HIST, BEGIN, END] = [0, 1, 2];
  const p = c.local(I32);
  const e = c.local(I32);
  const gh = c.local(0x7b);
  const a = c.local(I32);
  const recordBytes = k.stride * 8;
  const clearFrom = k.binOffsets[from] * 16;
  const clearTo = to === k.binOffsets.length ? k.histLength * 8 : k.binOffsets[to] * 16;
  c.get(HIST).i32Const(clearFrom).i32Add().i32Const(0).i32Const(clearTo - clearFrom).memoryFill();
  c.get(BEGIN).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(p);
  c.get(END).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(e);
  c.block().loop();
  c.get(p).get(e).i32GeU().brIf(1);
  c.get(p).v128Load64Zero().f64x2PromoteLowF32x4().set(gh);
  for (let j = from; j < to; j++) addPair(c, gh, a, HIST, p, k.binBytes[j], k.binOffsets[j]);
  c.get(p).i32Const(recordBytes).i32Add().set(p);
  c.br(0).end().end();
  return c;
}

/** hist[offset + bin at record + binByte] += gh, as one f64x2. */
function addPair(c: Code, gh: number, a: number, hist: number, record: number, binByte: number, offset: number): void {
  c.get(record).i32Load8u(binByte).i32Const(4).i32Shl().get(hist).i32Add().set(a);
  c.get(a).get(a).v128Load(offset * 16).get(gh).f64x2Add().v128Store(offset * 16);
}

/**
 * load(histAddress, sumsAddress, count, gradAddress, hessAddress): records [0, count) from the row ids already in
 * `rows` (ascending): the gradient and hessian in single precision (rounded as a Float32Array store rounds), the
 * row's bin words; the root's histogram (cleared first) and its gradient and hessian sums (two doubles at
 * sumsAddress) in the same pass, in record order.
 */
function loadFunction(k: KernelLayout): Code {
  const c = new Code(5);
  const [HIST, SUMS, COUNT, GRAD, HESS] = [0, 1, 2, 3, 4];
  const i = c.local(I32);
  const r = c.local(I32);
  const p = c.local(I32);
  const gh = c.local(0x7b);
  const a = c.local(I32);
  const src = c.local(I32);
  const sumG = c.local(0x7c);
  const sumH = c.local(0x7c);
  const words = k.stride - 1;
  const recordBytes = k.stride * 8;
  c.get(HIST).i32Const(0).i32Const(k.histLength * 8).memoryFill();
  c.i32Const(k.records).set(p);
  c.block().loop();
  c.get(i).get(COUNT).i32GeS().brIf(1);
  c.get(i).i32Const(2).i32Shl().i32Load(k.rows).set(r);
  c.get(p).get(r).i32Const(3).i32Shl().get(GRAD).i32Add().f64Load().f32DemoteF64().f32Store(0);
  c.get(p).get(r).i32Const(3).i32Shl().get(HESS).i32Add().f64Load().f32DemoteF64().f32Store(4);
  c.get(r).i32Const(words * 8).i32Mul().i32Const(k.binWords).i32Add().set(src);
  for (let w = 0; w < words; w++) c.get(p).get(src).i64Load(w * 8).i64Store(8 + w * 8);
  c.get(p).v128Load64Zero().f64x2PromoteLowF32x4().set(gh);
  c.get(sumG).get(p).f32Load(0).f64PromoteF32().f64Add().set(sumG);
  c.get(sumH).get(p).f32Load(4).f64PromoteF32().f64Add().set(sumH);
  for (let j = 0; j < k.binOffsets.length; j++) addPair(c, gh, a, HIST, p, k.binBytes[j], k.binOffsets[j]);
  c.get(p).i32Const(recordBytes).i32Add().set(p);
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
  c.get(SUMS).get(sumG).f64Store(0);
  c.get(SUMS).get(sumH).f64Store(8);
  return c;
}

/**
 * partition(begin, size, binByte, scratch) → left count: Hoare's two-cursor partition of records [begin, begin +
 * size) and their row ids by the go-left flags at scratch[0..256) of the bin at byte binByte of each record, made
 * branch-free per block as in BlockQuicksort (the offset lists at scratch + 256 and scratch + 256 + 4 * BLOCK). The
 * same algorithm, step for step, as the JavaScript kernel it replaces: the same records end in the same places.
 */
function partitionFunction(k: KernelLayout): Code {
  const c = new Code(4);
  const [BEGIN, SIZE, BIN_BYTE, SCRATCH] = [0, 1, 2, 3];
  const i = c.local(I32);
  const j = c.local(I32);
  const startL = c.local(I32);
  const countL = c.local(I32);
  const startR = c.local(I32);
  const countR = c.local(I32);
  const n = c.local(I32);
  const pairs = c.local(I32);
  const q = c.local(I32);
  const x = c.local(I32);
  const y = c.local(I32);
  const binBase = c.local(I32);
  const a = c.local(I32);
  const b = c.local(I32);
  const t = c.local(I32);
  const tv = c.local(0x7b);
  const tw = c.local(0x7e);
  const recordBytes = k.stride * 8;
  const B = PARTITION_BLOCK;
  const offsetsLeft = 256;
  const offsetsRight = 256 + 4 * B;
  /** Pushes the go-left flag (0 or 1) of record `index` (a local). */
  const flag = (index: number) => c.get(SCRATCH).get(index).i32Const(recordBytes).i32Mul().get(binBase).i32Add().i32Load8u(0).i32Add().i32Load8u(0);
  const swap = () => {
    c.get(x).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(a);
    c.get(y).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(b);
    let w = 0;
    for (; w + 2 <= k.stride; w += 2) {
      c.get(a).v128Load(w * 8).set(tv);
      c.get(a).get(b).v128Load(w * 8).v128Store(w * 8);
      c.get(b).get(tv).v128Store(w * 8);
    }
    if (w < k.stride) {
      c.get(a).i64Load(w * 8).set(tw);
      c.get(a).get(b).i64Load(w * 8).i64Store(w * 8);
      c.get(b).get(tw).i64Store(w * 8);
    }
    c.get(x).i32Const(2).i32Shl().set(a);
    c.get(y).i32Const(2).i32Shl().set(b);
    c.get(a).i32Load(k.rows).set(t);
    c.get(a).get(b).i32Load(k.rows).i32Store(k.rows);
    c.get(b).get(t).i32Store(k.rows);
  };
  c.get(BIN_BYTE).i32Const(k.records).i32Add().set(binBase);
  c.get(BEGIN).set(i);
  c.get(BEGIN).get(SIZE).i32Add().i32Const(1).i32Sub().set(j);
  // Invariant: records before i go left, records after j go right; [i, j] is unsorted.
  c.block().loop();
  c.get(j).get(i).i32Sub().i32Const(1).i32Add().i32Const(2 * B).i32LeS().brIf(1);
  // Left block: offsets of the records that belong right.
  c.get(countL).i32Eqz().if();
  c.i32Const(0).set(startL);
  c.i32Const(0).set(n);
  c.block().loop();
  c.get(SCRATCH).get(countL).i32Const(2).i32Shl().i32Add().get(n).i32Store(offsetsLeft);
  c.get(i).get(n).i32Add().set(x);
  c.get(countL).i32Const(1).i32Add();
  flag(x);
  c.i32Sub().set(countL);
  c.get(n).i32Const(1).i32Add().tee(n).i32Const(B).i32LtS().brIf(0);
  c.end().end();
  c.end();
  // Right block: offsets (from j down) of the records that belong left.
  c.get(countR).i32Eqz().if();
  c.i32Const(0).set(startR);
  c.i32Const(0).set(n);
  c.block().loop();
  c.get(SCRATCH).get(countR).i32Const(2).i32Shl().i32Add().get(n).i32Store(offsetsRight);
  c.get(j).get(n).i32Sub().set(y);
  c.get(countR);
  flag(y);
  c.i32Add().set(countR);
  c.get(n).i32Const(1).i32Add().tee(n).i32Const(B).i32LtS().brIf(0);
  c.end().end();
  c.end();
  // pairs = min(countL, countR); swap them.
  c.get(countL).get(countR).get(countL).get(countR).i32LtS().select().set(pairs);
  c.i32Const(0).set(q);
  c.block().loop();
  c.get(q).get(pairs).i32GeS().brIf(1);
  c.get(i).get(SCRATCH).get(startL).get(q).i32Add().i32Const(2).i32Shl().i32Add().i32Load(offsetsLeft).i32Add().set(x);
  c.get(j).get(SCRATCH).get(startR).get(q).i32Add().i32Const(2).i32Shl().i32Add().i32Load(offsetsRight).i32Sub().set(y);
  swap();
  c.get(q).i32Const(1).i32Add().set(q);
  c.br(0).end().end();
  c.get(countL).get(pairs).i32Sub().set(countL);
  c.get(countR).get(pairs).i32Sub().set(countR);
  c.get(startL).get(pairs).i32Add().set(startL);
  c.get(startR).get(pairs).i32Add().set(startR);
  c.get(countL).i32Eqz().if().get(i).i32Const(B).i32Add().set(i).end();
  c.get(countR).i32Eqz().if().get(j).i32Const(B).i32Sub().set(j).end();
  c.br(0).end().end();
  // A block with misplaced records left lies inside [i, j]; the plain scan finishes the range.
  c.block().loop();
  c.block().loop();
  c.get(i).get(j).i32GtS().brIf(1);
  flag(i);
  c.i32Eqz().brIf(1);
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
  c.block().loop();
  c.get(i).get(j).i32GeS().brIf(1);
  flag(j);
  c.brIf(1);
  c.get(j).i32Const(1).i32Sub().set(j);
  c.br(0).end().end();
  c.get(i).get(j).i32GeS().brIf(1);
  c.get(i).set(x);
  c.get(j).set(y);
  swap();
  c.get(i).i32Const(1).i32Add().set(i);
  c.get(j).i32Const(1).i32Sub().set(j);
  c.br(0).end().end();
  c.get(i).get(BEGIN).i32Sub();
  return c;
}

/** The exported kernels of one learner's module. */
export interface WasmKernels {
  /** Histogram of records [begin, end) into the whole histogram at histAddress. */
  histogram(histAddress: number, begin: number, end: number): void;
  /** The same for feature group g only (its bins cleared and filled; the rest untouched). */
  groups: ((histAddress: number, begin: number, end: number) => void)[];
  load(histAddress: number, sumsAddress: number, count: number, gradAddress: number, hessAddress: number): void;
  partition(begin: number, size: number, binByte: number, scratch: number): number;
}

/**
 * The module of a learner's kernels for its memory layout: the whole histogram, one per feature group (bounds:
 * groups + 1 ascending feature indices), the loading pass and the partition.
 */
export function kernelModule(k: KernelLayout, groupBounds: number[], memory: { pages: number; shared: boolean }): WasmModule {
  const fns: FunctionSpec[] = [
    { name: 'histogram', params: [I32, I32, I32], results: [], code: histogramFunction(k, 0, k.binOffsets.length) },
    { name: 'load', params: [I32, I32, I32, I32, I32], results: [], code: loadFunction(k) },
    { name: 'partition', params: [I32, I32, I32, I32], results: [I32], code: partitionFunction(k) },
  ];
  for (let g = 0; g + 1 < groupBounds.length; g++) {
    fns.push({ name: `group${g}`, params: [I32, I32, I32], results: [], code: histogramFunction(k, groupBounds[g], groupBounds[g + 1]) });
  }
  return new wasm.Module(encodeModule(fns, memory));
}

export function instantiateKernels(module: WasmModule, memory: WasmMemory, groupCount: number): WasmKernels {
  const e = new wasm.Instance(module, { env: { memory } }).exports as Record<string, (...args: number[]) => number>;
  return {
    histogram: e.histogram,
    groups: Array.from({ length: groupCount }, (_, g) => e[`group${g}`]),
    load: e.load,
    partition: e.partition,
  };
}
