// Scores raw rows or columns with a LinearModel exactly as model.ts specifies (the ONNX graph's reference).
import type { ColumnarDataset } from '../dataset.js';
import type { LinearModel, RawRow } from '../model.js';
import { softmaxRows } from '../softmax.js';

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

type Input = readonly RawRow[] | Pick<ColumnarDataset, 'rowCount' | 'columns'>;

function valueGetter(input: Input, name: string): (row: number) => unknown {
  if (Array.isArray(input)) return (row) => (input as readonly RawRow[])[row][name];
  const column = (input as ColumnarDataset).columns[name];
  if (column === undefined) throw new RangeError(`feature "${name}" is missing from the input columns`);
  return (row) => column[row];
}

/** Raw scores intercept + w·encoded(x): log-odds for binary models, the prediction for regression. */
export function linearRawScores(model: LinearModel, input: Input): Float64Array {
  const n = Array.isArray(input) ? input.length : (input as ColumnarDataset).rowCount;
  const scores = new Float64Array(n).fill(model.intercept);
  model.numeric.forEach((spec, j) => {
    const get = valueGetter(input, spec.name);
    const w = model.weights[j];
    for (let i = 0; i < n; i++) {
      const value = get(i);
      let x: number;
      if (value === null || value === undefined) x = spec.impute;
      else if (typeof value === 'number') x = Number.isNaN(value) ? spec.impute : value;
      else throw new TypeError(`feature "${spec.name}" expects a number or null, got ${typeof value} at row ${i}`);
      scores[i] += (w * (x - spec.mean)) / spec.std;
    }
  });
  let offset = model.numeric.length;
  for (const spec of model.categorical) {
    const weightOf = new Map(spec.categories.map((category, code) => [category, model.weights[offset + code]]));
    offset += spec.categories.length;
    const get = valueGetter(input, spec.name);
    for (let i = 0; i < n; i++) {
      const value = get(i);
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string') {
        throw new TypeError(`feature "${spec.name}" expects a string or null, got ${typeof value} at row ${i}`);
      }
      scores[i] += weightOf.get(value) ?? 0;
    }
  }
  return scores;
}

/**
 * Positive-class probability (binary) or predicted value (regression) per row; for a multiclass model the class
 * probabilities, row-major rows × K (the softmax of each class's raw score).
 */
export function predictLinear(model: LinearModel, input: Input): Float64Array {
  if (model.task === 'multiclass') return multinomialProbabilities(model, input);
  const scores = linearRawScores(model, input);
  if (model.task === 'binary') for (let i = 0; i < scores.length; i++) scores[i] = sigmoid(scores[i]);
  return scores;
}

/** Class k's scores are those of the binary-shaped model with class k's weights and intercept. */
function multinomialProbabilities(model: LinearModel, input: Input): Float64Array {
  const multiclass = model.multiclass;
  if (multiclass === undefined) throw new Error('multiclass linear model has no per-class weights');
  const classCount = multiclass.classes.length;
  const perClass = multiclass.weights.map((weights, k) => linearRawScores({ ...model, weights, intercept: multiclass.intercepts[k] }, input));
  const n = perClass[0]?.length ?? 0;
  const out = new Float64Array(n * classCount);
  for (let r = 0; r < n; r++) for (let k = 0; k < classCount; k++) out[r * classCount + k] = perClass[k][r];
  softmaxRows(out, classCount);
  return out;
}
