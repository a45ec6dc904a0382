import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import type { LinearModel } from '../model.js';
import { predictLinear, trainLinear } from './index.js';
import { seededRandom } from '../gbdt/prng.js';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const effects: Record<string, number> = { a: 0, b: 1, c: -1 };

/** x1 ~ N(2, 3²) with 5% missing, x2 ~ U(-1, 1), colour ∈ {a, b, c} (a most frequent) with 3% missing. */
function synthetic(
  seed: number, n: number, score: (x1: number, x2: number, colour: string | null) => number, binary: boolean, missingX1 = 0.05,
): ColumnarDataset {
  const rand = seededRandom(seed);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const colour: (string | null)[] = [];
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = rand() < missingX1 ? Number.NaN : 2 + 3 * gaussian(rand);
    x2[i] = rand() * 2 - 1;
    const u = rand();
    colour.push(rand() < 0.03 ? null : u < 0.5 ? 'a' : u < 0.8 ? 'b' : 'c');
    const z = score(x1[i], x2[i], colour[i]);
    label[i] = binary ? (rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : z;
  }
  return { rowCount: n, columns: { x1, x2, colour }, label };
}

function weightOf(model: LinearModel, feature: string, category?: string): number {
  const numericIndex = model.numeric.findIndex((s) => s.name === feature);
  if (numericIndex >= 0) return model.weights[numericIndex] / model.numeric[numericIndex].std; // per raw unit
  let offset = model.numeric.length;
  for (const spec of model.categorical) {
    if (spec.name === feature) return model.weights[offset + spec.categories.indexOf(category!)];
    offset += spec.categories.length;
  }
  throw new Error(`no weight for ${feature}`);
}

/** Largest |∂/∂θ (mean log loss + l2/2·||w||²)| over the intercept and every encoded column of the x1, x2, colour data. */
function worstLogisticGradient(model: LinearModel, data: ColumnarDataset, l2: number): number {
  const p = predictLinear(model, data);
  const y = data.label!;
  const n = data.rowCount;
  const x1 = data.columns.x1 as Float64Array;
  const x2 = data.columns.x2 as Float64Array;
  const colour = data.columns.colour as (string | null)[];
  const spec1 = model.numeric.find((s) => s.name === 'x1')!;
  const spec2 = model.numeric.find((s) => s.name === 'x2')!;
  const gradient = { intercept: 0, x1: 0, x2: 0, a: 0, b: 0, c: 0 };
  for (let i = 0; i < n; i++) {
    const r = (p[i] - y[i]) / n;
    gradient.intercept += r;
    gradient.x1 += (r * ((Number.isNaN(x1[i]) ? spec1.impute : x1[i]) - spec1.mean)) / spec1.std;
    gradient.x2 += (r * (x2[i] - spec2.mean)) / spec2.std;
    if (colour[i] !== null) gradient[colour[i] as 'a' | 'b' | 'c'] += r;
  }
  const w = (name: string): number => model.weights[model.numeric.findIndex((s) => s.name === name)];
  return Math.max(
    Math.abs(gradient.intercept),
    Math.abs(gradient.x1 + l2 * w('x1')),
    Math.abs(gradient.x2 + l2 * w('x2')),
    ...(['a', 'b', 'c'] as const).map((c) => Math.abs(gradient[c] + l2 * weightOf(model, 'colour', c))),
  );
}

