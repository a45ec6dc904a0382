import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { predictGbdt, predictGbdtRaw, resolveGbdtParams, trainGbdt } from './index.js';
import { TrainerParamError } from '../trainer-param-error.js';

const tiny = (label: number[], x: number[]): ColumnarDataset => ({
  rowCount: x.length,
  columns: { x: Float64Array.from(x) },
  label: Float64Array.from(label),
});

describe('trainGbdt on hand-computable data', () => {
  it('when regressing [1,1,3,3] on x=[1,2,3,4], then the first split is x <= 2.5 with gain G_L²/H_L + G_R²/H_R = 4 and leaves ∓1', async () => {
    // base score = mean = 2, gradients s - y = [1, 1, -1, -1], hessians 1.
    const { model, importance } = await trainGbdt(tiny([1, 1, 3, 3], [1, 2, 3, 4]), {
      task: 'regression', numIterations: 1, numLeaves: 2, learningRate: 1, minDataInBin: 1, minDataInLeaf: 1,
    });
    expect(model.baseScore).toBe(2);
    const [tree] = model.trees;
    expect(tree.feature[0]).toBe(0);
    expect(tree.threshold[0]).toBe(2.5);
    expect(tree.gain[0]).toBeCloseTo(4, 12);
    expect(tree.value[tree.left[0]]).toBeCloseTo(-1, 12);
    expect(tree.value[tree.right[0]]).toBeCloseTo(1, 12);
    expect(importance.x).toBeCloseTo(4, 12);
    expect([...predictGbdt(model, [{ x: 1 }, { x: 2.5 }, { x: 2.6 }, { x: 4 }])]).toEqual([1, 1, 3, 3]);
  });

  it('when λ = 1 and learning rate 0.5, then gain = 2·2²/(2+1) and leaf = −G/(H+λ)·0.5', async () => {
    const { model } = await trainGbdt(tiny([1, 1, 3, 3], [1, 2, 3, 4]), {
      task: 'regression', numIterations: 1, numLeaves: 2, learningRate: 0.5, minDataInBin: 1, lambdaL2: 1, minDataInLeaf: 1,
    });
    const [tree] = model.trees;
    expect(tree.gain[0]).toBeCloseTo(8 / 3, 12);
    expect(tree.value[tree.left[0]]).toBeCloseTo((-2 / 3) * 0.5, 12);
    expect(tree.value[tree.right[0]]).toBeCloseTo((2 / 3) * 0.5, 12);
  });

  it('when classifying y=[0,1,1,1] on x=[0,0,1,1], then base = log 3 and the split uses p(1−p) hessians', async () => {
    // p = 0.75 everywhere: g = p − y = [0.75, −0.25, −0.25, −0.25], h = 0.1875.
    // left (x=0): G = 0.5, H = 0.375; right: G = −0.5, H = 0.375; gain = 2·0.25/0.375.
    const { model } = await trainGbdt(tiny([0, 1, 1, 1], [0, 0, 1, 1]), {
      task: 'binary', numIterations: 1, numLeaves: 2, learningRate: 0.1, minDataInBin: 1, minDataInLeaf: 1,
    });
    expect(model.baseScore).toBeCloseTo(Math.log(3), 12);
    const [tree] = model.trees;
    // Zero has a bin of its own, (−1e-35, 1e-35], as in LightGBM: the split is "x is zero" vs "x is positive".
    expect(tree.threshold[0]).toBe(1e-35);
    expect(tree.gain[0]).toBeCloseTo(0.5 / 0.375, 12);
    expect(tree.value[tree.left[0]]).toBeCloseTo((-0.5 / 0.375) * 0.1, 12);
    expect(tree.value[tree.right[0]]).toBeCloseTo((0.5 / 0.375) * 0.1, 12);
    const raw = predictGbdtRaw(model, [{ x: 0 }, { x: 1 }]);
    expect(raw[0]).toBeCloseTo(Math.log(3) - (0.5 / 0.375) * 0.1, 12);
    expect(predictGbdt(model, [{ x: 1 }])[0]).toBeCloseTo(1 / (1 + Math.exp(-raw[1])), 12);
  });

  it('when a split would leave fewer than minDataInLeaf rows on a side, then it is not taken', async () => {
    const { model } = await trainGbdt(tiny([0, 0, 0, 10], [1, 2, 3, 4]), {
      task: 'regression', numIterations: 1, numLeaves: 2, learningRate: 1, minDataInBin: 1, minDataInLeaf: 2,
    });
    expect(model.trees[0].threshold[0]).toBe(2.5);
  });

  it('when no split gains more than minGainToSplit, then the tree is a single leaf', async () => {
    const { model } = await trainGbdt(tiny([1, 1, 3, 3], [1, 2, 3, 4]), {
      task: 'regression', numIterations: 1, numLeaves: 4, learningRate: 1, minDataInBin: 1, minDataInLeaf: 1, minGainToSplit: 4,
    });
    expect(model.trees[0].feature).toEqual([-1]);
  });

  it('rejects parameters it cannot honour, naming them', () => {
    expect(() => resolveGbdtParams({ task: 'binary', numLeaves: 1 })).toThrow(/numLeaves/);
    expect(() => resolveGbdtParams({ task: 'binary', maxBin: 256 })).toThrow(/maxBin/);
  });

  it('when a count is beyond what a tree or a run can hold (1e308 is an integer), then it is refused naming it, as the spec\'s fault', () => {
    // numLeaves 1e308 passed here and failed allocating the tree: a plain RangeError, which the activity retried without end.
    for (const [name, value] of [['numLeaves', 1e308], ['numLeaves', 131_073], ['numIterations', 1e308], ['minDataInLeaf', 2 ** 31], ['learningRate', '0.1']] as const) {
      const thrown = (() => {
        try {
          resolveGbdtParams({ task: 'binary', [name]: value });
        } catch (error) {
          return error;
        }
      })();
      expect(thrown, `${name}=${value}`).toBeInstanceOf(TrainerParamError);
      expect((thrown as TrainerParamError).param).toBe(name);
    }
    expect(resolveGbdtParams({ task: 'binary', numLeaves: 131_072, numIterations: 100_000 }).numLeaves).toBe(131_072);
  });

  it('rejects binary labels other than 0/1', async () => {
    await expect(trainGbdt(tiny([0, 2], [1, 2]), { task: 'binary' })).rejects.toThrow(/0 or 1/);
  });
});
