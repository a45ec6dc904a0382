// The WebAssembly kernels against the JavaScript ones they replace, in isolation, on flights-like records
// (1M rows, 5 features of 255/300/300/25/8 bins): CPU ns per row for the tree's load + root histogram, a histogram
// of every record, and a tree's worth of partitions; and a bit-for-bit check that both produce the same histograms,
// records and row ids.
//   npx tsx bench/train/wasm-kernels-ab.ts [rows]
import type { HistogramLayout } from '../../ml/gbdt/histogram.js';
import { binByteOffset } from '../../ml/gbdt/row-records.js';
import { histogramKernel, loadingHistogramKernel, partitionKernel } from './js-kernels.js';
import { wasm, WASM_PAGE } from '../../ml/gbdt/wasm-encoder.js';
import { instantiateKernels, kernelModule, SCRATCH_BYTES } from '../../ml/gbdt/wasm-kernels.js';

const N = Number(process.argv[2] ?? 1_000_000);
const binCounts = [255, 300, 300, 25, 8];
const F = binCounts.length;
let seed = 7;
const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
// Skewed bins (a few frequent ones), as real features are.
const columns = binCounts.map((nb) => Uint8Array.from({ length: N }, () => Math.min(nb - 1, 1 + Math.floor(rand() * rand() * nb))));
const offsets = new Int32Array(F);
let total = 0;
binCounts.forEach((nb, f) => { offsets[f] = total; total += nb; });
const layout: HistogramLayout = { featureCount: F, offsets, binCounts: Int32Array.from(binCounts), totalBins: total };
const grad = Float64Array.from({ length: N }, () => rand() - 0.5);
const hess = Float64Array.from({ length: N }, () => rand() * 0.25);
const inBag = Int32Array.from({ length: N }, (_, i) => i);

// JavaScript side: records of 1 + ceil(F / 7) words in an ArrayBuffer, as the trainer kept them before.
const words = Math.ceil(F / 7);
const stride = 1 + words;
const jsBuffer = new ArrayBuffer(N * stride * 8);
const rec = { f64: new Float64Array(jsBuffer), f32: new Float32Array(jsBuffer), u8: new Uint8Array(jsBuffer), binWords: new Float64Array(N * words) };
{
  const bins = new Uint8Array(rec.binWords.buffer);
  for (let j = 0; j < F; j++) for (let r = 0; r < N; r++) bins[r * words * 8 + binByteOffset(j) - 8] = columns[j][r];
}
const jsRows = new Int32Array(N);
const jsHist = new Float64Array(total * 2);
const jsSums = new Float64Array(2);
const jsLoad = loadingHistogramKernel(layout, stride);
const jsHistogram = histogramKernel(layout, stride);

// WebAssembly side: scratch | records | rows | bin words | grad | hess | histogram | sums.
const histBytes = total * 16;
let at = SCRATCH_BYTES + 64;
const align = (n: number) => Math.ceil(n / 64) * 64;
const recordsAt = at = align(at);
at += N * stride * 8;
const rowsAt = at = align(at);
at += N * 4;
const binWordsAt = at = align(at);
at += rec.binWords.byteLength;
const gradAt = at = align(at);
at += N * 8;
const hessAt = at = align(at);
at += N * 8;
const histAt = at = align(at);
at += histBytes;
const sumsAt = at = align(at);
at += 16;
const pages = Math.ceil(at / WASM_PAGE);
const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
const kernelLayout = { stride, records: recordsAt, rows: rowsAt, binWords: binWordsAt, binOffsets: offsets, binBytes: Array.from({ length: F }, (_, j) => binByteOffset(j)), histLength: total * 2, leafOfRow: 0, wideLeaves: false, leafBegin: 0, leafSize: 0, leafValue: 0 };
const k = instantiateKernels(kernelModule(kernelLayout, [0, 2, F], { pages, shared: true }), memory, 2);
const buf = memory.buffer;
const wRecords = new Float64Array(buf, recordsAt, N * stride);
const wRows = new Int32Array(buf, rowsAt, N);
new Float64Array(buf, binWordsAt, rec.binWords.length).set(rec.binWords);
new Float64Array(buf, gradAt, N).set(grad);
new Float64Array(buf, hessAt, N).set(hess);
const wHist = new Float64Array(buf, histAt, total * 2);
const wSums = new Float64Array(buf, sumsAt, 2);
const wMask = new Uint8Array(buf, 0, 256);

