import { describe, expect, it, vi } from 'vitest';
import type { Tree } from '../model.js';
import { BinnedScores } from './binned-scores.js';
import { HelperThread } from './helper-thread.js';
import type { BinnedMatrix } from './binning.js';
import type { HistogramLayout } from './histogram.js';
import { computeGradients } from './objective.js';
import { Mulberry32 } from './prng.js';
import { binByteOffset, GbdtDataTooLarge, RowRecords } from './row-records.js';
import { leafNodeOfBinnedRow } from './tree-learner.js';
import { wasm } from './wasm-encoder.js';
import { objectiveKernels } from './wasm-kernels.js';

/** Same double, bit for bit (NaN payloads aside). */
const sameBits = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe('the generated WebAssembly kernels', () => {
  it('when computing exp, then every result equals V8 Math.exp bit for bit (special values, the ranges gradients use, random bit patterns)', () => {
    const memory = new wasm.Memory({ initial: 1, maximum: 1, shared: true });
    const { exp } = objectiveKernels(memory, 1);
    const rng = new Mulberry32(1);
    const inputs = [0, -0, 1, -1, 2, Infinity, -Infinity, NaN, 709.78, 709.79, -708.4, -708.3, -710, -745.1, -745.2, 2 ** -28, -(2 ** -28), 2 ** -29, 0.34657359027997264, -0.34657359027997264, 1.0397207708399179, -1.0397207708399179, 709.782712893384];
    for (let i = 0; i < 200_000; i++) inputs.push(-rng.next() * 40, (rng.next() - 0.5) * 1500, (rng.next() - 0.5) * 2e-6);
    const bits = new Float64Array(1);
    const words = new Uint32Array(bits.buffer);
    for (let i = 0; i < 200_000; i++) {
      words[0] = rng.nextInt(2 ** 31) * 2 + (i & 1);
      words[1] = rng.nextInt(2 ** 31) * 2 + ((i >> 1) & 1);
      inputs.push(bits[0]);
    }
    const mismatches = inputs.filter((x) => !sameBits(exp(x), Math.exp(x)));
    expect(mismatches).toEqual([]);
  });

  it('when the training data needs more than 4 GiB of kernel memory, then it refuses with GbdtDataTooLarge before allocating', () => {
    const n = 100_000_000;
    const data = { rowCount: n, featureCount: 8, columns: [] } as unknown as BinnedMatrix;
    const layout: HistogramLayout = { featureCount: 8, offsets: Int32Array.from({ length: 8 }, (_, f) => f * 256), binCounts: new Int32Array(8).fill(256), totalBins: 2048 };
    expect(() => new RowRecords(data, layout, { threads: 1, gradientLength: n, histograms: 2, leaves: 255, groupBounds: [0, 8] })).toThrow(GbdtDataTooLarge);
    expect(() => new RowRecords(data, layout, { threads: 1, gradientLength: n, histograms: 2, leaves: 255, groupBounds: [0, 8] })).toThrow(/at most 4 GiB fit/);
  });

  it.each([1_000, 1_024, 1])('when computing %i binary gradients, then gradients, hessians and log loss equal objective.ts bit for bit', (n) => {
    const rng = new Mulberry32(n);
    const data: BinnedMatrix = { rowCount: n, featureCount: 1, columns: [new Uint8Array(n)] };
    const layout: HistogramLayout = { featureCount: 1, offsets: Int32Array.of(0), binCounts: Int32Array.of(256), totalBins: 256 };
    const records = new RowRecords(data, layout, { threads: 1, gradientLength: n, histograms: 1, leaves: 2, groupBounds: [0, 1] });
    for (let i = 0; i < n; i++) {
      records.scores[i] = i % 97 === 0 ? (rng.next() - 0.5) * 1600 : (rng.next() - 0.5) * 12;
      records.labels[i] = rng.next() < 0.3 ? 1 : 0;
    }
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const expected = computeGradients('binary', records.scores, records.labels, grad, hess);
    const got = records.binaryGradients(records.scores, records.labels, records.grad, records.hess);
    expect(sameBits(got, expected)).toBe(true);
    expect(Buffer.from(records.grad.buffer, records.grad.byteOffset, n * 8).equals(Buffer.from(grad.buffer))).toBe(true);
    expect(Buffer.from(records.hess.buffer, records.hess.byteOffset, n * 8).equals(Buffer.from(hess.buffer))).toBe(true);
  });

  it.each([[2, 1_000], [2, 2_048], [3, 5_001], [3, 1_536]])('when %i threads share the binary gradients of %i rows, then gradients, hessians and log loss equal objective.ts bit for bit', async (threads, n) => {
    const rng = new Mulberry32(n + threads);
    const data: BinnedMatrix = { rowCount: n, featureCount: 1, columns: [new Uint8Array(n)] };
    const layout: HistogramLayout = { featureCount: 1, offsets: Int32Array.of(0), binCounts: Int32Array.of(256), totalBins: 256 };
    const records = new RowRecords(data, layout, { threads, gradientLength: n, histograms: 1, leaves: 2, groupBounds: [0, 1] });
    const helpers = Array.from({ length: threads - 1 }, (_, t) => new HelperThread({ module: records.module, memory: records.memory, histogram: 'histogram', scratch: RowRecords.scratchOf(t + 1), calls: ['binaryGradientsRange'] }));
    try {
      for (let i = 0; i < n; i++) {
        records.scores[i] = i % 97 === 0 ? (rng.next() - 0.5) * 1600 : (rng.next() - 0.5) * 12;
        records.labels[i] = rng.next() < 0.3 ? 1 : 0;
      }
      const grad = new Float64Array(n);
      const hess = new Float64Array(n);
      const expected = computeGradients('binary', records.scores, records.labels, grad, hess);
      const got = records.binaryGradients(records.scores, records.labels, records.grad, records.hess, helpers);
      expect(sameBits(got, expected)).toBe(true);
      expect(Buffer.from(records.grad.buffer, records.grad.byteOffset, n * 8).equals(Buffer.from(grad.buffer))).toBe(true);
      expect(Buffer.from(records.hess.buffer, records.hess.byteOffset, n * 8).equals(Buffer.from(hess.buffer))).toBe(true);
    } finally {
      await Promise.all(helpers.map((h) => h.close()));
    }
  });

  it('when 2 or 3 threads load a tree\'s records with the root histogram and add leaf values, then records, histogram, sums and scores equal one thread\'s bit for bit', async () => {
    const n = 9_001;
    const rng = new Mulberry32(12);
    const columns = [0, 1, 2, 3].map((f) => Uint8Array.from({ length: n }, () => rng.nextInt(f === 3 ? 5 : 200)));
    const data: BinnedMatrix = { rowCount: n, featureCount: 4, columns };
    const layout: HistogramLayout = { featureCount: 4, offsets: Int32Array.of(0, 200, 400, 600), binCounts: Int32Array.of(200, 200, 200, 5), totalBins: 605 };
    const inBag = Int32Array.from({ length: n }, (_, i) => i).filter((i) => i % 7 !== 3);
    const grad = Float64Array.from({ length: n }, () => (rng.next() - 0.5) * 3.7);
    const hess = Float64Array.from({ length: n }, () => rng.next() * 0.25);
    // Leaves: a random partition of the loaded records into 9 contiguous runs, with values.
    const leafCount = 9;
    const cuts = Array.from({ length: leafCount - 1 }, () => rng.nextInt(n)).sort((a, b) => a - b);
    const leafBegin = Int32Array.from([0, ...cuts]);
    const leafSize = Int32Array.from(leafBegin, (b, l) => (l + 1 < leafCount ? leafBegin[l + 1] : n) - b);
    const leafValue = Float64Array.from({ length: leafCount }, () => (rng.next() - 0.5) * 0.3);
    const run = async (threads: number) => {
      const bounds = Array.from({ length: threads + 1 }, (_, t) => Math.floor((t * 4) / threads));
      const records = new RowRecords(data, layout, { threads, gradientLength: n, histograms: 1, leaves: leafCount, groupBounds: bounds });
      const helpers = Array.from({ length: threads - 1 }, (_, t) => new HelperThread({ module: records.module, memory: records.memory, histogram: `group${t + 1}`, scratch: RowRecords.scratchOf(t + 1), calls: ['loadRange', 'scatterLeafIds', 'addLeafValues'] }));
      try {
        records.grad.set(grad);
        records.hess.set(hess);
        records.rows.set(inBag);
        const hist = records.newHistogram();
        hist.fill(NaN); // the kernels clear it
        records.loadWithRootHistogram(hist, inBag.length, records.grad, records.hess, helpers, helpers.length);
        const loaded = Buffer.from(records.u8.slice(0, inBag.length * records.stride * 8));
        // Every row once for the score update (as a tree without bagging).
        records.rows.set(Int32Array.from({ length: n }, (_, i) => (i * 7919) % n));
        for (let i = 0; i < n; i++) records.scores[i] = i / 3;
        records.addLeafValues(leafCount, leafBegin, leafSize, leafValue, records.scores.subarray(0, n), helpers);
        return { loaded, hist: Buffer.from(hist.slice().buffer), sums: [records.sums[0], records.sums[1]], scores: Buffer.from(records.scores.slice(0, n).buffer) };
      } finally {
        await Promise.all(helpers.map((h) => h.close()));
      }
    };
    const one = await run(1);
    expect(one.sums[1]).toBeGreaterThan(0);
    for (const threads of [2, 3]) {
      const many = await run(threads);
      expect(many.loaded.equals(one.loaded)).toBe(true);
      expect(many.hist.equals(one.hist)).toBe(true);
      expect(many.sums).toEqual(one.sums);
      expect(many.scores.equals(one.scores)).toBe(true);
    }
  });

  it('when partitioning records by a bin mask, then the left ones come first, each record keeps its row id and bins, and the count is right', () => {
    const n = 70_000; // above HALVED_PARTITION_MIN_ROWS: the halves and their exchange too
    const rng = new Mulberry32(4);
    const columns = [0, 1, 2].map(() => Uint8Array.from({ length: n }, () => rng.nextInt(200)));
    const data: BinnedMatrix = { rowCount: n, featureCount: 3, columns };
    const layout: HistogramLayout = { featureCount: 3, offsets: Int32Array.of(0, 200, 400), binCounts: Int32Array.of(200, 200, 200), totalBins: 600 };
    const records = new RowRecords(data, layout, { threads: 1, gradientLength: n, histograms: 1, leaves: 2, groupBounds: [0, 3] });
    for (let i = 0; i < n; i++) records.grad[i] = i;
    records.rows.set(Int32Array.from({ length: n }, (_, i) => i));
    records.loadWithRootHistogram(records.newHistogram(), n, records.grad, records.hess);
    for (const [begin, size, feature] of [[0, n, 1], [123, 5_000, 2], [10, 300, 0]]) {
      const mask = Uint8Array.from({ length: 256 }, () => (rng.next() < 0.4 ? 1 : 0));
      let expected = 0;
      for (let i = begin; i < begin + size; i++) expected += mask[columns[feature][records.rows[i]]];
      const left = records.partition(begin, size, feature, mask);
      expect(left).toBe(expected);
      const wrong: number[] = [];
      const seen = new Set<number>();
      for (let i = begin; i < begin + size; i++) {
        const row = records.rows[i];
        seen.add(row);
        let ok = mask[columns[feature][row]] === (i < begin + left ? 1 : 0) && records.f32[i * records.stride * 2] === row;
        for (let j = 0; j < 3; j++) ok &&= records.u8[i * records.stride * 8 + binByteOffset(j)] === columns[j][row];
        if (!ok) wrong.push(i);
      }
      expect(wrong).toEqual([]);
      expect(seen.size).toBe(size);
    }
  });

  it.each([8_191, 8_192, 8_193])('when a halved partition exchanges %i records, then with a helper (sharing the exchange from 8,192) the records and row ids equal one thread\'s', async (exchanged) => {
    const half = 20_000;
    const n = 2 * half;
    const rng = new Mulberry32(exchanged);
    // First half: all left but its last `exchanged` records; second half: `exchanged` + 5 left records among right ones.
    const leftInB = new Set<number>();
    while (leftInB.size < exchanged + 5) leftInB.add(half + rng.nextInt(half));
    const bins = Uint8Array.from({ length: n }, (_, i) => (i < half ? (i < half - exchanged ? 1 : 2) : leftInB.has(i) ? 1 : 2 + rng.nextInt(9)));
    const other = Uint8Array.from({ length: n }, () => rng.nextInt(256));
    const data: BinnedMatrix = { rowCount: n, featureCount: 2, columns: [bins, other] };
    const layout: HistogramLayout = { featureCount: 2, offsets: Int32Array.of(0, 12), binCounts: Int32Array.of(12, 256), totalBins: 268 };
    const mask = new Uint8Array(256);
    mask[1] = 1;
    const calls = vi.spyOn(HelperThread.prototype, 'startCall');
    const run = async (threads: number) => {
      const records = new RowRecords(data, layout, { threads, gradientLength: n, histograms: 1, leaves: 2, groupBounds: [0, 2] });
      const helper = threads === 1 ? null : new HelperThread({ module: records.module, memory: records.memory, histogram: 'histogram', scratch: RowRecords.scratchOf(1), calls: ['swapBytes'] });
      try {
        for (let i = 0; i < n; i++) records.grad[i] = i;
        records.rows.set(Int32Array.from({ length: n }, (_, i) => i));
        records.loadWithRootHistogram(records.newHistogram(), n, records.grad, records.hess);
        const left = records.partition(0, n, 0, mask, helper);
        return { left, records: Buffer.from(records.u8.slice()), rows: Buffer.from(records.rows.slice().buffer) };
      } finally {
        await helper?.close();
      }
    };
    const one = await run(1);
    const two = await run(2);
    expect(one.left).toBe(half - exchanged + exchanged + 5);
    expect(calls.mock.calls.filter(([name]) => name === 'swapBytes').length).toBe(exchanged >= 8_192 ? 1 : 0);
    calls.mockRestore();
    expect(two.left).toBe(one.left);
    expect(two.records.equals(one.records)).toBe(true);
    expect(two.rows.equals(one.rows)).toBe(true);
  });

  it('when adding random trees to binned rows\' scores, then every score equals the JavaScript walk and add bit for bit, per class', () => {
    const rng = new Mulberry32(7);
    const n = 3_001;
    const features = 5;
    const columns = Array.from({ length: features }, (_, f) => Uint8Array.from({ length: n }, () => (f === 0 ? rng.nextInt(3) : rng.nextInt(256))));
    const data: BinnedMatrix = { rowCount: n, featureCount: features, columns };
    const classes = 3;
    const scorer = new BinnedScores(data, classes, 63);
    const expected = new Float64Array(n * classes);
    for (let i = 0; i < expected.length; i++) expected[i] = scorer.scores[i] = (rng.next() - 0.5) * 3;
    for (let t = 0; t < 12; t++) {
      // A random tree of up to 32 leaves: split a random leaf until there are enough.
      const tree: Tree = { feature: [-1], threshold: [0], categorySets: [null], missingLeft: [false], left: [-1], right: [-1], value: [0], gain: [0] };
      const masks: (Uint8Array | null)[] = [null];
      const leaves = 1 + rng.nextInt(32);
      for (let l = 1; l < leaves; l++) {
        const candidates = tree.feature.flatMap((f, node) => (f < 0 ? [node] : []));
        const node = candidates[rng.nextInt(candidates.length)];
        tree.feature[node] = rng.nextInt(features);
        masks[node] = Uint8Array.from({ length: 256 }, () => (rng.next() < 0.5 ? 1 : 0));
        for (const side of ['left', 'right'] as const) {
          tree[side][node] = tree.feature.length;
          tree.feature.push(-1); tree.threshold.push(0); tree.categorySets.push(null); tree.missingLeft.push(false);
          tree.left.push(-1); tree.right.push(-1); tree.value.push(0); tree.gain.push(0);
          masks.push(null);
        }
      }
      for (let node = 0; node < tree.feature.length; node++) if (tree.feature[node] < 0) tree.value[node] = (rng.next() - 0.5) * 0.37;
      const k = t % classes;
      scorer.addTree(tree, masks, k);
      for (let r = 0; r < n; r++) expected[k * n + r] += tree.value[leafNodeOfBinnedRow(tree, masks, data, r)];
    }
    expect(Buffer.from(scorer.scores.buffer, scorer.scores.byteOffset, n * classes * 8).equals(Buffer.from(expected.buffer))).toBe(true);
    const tooBig = { feature: new Array<number>(64).fill(-1) } as Tree;
    expect(() => scorer.addTree(tooBig, [], 0)).toThrow(RangeError);
  });
});
