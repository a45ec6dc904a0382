// Does building gradient histograms on 2 threads pay? Compares the trainer's single-threaded histogram
// kernel with the same work split across the main thread and one worker_threads worker (shared memory,
// Atomics for hand-off) for leaf sizes the trainer sees. `npx tsx bench/train/histogram-threads.ts`

import { Worker } from 'node:worker_threads';
import { histogramKernel } from '../../ml/gbdt/histogram.js';

const N = 1_000_000;
const F = 5;
const binsPerFeature = [255, 255, 25, 8, 230];
const offsets = binsPerFeature.map((_, j) => binsPerFeature.slice(0, j).reduce((a, b) => a + b, 0));
const totalBins = binsPerFeature.reduce((a, b) => a + b, 0);

const shared = <T>(ctor: new (b: SharedArrayBuffer) => T, bytes: number): T => new ctor(new SharedArrayBuffer(bytes));
const gbins = shared(Uint16Array, N * F * 2);
const grad = shared(Float64Array, N * 8);
const hess = shared(Float64Array, N * 8);
const rows = shared(Int32Array, N * 4);
let seed = 1;
const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
for (let r = 0; r < N; r++) {
  for (let j = 0; j < F; j++) gbins[r * F + j] = offsets[j] + Math.floor(rand() * binsPerFeature[j]);
  grad[r] = rand() - 0.5;
  hess[r] = rand() * 0.25;
  rows[r] = r;
}
const workerHist = shared(Float64Array, totalBins * 3 * 8);
// control: [0] job generation, [1] begin, [2] end, [3] done generation
const control = shared(Int32Array, 4 * 4);

const kernelSource = histogramKernel(F).toString();
const worker = new Worker(
  `const { workerData } = require('node:worker_threads');
   const kernel = (${kernelSource});
   const { gbins, grad, hess, rows, hist, control } = workerData;
   let seen = 0;
   for (;;) {
     Atomics.wait(control, 0, seen);
     seen = Atomics.load(control, 0);
     if (seen < 0) break;
     kernel(hist, gbins, rows, control[1], control[2], grad, hess);
     Atomics.store(control, 3, seen);
     Atomics.notify(control, 3);
   }`,
  { eval: true, workerData: { gbins, grad, hess, rows, hist: workerHist, control } },
);

const kernel = histogramKernel(F);
const mainHist = new Float64Array(totalBins * 3);
let generation = 0;

function parallel(count: number): void {
  const half = count >>> 1;
  control[1] = half;
  control[2] = count;
  Atomics.store(control, 0, ++generation);
  Atomics.notify(control, 0);
  kernel(mainHist, gbins, rows, 0, half, grad, hess);
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
  const single = time(() => kernel(mainHist, gbins, rows, 0, count, grad, hess), reps);
  const two = time(() => parallel(count), reps);
  console.log(`| ${count} | ${single.toFixed(3)} | ${two.toFixed(3)} | ${(single / two).toFixed(2)}× |`);
}
Atomics.store(control, 0, -1);
Atomics.notify(control, 0);
await worker.terminate();