describe('trainLinear (logistic)', () => {
  // True log-odds: -0.5 + 0.6·x1 - 2·x2 + colour effect; missing x1 contributes its mean, 2 (= +1.2).
  const truth = (x1: number, x2: number, colour: string | null): number =>
    -0.5 + 0.6 * (Number.isNaN(x1) ? 2 : x1) - 2 * x2 + (colour === null ? 0 : effects[colour]);
  const data = synthetic(11, 60_000, truth, true);
  const result = trainLinear(data, { task: 'binary', l2: 1e-6 });
  const model = result.model as LinearModel;

  it('when data follow a logistic model, then the coefficients are recovered', () => {
    expect(weightOf(model, 'x1')).toBeCloseTo(0.6, 1);
    expect(weightOf(model, 'x2')).toBeCloseTo(-2, 1);
    // Category effects are identified relative to each other (the intercept absorbs a common shift).
    expect(weightOf(model, 'colour', 'b') - weightOf(model, 'colour', 'a')).toBeCloseTo(1, 1);
    expect(weightOf(model, 'colour', 'c') - weightOf(model, 'colour', 'a')).toBeCloseTo(-1, 1);
  });

  it('when converged, then the gradient of the penalised log loss is zero in every encoded column', () => {
    expect(worstLogisticGradient(model, data, 1e-6)).toBeLessThan(1e-9);
  });

  it('when there are enough rows to warm-start on a subsample, then the full-data optimum is still reached', () => {
    const big = synthetic(13, 220_000, truth, true);
    const warm = trainLinear(big, { task: 'binary', l2: 1e-6 });
    expect(worstLogisticGradient(warm.model as LinearModel, big, 1e-6)).toBeLessThan(1e-9);
    expect(weightOf(warm.model as LinearModel, 'x2')).toBeCloseTo(-2, 1);
  });

  it('when trained, then the encoding holds training means, stds and categories most frequent first', () => {
    const x1 = Array.from(data.columns.x1 as Float64Array).filter((v) => !Number.isNaN(v));
    const mean = x1.reduce((s, v) => s + v, 0) / x1.length;
    const std = Math.sqrt(x1.reduce((s, v) => s + (v - mean) ** 2, 0) / x1.length);
    const spec = model.numeric.find((s) => s.name === 'x1')!;
    expect(spec.mean).toBeCloseTo(mean, 10);
    expect(spec.impute).toBeCloseTo(mean, 10);
    expect(spec.std).toBeCloseTo(std, 10);
    expect(model.categorical).toEqual([{ name: 'colour', categories: ['a', 'b', 'c'] }]);
    // Default feature order: column names sorted.
    expect(model.features.map((f) => f.name)).toEqual(['colour', 'x1', 'x2']);
    expect(model.features[0]).toEqual({ name: 'colour', kind: 'categorical', categories: ['a', 'b', 'c'] });
  });

  it('when trained, then the curve is log loss falling per Newton iteration and importance ranks x2 first', () => {
    expect(result.metricName).toBe('logloss');
    expect(result.curve[0].iteration).toBe(0);
    for (let i = 1; i < result.curve.length; i++) {
      expect(result.curve[i].trainMetric).toBeLessThanOrEqual(result.curve[i - 1].trainMetric + 1e-12);
    }
    expect(result.bestIteration).toBe(result.curve[result.curve.length - 1].iteration);
    expect(result.curve.length).toBeLessThan(12);
    // |w|·std: x2 ≈ 2 · 0.577, x1 ≈ 0.6 · 3 · sqrt(0.95), colour ≈ Σ |w_c| · sd of its indicator.
    const ranked = Object.entries(result.importance).sort((a, b) => b[1] - a[1]).map(([name]) => name);
    expect(ranked).toEqual(['x1', 'x2', 'colour']);
    expect(result.importance.x1).toBeCloseTo(0.6 * 3 * Math.sqrt(0.95), 1);
  });

  it('when trained twice on the same data, then the models are identical', () => {
    expect(trainLinear(data, { task: 'binary', l2: 1e-6 }).model).toEqual(model);
  });

  it('when a validation set is given, then every curve point has a validation log loss', () => {
    const valid = synthetic(12, 5_000, truth, true);
    const points: number[] = [];
    const withValid = trainLinear(data, { task: 'binary' }, { valid, onIteration: (p) => points.push(p.iteration) });
    expect(withValid.curve.every((p) => typeof p.validMetric === 'number' && p.validMetric > 0)).toBe(true);
    expect(points).toEqual(withValid.curve.map((p) => p.iteration));
    expect(withValid.curve.at(-1)!.validMetric!).toBeLessThan(withValid.curve[0].validMetric!);
  });

  it('rejects labels other than 0 and 1', () => {
    const bad = { ...data, label: Float64Array.from(data.label!, (y, i) => (i === 7 ? 2 : y)) };
    expect(() => trainLinear(bad, { task: 'binary' })).toThrow(/row 7/);
  });
});

