import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import type { CategoricalFeature } from '../model.js';
import { predictGbdt, trainGbdt } from './index.js';
import { Mulberry32 } from './prng.js';
import { sortBinsByKey } from './split-finder.js';

/** x = 1..200 with y = 1 above 100; every 5th row has x missing and label `missingLabel`. */
function withMissing(missingLabel: number): ColumnarDataset {
  const n = 1000;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (i % 5 === 0) {
      x[i] = NaN;
      y[i] = missingLabel;
    } else {
      x[i] = (i % 200) + 1;
      y[i] = x[i] > 100 ? 1 : 0;
    }
  }
  return { rowCount: n, columns: { x }, label: y };
}

const oneSplit = { task: 'regression' as const, numIterations: 1, numLeaves: 2, learningRate: 1, minDataInLeaf: 5 };

describe('missing values', () => {
  it('when missing rows look like high values, then the split sends missing right and predicts like high values', async () => {
    const { model } = await trainGbdt(withMissing(1), oneSplit);
    const [tree] = model.trees;
    expect(tree.threshold[0]).toBeGreaterThanOrEqual(100);
    expect(tree.threshold[0]).toBeLessThan(102); // x = 101 never occurs (those rows are the missing ones)
    expect(tree.missingLeft[0]).toBe(false);
    const [missingNull, missingNaN, high] = predictGbdt(model, [{ x: null }, { x: NaN }, { x: 150 }]);
    expect(missingNull).toBe(high);
    expect(missingNaN).toBe(high);
  });

  it('when missing rows look like low values, then the split sends missing left', async () => {
    const { model } = await trainGbdt(withMissing(0), oneSplit);
    const [tree] = model.trees;
    expect(tree.missingLeft[0]).toBe(true);
    const [missing, low, high] = predictGbdt(model, [{}, { x: 3 }, { x: 150 }]);
    expect(missing).toBe(low);
    expect(missing).not.toBe(high);
  });

  it('when only presence matters, then the split separates present from missing values', async () => {
    const n = 400;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? NaN : 7));
    const y = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 5 : -5));
    const { model } = await trainGbdt({ rowCount: n, columns: { x }, label: y }, oneSplit);
    expect(model.trees[0].feature[0]).toBe(0);
    expect([...predictGbdt(model, [{ x: 7 }, { x: null }, { x: 1e9 }])]).toEqual([-5, 5, -5]);
    // As in LightGBM, the positive values' bin starts just above zero (zero and negatives have their own bins,
    // empty here), so the split is x > 1e-35 and an unseen negative value falls on the missing side.
    expect(model.trees[0].threshold[0]).toBe(1e-35);
    expect([...predictGbdt(model, [{ x: -1e9 }])]).toEqual([5]);
  });
});

describe('categorical features', () => {
  const inSet = new Set(['b', 'e', 'h', 'j']);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

  /** Ten categories with different frequencies; only membership in {b, e, h, j} moves the target. */
  function categorySetData(): ColumnarDataset {
    const rng = new Mulberry32(7);
    const city: (string | null)[] = [];
    const noise: number[] = [];
    const y: number[] = [];
    names.forEach((name, k) => {
      for (let i = 0; i < 150 + 40 * k; i++) {
        city.push(name);
        noise.push(rng.next());
        y.push((inSet.has(name) ? 1 : 0) + 0.1 * (rng.next() - 0.5));
      }
    });
    return { rowCount: y.length, columns: { city, noise: Float64Array.from(noise) }, label: Float64Array.from(y) };
  }

  it('when only a set of categories matters, then the first split puts exactly that set on one side', async () => {
    const { model } = await trainGbdt(categorySetData(), { ...oneSplit, features: ['city', 'noise'] });
    const city = model.features[0] as CategoricalFeature;
    expect(city.kind).toBe('categorical');
    const [tree] = model.trees;
    expect(tree.feature[0]).toBe(0);
    const left = new Set(tree.categorySets[0]!.map((code) => city.categories[code]));
    const expected = left.has('b') ? inSet : new Set(names.filter((n) => !inSet.has(n)));
    expect(left).toEqual(expected);
    const p = predictGbdt(model, names.map((c) => ({ city: c, noise: 0.5 })));
    names.forEach((c, i) => expect(p[i]).toBeCloseTo(inSet.has(c) ? 1 : 0, 1));
  });

  it('orders categories by training frequency, so the code of the most frequent category is 0', async () => {
    const { model } = await trainGbdt(categorySetData(), { ...oneSplit, features: ['city'] });
    expect((model.features[0] as CategoricalFeature).categories).toEqual([...names].reverse());
  });

  it('when a category is rarer than minDataPerCategory or unseen, then it is predicted like a missing value', async () => {
    const data = categorySetData();
    const { model } = await trainGbdt(data, { ...oneSplit, features: ['city'], minDataPerCategory: 200 });
    const city = model.features[0] as CategoricalFeature;
    expect(city.categories).not.toContain('a'); // 150 rows
    const [rare, unseen, missing] = predictGbdt(model, [{ city: 'a' }, { city: 'zzz' }, { city: null }]);
    expect(rare).toBe(missing);
    expect(unseen).toBe(missing);
  });

  it('when categories are few (<= maxCatToOnehot), then a split is one category against the rest', async () => {
    const n = 600;
    const c = Array.from({ length: n }, (_, i) => ['x', 'y', 'z'][i % 3]);
    const y = Float64Array.from(c, (v) => (v === 'y' ? 3 : 0));
    const { model } = await trainGbdt({ rowCount: n, columns: { c }, label: y }, oneSplit);
    const feature = model.features[0] as CategoricalFeature;
    expect(model.trees[0].categorySets[0]!.map((code) => feature.categories[code])).toEqual(['y']);
  });

  it('predicts the same from raw rows and from columns', async () => {
    const data = categorySetData();
    const { model } = await trainGbdt(data, { task: 'regression', numIterations: 5, numLeaves: 8, features: ['city', 'noise'] });
    const rows = Array.from({ length: data.rowCount }, (_, r) => ({
      city: (data.columns.city as (string | null)[])[r],
      noise: (data.columns.noise as Float64Array)[r],
    }));
    expect(predictGbdt(model, rows)).toEqual(predictGbdt(model, data));
  });

  it('rejects a raw row whose categorical value is not a string', async () => {
    const { model } = await trainGbdt(categorySetData(), { ...oneSplit, features: ['city'] });
    expect(() => predictGbdt(model, [{ city: 3 }])).toThrow(/city/);
  });
});

describe('the categorical split search\'s sort of bins', () => {
  it('for any keys (ties, signed zeros, infinities) and any ascending bins up to 256, then the order is the stable sort\'s: ascending by key, ties by bin', () => {
    const key = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(0, -0, Infinity, -Infinity), fc.double({ noNaN: true }));
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 256 }), fc.integer(), (keys, seed) => {
        const rng = new Mulberry32(seed);
        const keyOf = Float64Array.from(keys);
        const bins = Int32Array.from(keys.map((_, b) => b).filter(() => rng.next() < 0.8));
        const expected = Array.from(bins).sort((a, b) => (keyOf[a] < keyOf[b] ? -1 : keyOf[b] < keyOf[a] ? 1 : 0));
        const sorted = sortBinsByKey(bins, new Int32Array(keys.length), bins.length, keyOf);
        expect(Array.from(sorted.subarray(0, bins.length))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
