import { describe, expect, it } from 'vitest';
import { computeSoftmaxGradients, multiclassInitialScores, multiclassLogLossOfScores } from './multiclass-objective.js';
import { predictGbdt, predictGbdtRaw, trainGbdt } from './index.js';

// Expected values computed independently, outside this code base:
//  - gradients/hessians/loss: Python 3 `math` module, p = softmax(s) (max subtracted), grad = p - onehot(y),
//    hess = K/(K-1)·p(1-p), loss = -log p_y (the formulas of LightGBM's multiclass_objective.hpp).
//  - raw scores: LightGBM 4.6.0 (Python package), objective='multiclass', num_class=3, num_leaves=3,
//    min_data_in_leaf=1, min_data_in_bin=1, learning_rate=0.5, lambda_l2=0, min_sum_hessian_in_leaf=1e-3,
//    deterministic=True, num_threads=1, on the rows below; `booster.predict(x, raw_score=True)`.
//    LightGBM sums gradients in float32, hence the 1e-6 tolerance on its scores.

describe('LightGBM multiclass (softmax) objective', () => {
  it('when scores are given, then gradients are p - y and hessians K/(K-1)·p(1-p), and the loss is -log p_label', () => {
    // Class-major: score[k * rows + row]. Row 0 = (0.5, -1, 2) label 2; row 1 = (0, 0, 0) label 0.
    const score = Float64Array.from([0.5, 0, -1, 0, 2, 0]);
    const label = Float64Array.from([2, 0]);
    const grad = new Float64Array(6);
    const hess = new Float64Array(6);
    const loss = computeSoftmaxGradients(3, score, label, grad, hess);
    const expectedGrad = [0.1752903921400367, -0.6666666666666667, 0.039112573270687456, 0.3333333333333333, -0.21440296541072412, 0.3333333333333333];
    const expectedHess = [0.21684550584514325, 0.33333333333333337, 0.056374169824248845, 0.33333333333333337, 0.2526515007507179, 0.33333333333333337];
    expectedGrad.forEach((g, i) => expect(grad[i]).toBeCloseTo(g, 14));
    expectedHess.forEach((h, i) => expect(hess[i]).toBeCloseTo(h, 14));
    expect(loss).toBeCloseTo((0.24131129665715703 + 1.0986122886681098) / 2, 14);
    expect(multiclassLogLossOfScores(3, score, label)).toBeCloseTo(loss, 14);
  });

  it('when a class is 1/3 of the rows, then its init score is log(1/3); an absent class gets log(1e-15)', () => {
    const init = multiclassInitialScores(Float64Array.from([0, 0, 1, 2, 2, 2]), 4);
    expect(init[0]).toBeCloseTo(Math.log(2 / 6), 15);
    expect(init[1]).toBeCloseTo(Math.log(1 / 6), 15);
    expect(init[2]).toBeCloseTo(Math.log(3 / 6), 15);
    expect(init[3]).toBeCloseTo(Math.log(1e-15), 15);
  });

  const x = Float64Array.from({ length: 12 }, (_, i) => i + 1);
  const y = Float64Array.from([0, 0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 2]);
  const data = { rowCount: 12, columns: { x }, label: y };
  const params = {
    task: 'multiclass' as const, numClass: 3, numLeaves: 3, minDataInLeaf: 1, minDataInBin: 1, learningRate: 0.5, lambdaL2: 0, minSumHessianInLeaf: 1e-3,
  };

  it('when trained one iteration on 12 rows, then the raw scores are LightGBM 4.6.0\'s', async () => {
    const { model } = await trainGbdt(data, { ...params, numIterations: 1 });
    expect(model.trees).toHaveLength(3);
    const raw = predictGbdtRaw(model, data);
    const a = -0.098612288668;
    const b = -0.848612288668;
    const c = -1.598612288668;
    const lightgbm = [
      [a, c, c], [a, c, c], [a, c, c], [b, -0.598612288668, c], [b, -0.598612288668, c], [c, -0.598612288668, c],
      [c, -0.598612288668, c], [c, -0.598612288668, b], [c, -0.598612288668, b], [c, c, a], [c, c, a], [c, c, a],
    ];
    lightgbm.flat().forEach((v, i) => expect(raw[i]).toBeCloseTo(v, 6));
  });

  it('when trained four iterations on 14 rows, then the raw scores are LightGBM\'s and probabilities sum to 1', async () => {
    // 14 rows (the 12 above plus x=13 → 2, x=14 → 1), chosen so that no two candidate splits tie in gain: on an exact
    // tie LightGBM's choice follows its float32 sums (the labels …, 1, 2 tie at x <= 9.5 vs x <= 12.5 in the first
    // iteration). Reference: LightGBM 4.7.0, same parameters as above (bench/.venv), `predict(x, raw_score=True)`.
    const data14 = { rowCount: 14, columns: { x: Float64Array.from({ length: 14 }, (_, i) => i + 1) }, label: Float64Array.from([...y, 2, 1]) };
    const { model } = await trainGbdt(data14, { ...params, numIterations: 4 });
    expect(model.trees).toHaveLength(12);
    const raw = predictGbdtRaw(model, data14);
    const lightgbm = [
      [0.668161958798, -1.76725660601, -2.45822013644],
      [0.668161958798, -1.76725660601, -2.45822013644],
      [0.668161958798, -1.76725660601, -2.45822013644],
      [-0.57829847333, 0.275319547918, -2.45822013644],
      [0.653252269392, -0.353466388765, -2.45822013644],
      [-2.85672081351, -0.353466388765, -2.45822013644],
      [-2.85672081351, -0.353466388765, -2.45822013644],
      [-2.85672081351, -0.353466388765, 0.504975214027],
      [-2.85672081351, -0.353466388765, -0.736891279008],
      [-2.85672081351, -2.02277700556, 0.361341855243],
      [-2.85672081351, -2.02277700556, 0.361341855243],
      [-2.85672081351, -2.02277700556, 0.361341855243],
      [-2.85672081351, -2.02277700556, 0.361341855243],
      [-2.85672081351, 0.0506809303065, -1.69993632527],
    ];
    lightgbm.flat().forEach((v, i) => expect(Math.abs(raw[i] - v)).toBeLessThan(1e-6));
    const p = predictGbdt(model, data14);
    for (let r = 0; r < 14; r++) expect(p[3 * r] + p[3 * r + 1] + p[3 * r + 2]).toBeCloseTo(1, 12);
  });
});