describe('trainLinear (ridge regression)', () => {
  const truth = (x1: number, x2: number, colour: string | null): number =>
    3 + 0.5 * (Number.isNaN(x1) ? 2 : x1) - 4 * x2 + (colour === null ? 0 : effects[colour]);

  it('when targets are an exact linear function, then predictions reproduce them', () => {
    const data = synthetic(21, 20_000, truth, false, 0);
    const result = trainLinear(data, { task: 'regression', l2: 1e-12 });
    const model = result.model as LinearModel;
    expect(result.metricName).toBe('rmse');
    expect(weightOf(model, 'x1')).toBeCloseTo(0.5, 8);
    expect(weightOf(model, 'x2')).toBeCloseTo(-4, 8);
    expect(weightOf(model, 'colour', 'b') - weightOf(model, 'colour', 'a')).toBeCloseTo(1, 8);
    const yhat = predictLinear(model, data);
    for (let i = 0; i < data.rowCount; i++) expect(yhat[i]).toBeCloseTo(data.label![i], 7);
    expect(result.curve.at(-1)!.trainMetric).toBeLessThan(1e-7);
  });

  it('when the penalty is large, then the weight matches the closed-form ridge solution', () => {
    // One standardised feature s (mean 0, variance 1): intercept = mean(y), w = mean(s·y) / (1 + l2).
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const y = Float64Array.from([2, 1, 4, 3, 7, 5]);
    const l2 = 0.5;
    const model = trainLinear({ rowCount: 6, columns: { x }, label: y }, { task: 'regression', l2 }).model as LinearModel;
    const mean = 3.5;
    const std = Math.sqrt(17.5 / 6);
    const s = Array.from(x, (v) => (v - mean) / std);
    const expectedW = s.reduce((acc, v, i) => acc + v * y[i], 0) / 6 / (1 + l2);
    expect(model.intercept).toBeCloseTo(22 / 6, 12);
    expect(model.weights[0]).toBeCloseTo(expectedW, 12);
    expect(model.numeric[0]).toEqual({ name: 'x', mean, std: expect.closeTo(std, 12), impute: mean });
  });
});

describe('trainLinear with many one-hot columns', () => {
  it('when there are more parameters than Cholesky handles, then conjugate gradients reach the same optimum', () => {
    // 3 categoricals × 250 categories = 750 one-hot columns (above CHOLESKY_MAX_PARAMETERS), exact additive effects.
    const rand = seededRandom(31);
    const n = 30_000;
    const effect = (f: number, c: number): number => Math.sin(c * 0.37 + f) * 2;
    const columns: Record<string, (string | null)[]> = { f0: [], f1: [], f2: [] };
    const label = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      label[i] = 1.5;
      for (let f = 0; f < 3; f++) {
        const c = Math.floor(rand() * 250);
        columns[`f${f}`].push(`v${c}`);
        label[i] += effect(f, c);
      }
    }
    const data: ColumnarDataset = { rowCount: n, columns, label };
    const result = trainLinear(data, { task: 'regression', l2: 1e-6, maxCategoriesPerFeature: 250 });
    expect(result.model.kind === 'linear' && result.model.weights.length).toBe(750);
    const model = result.model as LinearModel;
    const yhat = predictLinear(model, data);
    // Optimality: the gradient of mean squared error / 2 + l2/2·||w||² vanishes in every one-hot column.
    let offset = 0;
    let worstGradient = 0;
    for (const spec of model.categorical) {
      const residualSums = new Map<string, number>();
      const column = data.columns[spec.name] as string[];
      for (let i = 0; i < n; i++) residualSums.set(column[i], (residualSums.get(column[i]) ?? 0) + (yhat[i] - label[i]) / n);
      spec.categories.forEach((category, code) => {
        worstGradient = Math.max(worstGradient, Math.abs(residualSums.get(category)! + 1e-6 * model.weights[offset + code]));
      });
      offset += spec.categories.length;
    }
    expect(worstGradient).toBeLessThan(1e-9);
    // And with so little penalty the exact additive effects are nearly reproduced.
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(yhat[i] - label[i]));
    expect(worst).toBeLessThan(1e-2);
  });
});