const cpu = (f: () => void): number => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) * 1000;
};
const sameBits = (a: Float64Array, b: Float64Array, what: string) => {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) throw new Error(`${what} differs at byte ${i}`);
};
const sameInts = (a: Int32Array, b: Int32Array, what: string) => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${what} differs at ${i}`);
};

const mask = new Uint8Array(256);
// A tree's worth of partitions: split recursively, features cycling, masks from a fixed sequence, ~8 levels.
const tree = (partition: (b: number, s: number, f: number) => number): number => {
  let moved = 0;
  const stack: [number, number, number][] = [[0, N, 0]];
  let s2 = 11;
  while (stack.length) {
    const [b, s, d] = stack.pop()!;
    if (d >= 8 || s < 40) continue;
    const f = d % F;
    s2 = (s2 * 16807) % 2147483647;
    const cut = 1 + (s2 % (binCounts[f] - 1));
    mask.fill(0);
    for (let bin = 1; bin <= cut; bin++) mask[bin] = 1;
    mask[0] = s2 & 1;
    const l = partition(b, s, f);
    moved += s;
    stack.push([b, l, d + 1], [b + l, s - l, d + 1]);
  }
  return moved;
};
const wPartition = (b: number, s: number, f: number) => {
  wMask.set(mask);
  return k.partition(b, s, binByteOffset(f), 0);
};
const jsKernel = partitionKernel(stride);
const offL = new Int32Array(128);
const offR = new Int32Array(128);
const jsPartitionPlain = (b: number, s: number, f: number) => jsKernel(rec.f64, rec.u8, jsRows, b, s, binByteOffset(f), mask, offL, offR);

const results: Record<string, number[]> = { loadJs: [], loadWasm: [], histJs: [], histWasm: [], partJs: [], partWasm: [] };
let moved = 0;
for (let rep = 0; rep < 7; rep++) {
  jsRows.set(inBag);
  wRows.set(inBag);
  results.loadJs.push(cpu(() => jsLoad(jsHist, jsSums, rec.f64, rec.f32, rec.u8, rec.binWords, inBag, N, grad, hess)));
  results.loadWasm.push(cpu(() => k.load(histAt, sumsAt, N, gradAt, hessAt)));
  sameBits(jsHist, wHist, 'root histogram');
  sameBits(jsSums, wSums, 'root sums');
  sameBits(rec.f64, wRecords, 'loaded records');
  results.histJs.push(cpu(() => jsHistogram(jsHist, rec.f32, rec.u8, 0, N)));
  results.histWasm.push(cpu(() => k.histogram(histAt, 0, N)));
  sameBits(jsHist, wHist, 'histogram');
  results.partJs.push(cpu(() => { moved = tree(jsPartitionPlain); }));
  results.partWasm.push(cpu(() => { moved = tree(wPartition); }));
  sameBits(rec.f64, wRecords, 'partitioned records');
  sameInts(jsRows, wRows, 'row ids');
  // Groups: two halves of the features give the whole histogram.
  wHist.fill(-1);
  k.groups[0](histAt, 1000, N - 1000);
  k.groups[1](histAt, 1000, N - 1000);
  jsHistogram(jsHist, rec.f32, rec.u8, 1000, N - 1000);
  sameBits(jsHist, wHist, 'grouped histogram');
}
const median = (xs: number[]) => [...xs].slice(1).sort((a, b) => a - b)[(xs.length - 1) >> 1];
console.log(`rows ${N}, record stride ${stride} words; median CPU ns per row of 6 runs (after 1 warm-up); bit-identical results`);
console.log(`load + root histogram: js ${(median(results.loadJs) / N).toFixed(2)}  wasm ${(median(results.loadWasm) / N).toFixed(2)}`);
console.log(`histogram:             js ${(median(results.histJs) / N).toFixed(2)}  wasm ${(median(results.histWasm) / N).toFixed(2)}`);
console.log(`partition (per row moved, ${moved} per tree): js ${(median(results.partJs) / moved).toFixed(2)}  wasm ${(median(results.partWasm) / moved).toFixed(2)}`);
