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

  it('when the target has fewer than 3 classes, then the parameters are refused naming numClass', () => {
    expect(() => trainLinear(dataset(1, 50), { task: 'multiclass', numClass: 2 })).toThrow(/numClass/);
  });
});
