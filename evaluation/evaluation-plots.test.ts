import { describe, expect, it } from 'vitest';
import { rocAuc } from '../ml/metrics/index.js';
import type { GbdtModel, LinearModel } from '../ml/model.js';
import { evaluationPlots, featureImportance, MAX_CURVE_POINTS, rocCurve, thin } from './evaluation-plots.js';

/** Trapezoid area under the stored points: with every point kept it is the AUC. */
function area(points: { fpr: number; tpr: number }[]): number {
  let total = 0;
  for (let i = 1; i < points.length; i++) total += ((points[i]!.fpr - points[i - 1]!.fpr) * (points[i]!.tpr + points[i - 1]!.tpr)) / 2;
  return total;
}

describe('rocCurve', () => {
  it('gives the hand-computed points of a small example, ties moving both rates at once', () => {
    // scores 0.9 (pos), 0.8 (neg), 0.8 (pos), 0.3 (neg)
    const points = rocCurve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.3]);
    expect(points.map(({ fpr, tpr }) => [fpr, tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
    expect(area(points)).toBeCloseTo(rocAuc([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.3]), 12);
  });

  it('keeps at most 200 points, from (0,0) to (1,1), whatever the holdout size', () => {
    const n = 5000;
    const labels = Float64Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const scores = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n + (labels[i]! ? 0.2 : 0));
    const points = rocCurve(labels, scores);
    expect(points.length).toBe(MAX_CURVE_POINTS);
    expect(points[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(points.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    // Thinning keeps the curve's shape: its area stays within a hundredth of the AUC.
    expect(Math.abs(area(points) - rocAuc(labels, scores))).toBeLessThan(0.01);
  });

  it('has no curve when the holdout holds one class only', () => {
    expect(rocCurve([1, 1, 1], [0.2, 0.5, 0.9])).toEqual([]);
  });
});

describe('thin', () => {
  it('keeps first and last and returns short lists unchanged', () => {
    expect(thin([1, 2, 3], 5)).toEqual([1, 2, 3]);
    const kept = thin(Array.from({ length: 1000 }, (_, i) => i), 10);
    expect(kept).toHaveLength(10);
    expect(kept[0]).toBe(0);
    expect(kept.at(-1)).toBe(999);
  });
});

describe('featureImportance', () => {
  it("sums a GBDT's split gains per feature, largest first", () => {
    const model: GbdtModel = {
      kind: 'gbdt',
      task: 'binary',
      features: [{ name: 'a', kind: 'numeric' }, { name: 'b', kind: 'numeric' }],
      baseScore: 0,
      trees: [
        { feature: [1, -1, -1], threshold: [0, 0, 0], categorySets: [null, null, null], missingLeft: [true, true, true], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, -1], gain: [5, 0, 0] },
        { feature: [0, -1, -1], threshold: [0, 0, 0], categorySets: [null, null, null], missingLeft: [true, true, true], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, -1], gain: [2, 0, 0] },
        { feature: [1, -1, -1], threshold: [0, 0, 0], categorySets: [null, null, null], missingLeft: [true, true, true], left: [1, -1, -1], right: [2, -1, -1], value: [0, 1, -1], gain: [1, 0, 0] },
      ],
    };
    expect(featureImportance(model)).toEqual([
      { feature: 'b', value: 6, basis: 'split gain' },
      { feature: 'a', value: 2, basis: 'split gain' },
    ]);
  });

  it("takes a linear model's |standardised weight|, a categorical feature by its strongest category", () => {
    const model: LinearModel = {
      kind: 'linear',
      task: 'regression',
      features: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical', categories: ['p', 'q'] }],
      numeric: [{ name: 'x', mean: 0, std: 1, impute: 0 }],
      categorical: [{ name: 'c', categories: ['p', 'q'] }],
      weights: [-0.5, 0.2, -1.5],
      intercept: 0,
    };
    expect(featureImportance(model)).toEqual([
      { feature: 'c', value: 1.5, basis: 'standardised weight' },
      { feature: 'x', value: 0.5, basis: 'standardised weight' },
    ]);
  });
});

describe('evaluationPlots', () => {
  const linear: LinearModel = {
    kind: 'linear',
    task: 'regression',
    features: [{ name: 'x', kind: 'numeric' }],
    numeric: [{ name: 'x', mean: 0, std: 1, impute: 0 }],
    categorical: [],
    weights: [1],
    intercept: 0,
  };

  it('stores a bounded sample of actual and predicted values for regression', () => {
    const labels = Float64Array.from({ length: 1000 }, (_, i) => i);
    const predictions = Float64Array.from(labels, (y) => y + 1);
    const plots = evaluationPlots({ task: 'regression', labels, candidatePredictions: predictions, championPredictions: null, model: linear });
    expect(plots.regression!.sample).toHaveLength(MAX_CURVE_POINTS);
    expect(plots.regression!.holdoutRows).toBe(1000);
    expect(plots.regression!.sample.every((p) => p.predicted - p.actual === 1)).toBe(true);
    expect(plots.roc).toBeUndefined();
  });

  it("stores the champion's curves beside the candidate's for a binary model", () => {
    const labels = Float64Array.from([0, 1, 0, 1, 1, 0]);
    const candidate = Float64Array.from([0.1, 0.9, 0.2, 0.7, 0.6, 0.4]);
    const champion = Float64Array.from([0.3, 0.6, 0.5, 0.4, 0.7, 0.2]);
    const plots = evaluationPlots({ task: 'binary', labels, candidatePredictions: candidate, championPredictions: champion, model: { ...linear, task: 'binary' } });
    expect(plots.roc!.candidate.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    expect(plots.roc!.champion).not.toBeNull();
    expect(plots.calibration!.champion).toHaveLength(10);
    expect(plots.confusion).toEqual({ truePositives: 3, falsePositives: 0, trueNegatives: 3, falseNegatives: 0 });
  });
});
