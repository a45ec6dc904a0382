// Does building gradient histograms on 2 threads pay? Compares the trainer's single-threaded histogram
// kernel with the same work split across the main thread and one worker_threads worker (shared memory,
// Atomics for hand-off) for leaf sizes the trainer sees. `npx tsx bench/train/histogram-threads.ts`

import { Worker } from 'node:worker_threads';
import type { HistogramLayout } from '../../ml/gbdt/histogram.js';
import { histogramKernel } from './js-kernels.js';
import { binByteOffset } from '../../ml/gbdt/row-records.js';

const N = 1_000_000;
const F = 5;
const binsPerFeature = [255, 255, 25, 8, 230];
const offsets = binsPerFeature.map((_, j) => binsPerFeature.slice(0, j).reduce((a, b) => a + b, 0));
const totalBins = binsPerFeature.reduce((a, b) => a + b, 0);

const shared = <T>(ctor: new (b: SharedArrayBuffer) => T, bytes: number): T => new ctor(new SharedArrayBuffer(bytes));
// The trainer's leaf-ordered row records (row-records.ts): gradient, hessian, then the bins as bytes.
const stride = 2;
const f32 = shared(Float32Array, N * stride * 8);
const u8 = new Uint8Array(f32.buffer);
let seed = 1;
const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
for (let r = 0; r < N; r++) {
  for (let j = 0; j < F; j++) u8[r * stride * 8 + binByteOffset(j)] = Math.floor(rand() * binsPerFeature[j]);
  f32[r * stride * 2] = rand() - 0.5;
  f32[r * stride * 2 + 1] = rand() * 0.25;
}
const layout: HistogramLayout = { featureCount: F, offsets: Int32Array.from(offsets), binCounts: Int32Array.from(binsPerFeature), totalBins };
const workerHist = shared(Float64Array, totalBins * 2 * 8);
// control: [0] job generation, [1] begin, [2] end, [3] done generation
const control = shared(Int32Array, 4 * 4);

const kernelSource = histogramKernel(layout, stride).toString();
const worker = new Worker(
  `const { workerData } = require('node:worker_threads');
   const kernel = (${kernelSource});
   const { f32, hist, control } = workerData;
   const u8 = new Uint8Array(f32.buffer);
   let seen = 0;
   for (;;) {
     Atomics.wait(control, 0, seen);
     seen = Atomics.load(control, 0);
     if (seen < 0) break;
     kernel(hist, f32, u8, control[1], control[2]);
     Atomics.store(control, 3, seen);
     Atomics.notify(control, 3);
   }`,
  { eval: true, workerData: { f32, hist: workerHist, control } },
);

const kernel = histogramKernel(layout, stride);
const mainHist = new Float64Array(totalBins * 2);
let generation = 0;

function parallel(count: number): void {
  const half = count >>> 1;
  control[1] = half;
  control[2] = count;
  Atomics.store(control, 0, ++generation);
  Atomics.notify(control, 0);
  kernel(mainHist, f32, u8, 0, half);
  while (Atomics.load(control, 3) !== generation) Atomics.wait(control, 3, control[3]);
  for (let k = 0; k < mainHist.length; k++) mainHist[k] += workerHist[k];
}

/** Median milliseconds per call: robust to the scheduler stealing the CPU on a shared machine. */
function time(fn: () => void, reps: number): number {
  for (let i = 0; i < 3; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return samples.sort((a, b) => a - b)[samples.length >> 1];
}

console.log('| rows in leaf | 1 thread ms (median) | 2 threads ms (median) | speed-up |\n|---|---|---|---|');
for (const count of [1_000_000, 250_000, 50_000, 10_000, 2_000]) {
  const reps = Math.max(5, Math.round(5_000_000 / count));
  const single = time(() => kernel(mainHist, f32, u8, 0, count), reps);
  const two = time(() => parallel(count), reps);
  console.log(`| ${count} | ${single.toFixed(3)} | ${two.toFixed(3)} | ${(single / two).toFixed(2)}× |`);
}
Atomics.store(control, 0, -1);
Atomics.notify(control, 0);
await worker.terminate();