describe('linear encoding', () => {
  it('when a categorical has rare and too many categories, then the most frequent are kept up to the cap and rare ones dropped', () => {
    const city = [...Array(5).fill('oslo'), ...Array(4).fill('lima'), ...Array(3).fill('rome'), 'nice', 'bern', null] as (string | null)[];
    const n = city.length;
    const data: ColumnarDataset = { rowCount: n, columns: { city }, label: Float64Array.from({ length: n }, (_, i) => i % 2) };
    const capped = trainLinear(data, { task: 'binary', maxCategoriesPerFeature: 2 }).model as LinearModel;
    expect(capped.categorical[0].categories).toEqual(['oslo', 'lima']);
    const pruned = trainLinear(data, { task: 'binary', minDataPerCategory: 2 }).model as LinearModel;
    expect(pruned.categorical[0].categories).toEqual(['oslo', 'lima', 'rome']);
    expect(pruned.weights).toHaveLength(3);
  });

  it('when a numeric column is constant, then its std is 1 and it contributes nothing', () => {
    const data: ColumnarDataset = {
      rowCount: 4,
      columns: { k: Float64Array.from([5, 5, 5, Number.NaN]), x: Float64Array.from([0, 1, 2, 3]) },
      label: Float64Array.from([1, 3, 5, 7]),
    };
    const model = trainLinear(data, { task: 'regression', features: ['x', 'k'] }).model as LinearModel;
    expect(model.features.map((f) => f.name)).toEqual(['x', 'k']);
    expect(model.numeric[1]).toEqual({ name: 'k', mean: 5, std: 1, impute: 5 });
    expect(predictLinear(model, [{ x: 1, k: 5 }])[0]).toBeCloseTo(predictLinear(model, [{ x: 1, k: null }])[0], 12);
  });

  it('rejects a numeric column with an infinite value, naming it', () => {
    const data: ColumnarDataset = { rowCount: 2, columns: { x: Float64Array.from([1, Infinity]) }, label: Float64Array.from([0, 1]) };
    expect(() => trainLinear(data, { task: 'binary' })).toThrow(/"x"/);
  });

  it('rejects a requested feature that is not a column', () => {
    const data: ColumnarDataset = { rowCount: 2, columns: { x: Float64Array.from([1, 2]) }, label: Float64Array.from([0, 1]) };
    expect(() => trainLinear(data, { task: 'binary', features: ['nope'] })).toThrow(/"nope"/);
  });
});

describe('predictLinear', () => {
  const model: LinearModel = {
    kind: 'linear', task: 'binary',
    features: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical', categories: ['u', 'v'] }],
    numeric: [{ name: 'x', mean: 1, std: 2, impute: 3 }],
    categorical: [{ name: 'c', categories: ['u', 'v'] }],
    weights: [2, 0.5, -1],
    intercept: 0.25,
  };

  it('when a row is computed by hand, then the probability matches', () => {
    // x = 4 → (4 - 1) / 2 · 2 = 3; c = v → -1; + 0.25 → 2.25.
    expect(predictLinear(model, [{ x: 4, c: 'v' }])[0]).toBeCloseTo(1 / (1 + Math.exp(-2.25)), 14);
    // missing x → impute 3 → 2; unseen c → 0; + 0.25.
    expect(predictLinear(model, [{ x: null, c: 'w' }])[0]).toBeCloseTo(1 / (1 + Math.exp(-2.25)), 14);
  });

  it('rejects a row whose value has the wrong type, naming the feature', () => {
    expect(() => predictLinear(model, [{ x: 'four', c: 'v' }])).toThrow(/"x"/);
    expect(() => predictLinear(model, [{ x: 1, c: 7 }])).toThrow(/"c"/);
  });
});
