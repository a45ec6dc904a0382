// The tree learner's hot loops as WebAssembly, generated per dataset layout: histogram accumulation (one f64x2 add
// of the record's [gradient, hessian] pair per feature), the fused load of a tree's records with the root's histogram,
// and the branch-free block partition of the records. They compute exactly what the JavaScript kernels before them
// did, in the same order, so histograms (and models) are the same bit for bit; they are faster because the records'
// [g, h] pair is added as one SIMD value and no access is bounds-checked (wasm32 memory is guarded).

import { Code, encodeModule, F64, I32, wasm, type FunctionSpec, type WasmMemory, type WasmModule } from './wasm-encoder.js';

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
  /** Leaf id per row (1 byte each, or 2 when `wideLeaves`), and the leaf table: begin, size (Int32) and value (double) per leaf. */
  leafOfRow: number;
  wideLeaves: boolean;
  leafBegin: number;
  leafSize: number;
  leafValue: number;
}

/** Records per block of the branch-free partition (as the JavaScript kernel). */
export const PARTITION_BLOCK = 128;
/** Per-thread scratch: the go-left flags (256 bytes) and the two blocks' offset lists. */
export const SCRATCH_BYTES = 256 + 2 * PARTITION_BLOCK * 4;

/**
 * hist(histAddress, begin, end): clears the histogram's bins of features [from, to) and adds records [begin, end)
 * into them, row by row in record order. With `sums`, hist(histAddress, sumsAddress, begin, end) also writes the
 * records' gradient and hessian sums (in record order, as the load kernel sums them) at sumsAddress: the root's
 * histogram group of the thread that needs the sums, when the records were loaded apart from the histogram.
 */
