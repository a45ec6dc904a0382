// Data a trainer must survive: single-class targets, saturated scores, tiny leaves, no early stopping.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import type { Tree } from '../model.js';
import { predictGbdt, predictGbdtRaw, trainGbdt } from './index.js';
import { Mulberry32 } from './prng.js';

/** Leaf node reached by a row of numeric features (no missing values). */
function leafOf(tree: Tree, features: string[], data: ColumnarDataset, row: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    const x = (data.columns[features[tree.feature[node]]] as Float64Array)[row];
    node = x <= tree.threshold[node] ? tree.left[node] : tree.right[node];
  }
  return node;
}

function noisyBinary(n: number, seed: number): ColumnarDataset {
  const rng = new Mulberry32(seed);
  const x = Float64Array.from({ length: n }, () => rng.next());
  const z = Float64Array.from({ length: n }, () => rng.next());
  // Far from the boundary the model grows confident (tiny hessians); near it and on flipped labels it stays
  // unsure (hessians near 0.25): the hessian share of a bin says little about its row count.
  const label = Float64Array.from(x, (v) => ((v > 0.5) !== (rng.next() < 0.03) ? 1 : 0));
  return { rowCount: n, columns: { x, z }, label };
}

describe('GBDT on degenerate data', () => {
  it('when every label is 1, then every leaf value and prediction is finite (no 0/0 from a zero hessian)', async () => {
    const n = 500;
    const x = Float64Array.from({ length: n }, (_, i) => i);
    const { model } = await trainGbdt({ rowCount: n, columns: { x }, label: new Float64Array(n).fill(1) }, { task: 'binary', numIterations: 50, minDataInLeaf: 5 });
    for (const tree of model.trees) for (const value of tree.value) expect(Number.isFinite(value)).toBe(true);
    for (const p of predictGbdt(model, { rowCount: n, columns: { x } })) expect(Number.isFinite(p)).toBe(true);
  });

  it('for random data, labels and parameters (no hessian floor, no L2), every prediction is finite', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 120 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom('binary' as const, 'regression' as const),
        fc.constantFrom('random', 'all-0', 'all-1', 'huge'),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0.01, max: 5, noNaN: true }),
        async (n, seed, task, labels, minDataInLeaf, learningRate) => {
          const rng = new Mulberry32(seed);
          const a = Float64Array.from({ length: n }, () => (rng.next() < 0.2 ? Number.NaN : (rng.next() - 0.5) * 1e6));
          const b = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 3));
          const c = Array.from({ length: n }, () => (rng.next() < 0.3 ? null : ['u', 'v', 'w', 'x', 'y', 'z'][Math.floor(rng.next() * 6)]));
          const label = Float64Array.from({ length: n }, () => {
            if (task === 'binary') return labels === 'all-0' ? 0 : labels === 'all-1' ? 1 : rng.next() < 0.5 ? 1 : 0;
            return labels === 'huge' ? (rng.next() - 0.5) * 1e300 : rng.next() * 10;
          });
          const data: ColumnarDataset = { rowCount: n, columns: { a, b, c }, label };
          const { model } = await trainGbdt(data, {
            task,
            numIterations: 30,
            numLeaves: 7,
            minDataInLeaf,
            minSumHessianInLeaf: 0,
            lambdaL2: 0,
            learningRate,
            minDataPerGroup: 1,
            catSmooth: 1,
          });
          for (const tree of model.trees) for (const value of tree.value) expect(Number.isFinite(value)).toBe(true);
          for (const score of predictGbdtRaw(model, data)) expect(Number.isFinite(score)).toBe(true);
          for (const p of predictGbdt(model, data)) expect(Number.isFinite(p)).toBe(true);
        },
      ),
      { numRuns: 60, seed: 20261202 },
    );
  });

  it('when a binary task is boosted until scores saturate, then every leaf holds at least minDataInLeaf real rows', async () => {
    const data = noisyBinary(3000, 11);
    const features = ['x', 'z'];
    const minDataInLeaf = 40;
    const { model } = await trainGbdt(data, { task: 'binary', features, numIterations: 60, numLeaves: 31, minDataInLeaf, learningRate: 0.5 });
    let smallest = Number.POSITIVE_INFINITY;
    for (const tree of model.trees) {
      const counts = new Map<number, number>();
      for (let r = 0; r < data.rowCount; r++) {
        const leaf = leafOf(tree, features, data, r);
        counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
      }
      for (const count of counts.values()) smallest = Math.min(smallest, count);
    }
    expect(model.trees.length).toBe(60);
    expect(smallest).toBeGreaterThanOrEqual(minDataInLeaf);
  });

  it('when numIterations is 200 and early stopping is off, then all 200 trees are kept even with a validation set', async () => {
    const train = noisyBinary(1500, 3);
    const valid = noisyBinary(500, 4);
    const result = await trainGbdt(train, { task: 'binary', numIterations: 200, learningRate: 0.3 }, { valid });
    expect(result.model.trees).toHaveLength(200);
    expect(result.iterations).toEqual({ requested: 200, trained: 200, kept: 200 });
    // The validation loss bottomed out earlier: that is reported, but not acted on.
    expect(result.bestIteration).toBeLessThan(200);
  });

  it('when earlyStoppingRounds is set, then the model is truncated to the best iteration and both counts are reported', async () => {
    const train = noisyBinary(1500, 3);
    const valid = noisyBinary(500, 4);
    const result = await trainGbdt(train, { task: 'binary', numIterations: 200, learningRate: 0.3, earlyStoppingRounds: 10 }, { valid });
    expect(result.bestIteration).toBeLessThan(200);
    expect(result.model.trees).toHaveLength(result.bestIteration);
    expect(result.iterations).toEqual({ requested: 200, trained: result.bestIteration + 10, kept: result.bestIteration });
  });
});
