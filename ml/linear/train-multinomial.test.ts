import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { seededRandom } from '../gbdt/prng.js';
import type { LinearModel } from '../model.js';
import { predictLinear, trainLinear } from './index.js';

/** Three classes from a numeric and a categorical, drawn from a known softmax model. */
function dataset(seed: number, n: number): ColumnarDataset {
  const rand = seededRandom(seed);
  const x = new Float64Array(n);
  const colour: (string | null)[] = [];
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rand() < 0.05 ? Number.NaN : rand() * 4 - 2;
    const c = rand();
    colour.push(c < 0.05 ? null : c < 0.4 ? 'red' : c < 0.7 ? 'green' : 'blue');
    const xv = Number.isNaN(x[i]) ? 0 : x[i];
    const z = [1.5 * xv, colour[i] === 'green' ? 1 : 0, -1.5 * xv + (colour[i] === 'blue' ? 0.8 : 0)];
    const e = z.map(Math.exp);
    let u = rand() * (e[0] + e[1] + e[2]);
    let k = 0;
    while (k < 2 && u > e[k]) u -= e[k++];
    label[i] = k;
  }
  return { rowCount: n, columns: { x, colour }, label };
}

describe('multinomial logistic regression', () => {
  it('when trained, then the gradient of the full multinomial objective vanishes (the optimum, not just a good fit)', () => {
    const data = dataset(5, 3000);
    const l2 = 1e-3;
    const { model, metricName } = trainLinear(data, { task: 'multiclass', numClass: 3, l2, tolerance: 1e-12, maxIterations: 200 });
    expect(metricName).toBe('multi_logloss');
    const m = model as LinearModel;
    expect(m.multiclass!.weights).toHaveLength(3);
    // The gradient computed directly from the definition, independently of the block-Newton solver:
    // ∂/∂w_kj = mean_i x_ij (p_ik - y_ik) + l2 w_kj, ∂/∂b_k = mean_i (p_ik - y_ik), with x the encoded columns.
    const p = predictLinear(m, data);
    const n = data.rowCount;
    const xs = data.columns.x as Float64Array;
    const colours = data.columns.colour as (string | null)[];
    const spec = m.numeric[0];
    const categories = m.categorical[0].categories;
    for (let k = 0; k < 3; k++) {
      const g = new Float64Array(1 + categories.length);
      let gIntercept = 0;
      for (let i = 0; i < n; i++) {
        const r = p[i * 3 + k] - (data.label![i] === k ? 1 : 0);
        g[0] += (r * ((Number.isNaN(xs[i]) ? spec.impute : xs[i]) - spec.mean)) / spec.std;
        const c = colours[i] === null ? -1 : categories.indexOf(colours[i]!);
        if (c >= 0) g[1 + c] += r;
        gIntercept += r;
      }
      const weights = m.multiclass!.weights[k];
      g.forEach((v, j) => expect(Math.abs(v / n + l2 * weights[j])).toBeLessThan(1e-6));
      expect(Math.abs(gIntercept / n)).toBeLessThan(1e-6);
    }
    // And the fit recovers the generating model's direction: class 0 rises with x, class 2 falls.
    const xWeights = m.multiclass!.weights.map((w) => w[0]);
    expect(xWeights[0]).toBeGreaterThan(xWeights[1]);
    expect(xWeights[2]).toBeLessThan(xWeights[1]);
  });

  it('when K × P is too large for full Newton, then block-coordinate sweeps still reach the optimum', () => {
    // 4 classes × (1 numeric + 240 categories + intercept) = 968 parameters > MULTINOMIAL_NEWTON_MAX_PARAMETERS.
    const rand = seededRandom(9);
    const n = 2000;
    const x = Float64Array.from({ length: n }, () => rand() * 2 - 1);
    const shop = Array.from({ length: n }, () => `s${Math.floor(rand() * 240)}`);
    const label = Float64Array.from(x, (v, i) => {
      const z = [2 * v, 0, -2 * v, Number(shop[i].slice(1)) % 3 === 0 ? 1 : -1].map(Math.exp);
      let u = rand() * z.reduce((a, b) => a + b, 0);
      let k = 0;
      while (k < 3 && u > z[k]) u -= z[k++];
      return k;
    });
    const data: ColumnarDataset = { rowCount: n, columns: { x, shop }, label };
    const l2 = 1e-2;
    const { model, curve } = trainLinear(data, { task: 'multiclass', numClass: 4, l2, maxIterations: 200, tolerance: 1e-12, maxCategoriesPerFeature: 300 });
    const m = model as LinearModel;
    expect(m.categorical[0].categories.length).toBe(240);
    // The sweeps moved well away from the intercept-only start.
    expect(curve.at(-1)!.trainMetric).toBeLessThan(curve[0].trainMetric);
    const p = predictLinear(m, data);
    const spec = m.numeric[0];
    for (let k = 0; k < 4; k++) {
      let gx = 0;
      let gb = 0;
      for (let i = 0; i < n; i++) {
        const r = p[i * 4 + k] - (label[i] === k ? 1 : 0);
        gx += (r * (x[i] - spec.mean)) / spec.std;
        gb += r;
      }
      expect(Math.abs(gx / n + l2 * m.multiclass!.weights[k][0])).toBeLessThan(1e-5);
      expect(Math.abs(gb / n)).toBeLessThan(1e-5);
    }
  });

  it('when the target has fewer than 3 classes, then the parameters are refused naming numClass', () => {
    expect(() => trainLinear(dataset(1, 50), { task: 'multiclass', numClass: 2 })).toThrow(/numClass/);
  });
});