function histogramFunction(k: KernelLayout, from: number, to: number, sums = false): Code {
  const c = new Code(sums ? 4 : 3);
  const [HIST, SUMS, BEGIN, END] = sums ? [0, 1, 2, 3] : [0, -1, 1, 2];
  const p = c.local(I32);
  const e = c.local(I32);
  const gh = c.local(0x7b);
  const a = c.local(I32);
  const sumG = sums ? c.local(0x7c) : -1;
  const sumH = sums ? c.local(0x7c) : -1;
  const recordBytes = k.stride * 8;
  const clearFrom = k.binOffsets[from] * 16;
  const clearTo = to === k.binOffsets.length ? k.histLength * 8 : k.binOffsets[to] * 16;
  c.get(HIST).i32Const(clearFrom).i32Add().i32Const(0).i32Const(clearTo - clearFrom).memoryFill();
  c.get(BEGIN).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(p);
  c.get(END).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(e);
  c.block().loop();
  c.get(p).get(e).i32GeU().brIf(1);
  c.get(p).v128Load64Zero().f64x2PromoteLowF32x4().set(gh);
  if (sums) {
    c.get(sumG).get(p).f32Load(0).f64PromoteF32().f64Add().set(sumG);
    c.get(sumH).get(p).f32Load(4).f64PromoteF32().f64Add().set(sumH);
  }
  for (let j = from; j < to; j++) addPair(c, gh, a, HIST, p, k.binBytes[j], k.binOffsets[j]);
  c.get(p).i32Const(recordBytes).i32Add().set(p);
  c.br(0).end().end();
  if (sums) {
    c.get(SUMS).get(sumG).f64Store(0);
    c.get(SUMS).get(sumH).f64Store(8);
  }
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
 * loadRange(begin, end, gradAddress, hessAddress): records [begin, end) as load() writes them (row ids already in
 * `rows`), without the histogram: the part of a tree's load one thread does when several share it.
 */
function loadRangeFunction(k: KernelLayout): Code {
  const c = new Code(4);
  const [BEGIN, END, GRAD, HESS] = [0, 1, 2, 3];
  const i = c.local(I32);
  const r = c.local(I32);
  const p = c.local(I32);
  const src = c.local(I32);
  const words = k.stride - 1;
  const recordBytes = k.stride * 8;
  c.get(BEGIN).set(i);
  c.get(BEGIN).i32Const(recordBytes).i32Mul().i32Const(k.records).i32Add().set(p);
  c.block().loop();
  c.get(i).get(END).i32GeS().brIf(1);
  c.get(i).i32Const(2).i32Shl().i32Load(k.rows).set(r);
  c.get(p).get(r).i32Const(3).i32Shl().get(GRAD).i32Add().f64Load().f32DemoteF64().f32Store(0);
  c.get(p).get(r).i32Const(3).i32Shl().get(HESS).i32Add().f64Load().f32DemoteF64().f32Store(4);
  c.get(r).i32Const(words * 8).i32Mul().i32Const(k.binWords).i32Add().set(src);
  for (let w = 0; w < words; w++) c.get(p).get(src).i64Load(w * 8).i64Store(8 + w * 8);
  c.get(p).i32Const(recordBytes).i32Add().set(p);
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
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

/**
 * scatterLeafIds(leafFrom, leafTo): leafOfRow[row of record i] = l for every record i of leaves [leafFrom, leafTo)
 * (records [leafBegin[l], leafBegin[l] + leafSize[l]) belong to leaf l). Then addLeafValues adds the leaves' values
 * to the scores in row order: much cheaper than scattering the 8-byte adds. Leaves own disjoint rows, so threads
 * may scatter disjoint leaf ranges at once.
 */
function scatterLeafIdsFunction(k: KernelLayout): Code {
  const c = new Code(2);
  const [LEAF_FROM, LEAF_TO] = [0, 1];
  const l = c.local(I32);
  const i = c.local(I32);
  const end = c.local(I32);
  c.get(LEAF_FROM).set(l);
  c.block().loop();
  c.get(l).get(LEAF_TO).i32GeS().brIf(1);
  c.get(l).i32Const(2).i32Shl().tee(i).i32Load(k.leafSize).get(i).i32Load(k.leafBegin).tee(i).i32Add().set(end);
  c.block().loop();
  c.get(i).get(end).i32GeS().brIf(1);
  c.get(i).i32Const(2).i32Shl().i32Load(k.rows);
  if (k.wideLeaves) c.i32Const(1).i32Shl().get(l).i32Store16(k.leafOfRow);
  else c.get(l).i32Store8(k.leafOfRow);
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
  c.get(l).i32Const(1).i32Add().set(l);
  c.br(0).end().end();
  return c;
}

/**
 * addLeafValues(rowFrom, rowTo, score): score[r] += leafValue[leafOfRow[r]] for rows [rowFrom, rowTo) in row order
 * (one add per row: threads may take disjoint row ranges).
 */
function addLeafValuesFunction(k: KernelLayout): Code {
  const c = new Code(3);
  const [FROM, TO, SCORE] = [0, 1, 2];
  const r = c.local(I32);
  const i = c.local(I32);
  c.get(FROM).set(r);
  c.block().loop();
  c.get(r).get(TO).i32GeS().brIf(1);
  c.get(r).i32Const(3).i32Shl().get(SCORE).i32Add().tee(i);
  c.get(i).f64Load();
  if (k.wideLeaves) c.get(r).i32Const(1).i32Shl().i32Load16u(k.leafOfRow);
  else c.get(r).i32Load8u(k.leafOfRow);
  c.i32Const(3).i32Shl().f64Load(k.leafValue).f64Add().f64Store();
  c.get(r).i32Const(1).i32Add().set(r);
  c.br(0).end().end();
  return c;
}

/** subtract(parent, child): parent[k] -= child[k] for every double of a histogram, two at a time. */
function subtractFunction(k: KernelLayout): Code {
  const c = new Code(2);
  const [PARENT, CHILD] = [0, 1];
  const end = c.local(I32);
  c.get(PARENT).i32Const(k.histLength * 8).i32Add().set(end);
  c.block().loop();
  c.get(PARENT).get(end).i32GeU().brIf(1);
  c.get(PARENT).get(PARENT).v128Load().get(CHILD).v128Load().f64x2Sub().v128Store();
  c.get(PARENT).i32Const(16).i32Add().set(PARENT);
  c.get(CHILD).i32Const(16).i32Add().set(CHILD);
  c.br(0).end().end();
  return c;
}

/** swapBytes(p, q, length): exchanges the bytes [p, p + length) and [q, q + length) (not overlapping; length a multiple of 4). */
function swapBytesFunction(): Code {
  const c = new Code(3);
  const [P, Q, LENGTH] = [0, 1, 2];
  const end = c.local(I32);
  const t = c.local(0x7b);
  const w = c.local(I32);
  c.get(P).get(LENGTH).i32Const(-16).i32And().i32Add().set(end);
  c.block().loop();
  c.get(P).get(end).i32GeU().brIf(1);
  c.get(P).v128Load().set(t);
  c.get(P).get(Q).v128Load().v128Store();
  c.get(Q).get(t).v128Store();
  c.get(P).i32Const(16).i32Add().set(P);
  c.get(Q).i32Const(16).i32Add().set(Q);
  c.br(0).end().end();
  c.get(P).get(LENGTH).i32Const(15).i32And().i32Add().set(end);
  c.block().loop();
  c.get(P).get(end).i32GeU().brIf(1);
  c.get(P).i32Load().set(w);
  c.get(P).get(Q).i32Load().i32Store();
  c.get(Q).get(w).i32Store();
  c.get(P).i32Const(4).i32Add().set(P);
  c.get(Q).i32Const(4).i32Add().set(Q);
  c.br(0).end().end();
  return c;
}

/** The exported kernels of one learner's module. */
export interface WasmKernels {
  /** Histogram of records [begin, end) into the whole histogram at histAddress. */
  histogram(histAddress: number, begin: number, end: number): void;
  /** The same for feature group g only (its bins cleared and filled; the rest untouched). */
  groups: ((histAddress: number, begin: number, end: number) => void)[];
  /** Group 0 of the root's histogram with the records' gradient and hessian sums (the records already loaded). */
  rootGroup0(histAddress: number, sumsAddress: number, begin: number, end: number): void;
  load(histAddress: number, sumsAddress: number, count: number, gradAddress: number, hessAddress: number): void;
  loadRange(begin: number, end: number, gradAddress: number, hessAddress: number): void;
  partition(begin: number, size: number, binByte: number, scratch: number): number;
  scatterLeafIds(leafFrom: number, leafTo: number): void;
  addLeafValues(rowFrom: number, rowTo: number, score: number): void;
  binaryGradientsRange(from: number, to: number, score: number, label: number, grad: number, hess: number, products: number): void;
  swapBytes(p: number, q: number, length: number): void;
  subtract(parent: number, child: number): void;
}

/**
 * The module of a learner's kernels for its memory layout: the whole histogram, one per feature group (bounds:
 * groups + 1 ascending feature indices), the loading pass and the partition.
 */
export function kernelModule(k: KernelLayout, groupBounds: number[], memory: { pages: number; shared: boolean }): WasmModule {
  const fns: FunctionSpec[] = [
    { name: 'histogram', params: [I32, I32, I32], results: [], code: histogramFunction(k, 0, k.binOffsets.length) },
    { name: 'load', params: [I32, I32, I32, I32, I32], results: [], code: loadFunction(k) },
    { name: 'loadRange', params: [I32, I32, I32, I32], results: [], code: loadRangeFunction(k) },
    { name: 'rootGroup0', params: [I32, I32, I32, I32], results: [], code: histogramFunction(k, groupBounds[0], groupBounds[1], true) },
    { name: 'partition', params: [I32, I32, I32, I32], results: [I32], code: partitionFunction(k) },
    { name: 'scatterLeafIds', params: [I32, I32], results: [], code: scatterLeafIdsFunction(k) },
    { name: 'addLeafValues', params: [I32, I32, I32], results: [], code: addLeafValuesFunction(k) },
    { name: 'binaryGradientsRange', params: [I32, I32, I32, I32, I32, I32, I32], results: [], code: binaryGradientsRangeFunction() },
    { name: 'swapBytes', params: [I32, I32, I32], results: [], code: swapBytesFunction() },
    { name: 'subtract', params: [I32, I32], results: [], code: subtractFunction(k) },
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
    rootGroup0: e.rootGroup0,
    load: e.load,
    loadRange: e.loadRange,
    partition: e.partition,
    scatterLeafIds: e.scatterLeafIds,
    addLeafValues: e.addLeafValues,
    binaryGradientsRange: e.binaryGradientsRange,
    swapBytes: e.swapBytes,
    subtract: e.subtract,
  };
}

/** Locals of an inlined exp(). */
interface ExpLocals {
  x: number;
  hx: number;
  xsb: number;
  k: number;
  hi: number;
  lo: number;
  t: number;
  c: number;
  y: number;
  twopk: number;
}

function expLocals(c: Code): ExpLocals {
  return {
    x: c.local(F64), hx: c.local(I32), xsb: c.local(I32), k: c.local(I32), hi: c.local(F64), lo: c.local(F64),
    t: c.local(F64), c: c.local(F64), y: c.local(F64), twopk: c.local(F64),
  };
}

/**
 * Sets `out` to exp(input) computed as V8's Math.exp computes it (fdlibm's __ieee754_exp as adapted in V8's
 * base/ieee754.cc: argument reduction by k·ln2 in two parts, a degree-5 minimax polynomial, scaling by 2^k), in
 * the same IEEE double operations in the same order, so the result is the same bit for bit (checked against
 * Math.exp by wasm-kernels.test.ts). Inlined: a call per row would cost more than the arithmetic.
 */
function emitExp(c: Code, input: number, out: number, v: ExpLocals): void {
  const ln2HI = 6.93147180369123816490e-01;
  const ln2LO = 1.90821492927058770002e-10;
  const P1 = 1.66666666666666019037e-01;
  const P2 = -2.77777777770155933842e-03;
  const P3 = 6.61375632143793436117e-05;
  const P4 = -1.65339022054652515390e-06;
  const P5 = 4.13813679705723846039e-08;
  const twom1000 = 9.33263618503218878990e-302;
  const two1023 = 8.988465674311579539e307;
  /** out = the value emit() pushes; leave the exp's block, `depth` blocks (if / else) inside it. */
  const result = (depth: number, emit: () => void) => {
    emit();
    c.set(out).br(depth);
  };
  c.get(input).set(v.x);
  c.block();
  // hx = high word of x; xsb = its sign; hx = high word of |x|.
  c.get(v.x).i64ReinterpretF64().i64Const(32).i64ShrU().i32WrapI64().tee(v.hx).i32Const(31).i32ShrU().set(v.xsb);
  c.get(v.hx).i32Const(0x7fffffff).i32And().set(v.hx);
  c.i32Const(0).set(v.k);
  c.f64Const(0).set(v.hi);
  c.f64Const(0).set(v.lo);
  // |x| >= 709.78…: NaN, ±Infinity, overflow, underflow.
  c.get(v.hx).i32Const(0x40862e42).i32GeU().if();
  c.get(v.hx).i32Const(0x7ff00000).i32GeU().if();
  c.get(v.hx).i32Const(0xfffff).i32And().get(v.x).i64ReinterpretF64().i32WrapI64().i32Or().if();
  result(3, () => c.get(v.x).get(v.x).f64Add());
  c.end();
  result(2, () => c.get(v.x).f64Const(0).get(v.xsb).i32Eqz().select());
  c.end();
  c.get(v.x).f64Const(7.09782712893383973096e+02).f64Gt().if();
  result(2, () => c.f64Const(Infinity));
  c.end();
  c.get(v.x).f64Const(-7.45133219101941108420e+02).f64Lt().if();
  result(2, () => c.f64Const(0));
  c.end();
  c.end();
  // Argument reduction: x = hi - lo, hi = x - k·ln2HI, lo = k·ln2LO.
  c.get(v.hx).i32Const(0x3fd62e42).i32GtU().if();
  c.get(v.hx).i32Const(0x3ff0a2b2).i32LtU().if();
  c.get(v.x).f64Const(1).f64Eq().if();
  result(3, () => c.f64Const(2.718281828459045));
  c.end();
  c.get(v.x).f64Const(-ln2HI).f64Const(ln2HI).get(v.xsb).select().f64Sub().set(v.hi);
  c.f64Const(-ln2LO).f64Const(ln2LO).get(v.xsb).select().set(v.lo);
  c.i32Const(1).get(v.xsb).i32Sub().get(v.xsb).i32Sub().set(v.k);
  c.else();
  c.f64Const(1.44269504088896338700e+00).get(v.x).f64Mul().f64Const(-0.5).f64Const(0.5).get(v.xsb).select().f64Add().i32TruncF64S().tee(v.k);
  c.f64ConvertI32S().set(v.t);
  c.get(v.x).get(v.t).f64Const(ln2HI).f64Mul().f64Sub().set(v.hi);
  c.get(v.t).f64Const(ln2LO).f64Mul().set(v.lo);
  c.end();
  c.get(v.hi).get(v.lo).f64Sub().set(v.x);
  c.else();
  // |x| < 2^-28: 1 + x (fdlibm's "huge + x > one" test is always true here).
  c.get(v.hx).i32Const(0x3e300000).i32LtU().if();
  result(2, () => c.f64Const(1).get(v.x).f64Add());
  c.end();
  c.end();
  // x is now in the primary range.
  c.get(v.x).get(v.x).f64Mul().set(v.t);
  // twopk = 2^k (or 2^(k+1000) below k = -1021), built from its exponent bits.
  c.get(v.k).i32Const(1000).i32Const(0).get(v.k).i32Const(-1021).i32LtS().select().i32Add().i32Const(20).i32Shl().i32Const(0x3ff00000).i32Add();
  c.i64ExtendI32U().i64Const(32).i64Shl().f64ReinterpretI64().set(v.twopk);
  c.get(v.x).get(v.t);
  c.f64Const(P1).get(v.t).f64Const(P2).get(v.t).f64Const(P3).get(v.t).f64Const(P4).get(v.t).f64Const(P5).f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add().f64Mul().f64Add();
  c.f64Mul().f64Sub().set(v.c);
  c.get(v.k).i32Eqz().if();
  // 1 - ((x·c)/(c - 2) - x)
  result(1, () => c.f64Const(1).get(v.x).get(v.c).f64Mul().get(v.c).f64Const(2).f64Sub().f64Div().get(v.x).f64Sub().f64Sub());
  c.end();
  // y = 1 - ((lo - (x·c)/(2 - c)) - hi)
  c.f64Const(1).get(v.lo).get(v.x).get(v.c).f64Mul().f64Const(2).get(v.c).f64Sub().f64Div().f64Sub().get(v.hi).f64Sub().f64Sub().set(v.y);
  c.get(v.k).i32Const(-1021).i32GeS().if();
  c.get(v.k).i32Const(1024).i32Eq().if();
  result(2, () => c.get(v.y).f64Const(2).f64Mul().f64Const(two1023).f64Mul());
  c.end();
  result(1, () => c.get(v.y).get(v.twopk).f64Mul());
  c.end();
  result(0, () => c.get(v.y).get(v.twopk).f64Mul().f64Const(twom1000).f64Mul());
  c.end();
}

/** exp(x) as V8's Math.exp: exported for the test that checks it bit for bit. */
function expFunction(): Code {
  const c = new Code(1);
  const out = c.local(F64);
  emitExp(c, 0, out, expLocals(c));
  c.get(out);
  return c;
}

/**
 * binaryGradients(from, to, sum, score, label, grad, hess, product) → sum: the binary log loss's gradient and hessian
 * of rows [from, to) (score, label, grad, hess: addresses of double arrays), exactly as objective.ts computes them:
 * p = sigmoid(s) as (s ≥ 0 ? 1 : e) / (1 + e) with e = exp(-|s|); grad = p - y, hess = p(1 - p). Returns `sum` plus
 * each row's max(s, 0) - y·s, and writes the product of the rows' (1 + e) at `product` (the caller adds its log:
 * one log per block of rows).
 */
function binaryGradientsFunction(): Code {
  const c = new Code(8);
  const [FROM, TO, SUM, SCORE, LABEL, GRAD, HESS, PRODUCT] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i = c.local(I32);
  const at = c.local(I32);
  const s = c.local(F64);
  const e = c.local(F64);
  const p = c.local(F64);
  const y = c.local(F64);
  const sum = c.local(F64);
  const product = c.local(F64);
  const v = expLocals(c);
  c.get(SUM).set(sum);
  c.f64Const(1).set(product);
  c.get(FROM).set(i);
  c.block().loop();
  c.get(i).get(TO).i32GeS().brIf(1);
  c.get(i).i32Const(3).i32Shl().set(at);
  c.get(at).get(SCORE).i32Add().f64Load().set(s);
  c.get(s).f64Abs().f64Neg().set(y);
  emitExp(c, y, e, v);
  c.f64Const(1).get(e).get(s).f64Const(0).f64Ge().select().f64Const(1).get(e).f64Add().f64Div().set(p);
  c.get(at).get(LABEL).i32Add().f64Load().set(y);
  c.get(at).get(GRAD).i32Add().get(p).get(y).f64Sub().f64Store();
  c.get(at).get(HESS).i32Add().get(p).f64Const(1).get(p).f64Sub().f64Mul().f64Store();
  c.get(sum).get(s).f64Const(0).get(s).f64Const(0).f64Gt().select().get(y).get(s).f64Mul().f64Sub().f64Add().set(sum);
  c.get(product).f64Const(1).get(e).f64Add().f64Mul().set(product);
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
  c.get(PRODUCT).get(product).f64Store();
  c.get(sum);
  return c;
}

/** Rows per block of the binary log loss: one log of the block's product of (1 + e) terms (objective.ts). */
export const LOSS_BLOCK = 512;

/**
 * binaryGradientsRange(from, to, score, label, grad, hess, products): the gradients and hessians of rows [from, to)
 * as binaryGradients computes them, and the product of the rows' (1 + e) per block of LOSS_BLOCK rows (blocks counted
 * from row 0: `from` a multiple of LOSS_BLOCK) at products + 8·block; the loss's sum is left to lossTerms, in row
 * order on one thread. Rows are independent here, so threads take disjoint ranges.
 */
function binaryGradientsRangeFunction(): Code {
  const c = new Code(7);
  const [FROM, TO, SCORE, LABEL, GRAD, HESS, PRODUCTS] = [0, 1, 2, 3, 4, 5, 6];
  const i = c.local(I32);
  const at = c.local(I32);
  const s = c.local(F64);
  const e = c.local(F64);
  const p = c.local(F64);
  const y = c.local(F64);
  const product = c.local(F64);
  const v = expLocals(c);
  c.f64Const(1).set(product);
  c.get(FROM).set(i);
  c.block().loop();
  c.get(i).get(TO).i32GeS().brIf(1);
  c.get(i).i32Const(3).i32Shl().set(at);
  c.get(at).get(SCORE).i32Add().f64Load().set(s);
  c.get(s).f64Abs().f64Neg().set(y);
  emitExp(c, y, e, v);
  c.f64Const(1).get(e).get(s).f64Const(0).f64Ge().select().f64Const(1).get(e).f64Add().f64Div().set(p);
  c.get(at).get(LABEL).i32Add().f64Load().set(y);
  c.get(at).get(GRAD).i32Add().get(p).get(y).f64Sub().f64Store();
  c.get(at).get(HESS).i32Add().get(p).f64Const(1).get(p).f64Sub().f64Mul().f64Store();
  c.get(product).f64Const(1).get(e).f64Add().f64Mul().set(product);
  // The block's last row: store its product, start the next.
  c.get(i).i32Const(LOSS_BLOCK - 1).i32And().i32Const(LOSS_BLOCK - 1).i32Eq().if();
  c.get(i).i32Const(Math.log2(LOSS_BLOCK)).i32ShrU().i32Const(3).i32Shl().get(PRODUCTS).i32Add().get(product).f64Store();
  c.f64Const(1).set(product);
  c.end();
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
  // A partial last block (only the last range ends inside a block): its product. A range ending on a block boundary
  // stores nothing there: that slot is the next range's.
  c.get(TO).i32Const(LOSS_BLOCK - 1).i32And().if();
  c.get(TO).i32Const(Math.log2(LOSS_BLOCK)).i32ShrU().i32Const(3).i32Shl().get(PRODUCTS).i32Add().get(product).f64Store();
  c.end();
  return c;
}

/**
 * lossTerms(from, to, sum, score, label) → sum plus each row's max(s, 0) - y·s, in row order: the binary log loss's
 * sum without its log terms, which the caller adds block by block as binaryGradients' caller does.
 */
function lossTermsFunction(): Code {
  const c = new Code(5);
  const [FROM, TO, SUM, SCORE, LABEL] = [0, 1, 2, 3, 4];
  const i = c.local(I32);
  const at = c.local(I32);
  const s = c.local(F64);
  const sum = c.local(F64);
  c.get(SUM).set(sum);
  c.get(FROM).set(i);
  c.block().loop();
  c.get(i).get(TO).i32GeS().brIf(1);
  c.get(i).i32Const(3).i32Shl().set(at);
  c.get(at).get(SCORE).i32Add().f64Load().set(s);
  c.get(sum).get(s).f64Const(0).get(s).f64Const(0).f64Gt().select().get(at).get(LABEL).i32Add().f64Load().get(s).f64Mul().f64Sub().f64Add().set(sum);
  c.get(i).i32Const(1).i32Add().set(i);
  c.br(0).end().end();
  c.get(sum);
  return c;
}

/** The objective's kernels (no memory layout baked in): binary gradients, and exp for its test. */
export interface ObjectiveKernels {
  binaryGradients(from: number, to: number, sum: number, score: number, label: number, grad: number, hess: number, product: number): number;
  lossTerms(from: number, to: number, sum: number, score: number, label: number): number;
  exp(x: number): number;
}

const objectiveModules = new Map<string, WasmModule>();

export function objectiveKernels(memory: WasmMemory, pages: number): ObjectiveKernels {
  const key = String(pages);
  let module = objectiveModules.get(key);
  if (module === undefined) {
    module = new wasm.Module(encodeModule([
      { name: 'binaryGradients', params: [I32, I32, F64, I32, I32, I32, I32, I32], results: [F64], code: binaryGradientsFunction() },
      { name: 'lossTerms', params: [I32, I32, F64, I32, I32], results: [F64], code: lossTermsFunction() },
      { name: 'exp', params: [F64], results: [F64], code: expFunction() },
    ], { pages, shared: true }));
    objectiveModules.set(key, module);
  }
  const e = new wasm.Instance(module, { env: { memory } }).exports as unknown as ObjectiveKernels;
  return { binaryGradients: e.binaryGradients, lossTerms: e.lossTerms, exp: e.exp };
}

/** Where a BinnedScores object keeps its rows and its tree (byte addresses). */
export interface ScoringLayout {
  rowCount: number;
  featureCount: number;
  /** Every row's bins, featureCount bytes per row, in row order. */
  bins: number;
  /**
   * The tree, per node: feature (Int32), left and right child (Int32), value (double), 256 go-left flags. A leaf is
   * its own left and right child (feature 0): walking on from a leaf stays there.
   */
  feature: number;
  left: number;
  right: number;
  value: number;
  masks: number;
}

/** Rows walked down the tree side by side: their dependent loads overlap. */
const SCORING_LANES = 8;

/**
 * addTree(score): score[r] += value[leaf node of row r] for every row: the tree walked from the root by the go-left
 * flags of each node's feature's bin, as leafNodeOfBinnedRow walks it, and the same one add per row. Rows go
 * SCORING_LANES at a time in lockstep until none of them moves (a leaf leads to itself), the last few one by one.
 */
function addTreeFunction(k: ScoringLayout): Code {
  const c = new Code(1);
  const SCORE = 0;
  const G = SCORING_LANES;
  const p = c.local(I32);
  const end = c.local(I32);
  const at = c.local(I32);
  const moved = c.local(I32);
  const node = Array.from({ length: G }, () => c.local(I32));
  const next = Array.from({ length: G }, () => c.local(I32));
  const F = k.featureCount;
  /** Pushes the child of `from` that the row whose bins start at p + lane·F goes to. */
  const step = (from: number, lane: number) => {
    c.get(from).i32Const(2).i32Shl().tee(at).i32Load(k.left).get(at).i32Load(k.right);
    c.get(from).i32Const(8).i32Shl().get(p).get(at).i32Load(k.feature).i32Add().i32Load8u(lane * F).i32Add().i32Load8u(k.masks);
    c.select();
  };
  const addLeaf = (lane: number) => {
    c.get(SCORE).get(SCORE).f64Load(lane * 8).get(node[lane]).i32Const(3).i32Shl().f64Load(k.value).f64Add().f64Store(lane * 8);
  };
  const grouped = k.rowCount - (k.rowCount % G);
  c.i32Const(k.bins).set(p);
  c.i32Const(k.bins + grouped * F).set(end);
  c.block().loop();
  c.get(p).get(end).i32GeU().brIf(1);
  for (let g = 0; g < G; g++) c.i32Const(0).set(node[g]);
  c.block().loop();
  for (let g = 0; g < G; g++) {
    step(node[g], g);
    c.set(next[g]);
  }
  c.get(next[0]).get(node[0]).i32Ne();
  for (let g = 1; g < G; g++) c.get(next[g]).get(node[g]).i32Ne().i32Or();
  c.set(moved);
  for (let g = 0; g < G; g++) c.get(next[g]).set(node[g]);
  c.get(moved).brIf(0);
  c.end().end();
  for (let g = 0; g < G; g++) addLeaf(g);
  c.get(SCORE).i32Const(8 * G).i32Add().set(SCORE);
  c.get(p).i32Const(F * G).i32Add().set(p);
  c.br(0).end().end();
  // The last rowCount % G rows, one at a time.
  c.i32Const(k.bins + k.rowCount * F).set(end);
  c.block().loop();
  c.get(p).get(end).i32GeU().brIf(1);
  c.i32Const(0).set(node[0]);
  c.block().loop();
  step(node[0], 0);
  c.tee(next[0]).get(node[0]).i32Ne();
  c.get(next[0]).set(node[0]);
  c.brIf(0);
  c.end().end();
  addLeaf(0);
  c.get(SCORE).i32Const(8).i32Add().set(SCORE);
  c.get(p).i32Const(F).i32Add().set(p);
  c.br(0).end().end();
  return c;
}

/** The module of a BinnedScores object's one kernel, on its own (unshared) memory of `pages` pages. */
export function scoringModule(k: ScoringLayout, pages: number): WasmModule {
  return new wasm.Module(encodeModule([{ name: 'addTree', params: [I32], results: [], code: addTreeFunction(k) }], { pages, shared: false }));
}

export function scoringKernel(module: WasmModule, memory: WasmMemory): (score: number) => void {
  return (new wasm.Instance(module, { env: { memory } }).exports as Record<string, (score: number) => void>).addTree;
}
