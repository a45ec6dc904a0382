import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { HelperThread } from './helper-thread.js';
import { HALVED_PARTITION_MIN_ROWS } from './row-records.js';
import { defaultNumThreads, trainGbdt, type GbdtCheckpoint, type GbdtParamsInput } from './index.js';
import { Mulberry32 } from './prng.js';
import { wasm, WASM_PAGE } from './wasm-encoder.js';
import { kernelModule } from './wasm-kernels.js';

/** Rows enough for halved partitions; a regression label with arbitrary decimals, so sums depend on their order. */
function synthetic(n: number, seed: number): ColumnarDataset {
  const rng = new Mulberry32(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c: (string | null)[] = [];
  const d = new Float64Array(n);
  const y = new Float64Array(n);
  const yBinary = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.next() * 10;
    b[i] = rng.next() < 0.1 ? NaN : rng.next() * 2 - 1;
    const k = rng.nextInt(40);
    c.push(k === 39 ? null : `k${k}`);
    d[i] = rng.nextInt(7);
    const z = 0.6 * (a[i] - 5) + (Number.isNaN(b[i]) ? 0.8 : b[i]) + (k % 4 === 1 ? 1.2 : -0.4) + 0.1 * d[i];
    y[i] = z + rng.next() * 0.731;
    yBinary[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { rowCount: n, columns: { a, b, c, d, y: yBinary }, label: y };
}

const data = synthetic(2 * HALVED_PARTITION_MIN_ROWS + 5_000, 3);
const binaryData: ColumnarDataset = { rowCount: data.rowCount, columns: { a: data.columns.a, b: data.columns.b, c: data.columns.c, d: data.columns.d }, label: data.columns.y as Float64Array };
const features = ['a', 'b', 'c', 'd'];

describe('training on several threads', () => {
  afterEach(() => vi.restoreAllMocks());

  it('when trained on 1, 2 or 3 threads (every leaf shared with the helpers), then the regression models are identical', async () => {
    const params: GbdtParamsInput = { task: 'regression', numIterations: 6, numLeaves: 31, learningRate: 0.3, features, seed: 5 };
    const histograms = vi.spyOn(HelperThread.prototype, 'startHistogram');
    const partitions = vi.spyOn(HelperThread.prototype, 'startPartition');
    const calls = vi.spyOn(HelperThread.prototype, 'startCall');
    const one = await trainGbdt(data, params, { numThreads: 1 });
    expect(histograms).not.toHaveBeenCalled();
    const two = await trainGbdt(data, params, { numThreads: 2, parallelMinRows: 1 });
    // The helper really took part: histogram groups of every leaf's smaller child (29 per tree of 31 leaves; the
    // root's is built while its records load), the upper halves of the large partitions.
    expect(histograms.mock.calls.length).toBeGreaterThanOrEqual(6 * 29);
    expect(partitions).toHaveBeenCalled();
    // … and half of the halved partitions' large exchanges.
    expect(calls.mock.calls.some(([name]) => name === 'swapBytes')).toBe(true);
    const three = await trainGbdt(data, params, { numThreads: 3, parallelMinRows: 1 });
    expect(one.model.trees.length).toBe(6);
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    expect(JSON.stringify(three)).toBe(JSON.stringify(one));
  });

  it('when a binary run without bagging trains on 1, 2 or 3 threads (gradients, loads, root histograms and score updates shared), or resumes across them, then the results are identical', async () => {
    const params: GbdtParamsInput = { task: 'binary', numIterations: 5, numLeaves: 31, learningRate: 0.2, features, seed: 3 };
    const calls = vi.spyOn(HelperThread.prototype, 'startCall');
    const one = await trainGbdt(binaryData, params, { numThreads: 1 });
    expect(calls).not.toHaveBeenCalled();
    const two = await trainGbdt(binaryData, params, { numThreads: 2, parallelMinRows: 1_000 });
    const kernels = new Set(calls.mock.calls.map(([name]) => name));
    expect([...kernels].sort()).toEqual(['addLeafValues', 'binaryGradientsRange', 'loadRange', 'scatterLeafIds', 'swapBytes']);
    let stored = '';
    const three = await trainGbdt(binaryData, params, {
      numThreads: 3,
      parallelMinRows: 1_000,
      onIteration: (p) => {
        if (p.iteration === 2) stored = JSON.stringify(p.checkpoint());
      },
    });
    // Resumed on 2 threads from the 3-thread run's checkpoint: the same result again.
    const resumed = await trainGbdt(binaryData, params, { numThreads: 2, parallelMinRows: 1_000, resumeFrom: JSON.parse(stored) as GbdtCheckpoint });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(one));
    expect(one.rawScores).toBeDefined();
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    expect(JSON.stringify(three)).toBe(JSON.stringify(one));
    expect(Buffer.from(two.rawScores!.train.buffer).equals(Buffer.from(one.rawScores!.train.buffer))).toBe(true);
    expect(Buffer.from(three.rawScores!.train.buffer).equals(Buffer.from(one.rawScores!.train.buffer))).toBe(true);
  });

  it('when a binary run with bagging and a validation split uses 2 threads, then it equals the 1-thread run, and resumes across thread counts', async () => {
    const params: GbdtParamsInput = {
      task: 'binary', numIterations: 8, numLeaves: 15, learningRate: 0.2, features, seed: 9,
      baggingFraction: 0.8, featureFraction: 0.75, validationFraction: 0.1, earlyStoppingRounds: 20,
    };
    const one = await trainGbdt(binaryData, params, { numThreads: 1 });
    let stored = '';
    const two = await trainGbdt(binaryData, params, {
      numThreads: 2,
      parallelMinRows: 1_000,
      onIteration: (p) => {
        if (p.iteration === 3) stored = JSON.stringify(p.checkpoint());
      },
    });
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    const resumed = await trainGbdt(binaryData, params, { numThreads: 1, resumeFrom: JSON.parse(stored) as GbdtCheckpoint });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(one));
  });

  it('when a multiclass run (categorical and missing values) uses 2 threads on every leaf, then it equals the 1-thread run', async () => {
    const y = data.label as Float64Array;
    const classes = Float64Array.from(y, (v) => (v < -0.5 ? 0 : v < 0.8 ? 1 : 2));
    expect(new Set(classes).size).toBe(3);
    const multiclass: ColumnarDataset = { ...binaryData, label: classes };
    const params: GbdtParamsInput = { task: 'multiclass', numClass: 3, numIterations: 3, numLeaves: 15, learningRate: 0.3, features, seed: 11 };
    const one = await trainGbdt(multiclass, params, { numThreads: 1 });
    const two = await trainGbdt(multiclass, params, { numThreads: 2, parallelMinRows: 1 });
    expect(one.model.trees.length).toBe(9);
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  });

  it('refuses a thread count that is not an integer from 1 to 8', async () => {
    const params: GbdtParamsInput = { task: 'regression', numIterations: 1, features };
    await expect(trainGbdt(data, params, { numThreads: 0 })).rejects.toThrow(/numThreads=0/);
    await expect(trainGbdt(data, params, { numThreads: 1.5 })).rejects.toThrow(/numThreads/);
    await expect(trainGbdt(data, params, { numThreads: 9 })).rejects.toThrow(/numThreads/);
  });

  it('when a job on a helper thread throws, then finish() fails with its error at once and the helper closes without an uncaught error', async () => {
    // Kernels of a one-feature layout on one page of memory; a histogram addressed past its end traps.
    const memory = new wasm.Memory({ initial: 1, maximum: 1, shared: true });
    const layout = { stride: 2, records: 1024, rows: 2048, binWords: 4096, binOffsets: [0], binBytes: [8], histLength: 8, leafOfRow: 8192, wideLeaves: false, leafBegin: 8192, leafSize: 8192, leafValue: 8192 };
    const module = kernelModule(layout, [0, 1], { pages: 1, shared: true });
    const helper = new HelperThread({ module, memory, histogram: 'histogram', scratch: 0 });
    helper.startHistogram(WASM_PAGE, 0, 1);
    // Not the timeout's "did not finish a job": the main thread must not sit blocked (no heartbeats) until it.
    expect(() => helper.finish()).toThrow(/GBDT helper thread failed: RuntimeError: memory access out of bounds/);
    await helper.close();
    // The helper's failure surfaces as this error only: an unhandled worker 'error' event would fail this file.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('when a helper is given a job before its last one finished, then it refuses, and the running job keeps its arguments and result', async () => {
    const memory = new wasm.Memory({ initial: 1, maximum: 1, shared: true });
    const layout = { stride: 2, records: 1024, rows: 2048, binWords: 4096, binOffsets: [0], binBytes: [8], histLength: 8, leafOfRow: 8192, wideLeaves: false, leafBegin: 8192, leafSize: 8192, leafValue: 8192 };
    const module = kernelModule(layout, [0, 1], { pages: 1, shared: true });
    const helper = new HelperThread({ module, memory, histogram: 'histogram', scratch: 0, calls: ['swapBytes'] });
    try {
      const bytes = new Uint8Array(memory.buffer);
      bytes.fill(1, 10_000, 10_100);
      bytes.fill(2, 20_000, 20_100);
      helper.startCall('swapBytes', [10_000, 20_000, 100]);
      // Each would overwrite the running job's control words (its arguments, the partition mask) before the helper reads them.
      expect(() => helper.startCall('swapBytes', [10_000, 30_000, 100])).toThrow(/still running a job/);
      expect(() => helper.startHistogram(WASM_PAGE, 0, 1)).toThrow(/still running a job/);
      expect(() => helper.startPartition(0, 1, 8, new Uint8Array(256))).toThrow(/still running a job/);
      helper.finish();
      expect(bytes.slice(10_000, 10_100).every((b) => b === 2)).toBe(true);
      expect(bytes.slice(20_000, 20_100).every((b) => b === 1)).toBe(true);
      // Idle again: the next job runs.
      helper.startCall('swapBytes', [10_000, 20_000, 100]);
      helper.finish();
      expect(bytes[10_000]).toBe(1);
    } finally {
      await helper.close();
    }
  });

  it('by default gives each training slot its share of the cores, at least one', () => {
    expect(defaultNumThreads(1, 2)).toBe(2);
    expect(defaultNumThreads(2, 2)).toBe(1);
    expect(defaultNumThreads(4, 2)).toBe(1);
    expect(defaultNumThreads(2, 16)).toBe(8);
    expect(defaultNumThreads(1, 64)).toBe(8);
  });
});
