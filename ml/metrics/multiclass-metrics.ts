// Multiclass metrics over class codes 0..K-1 and row-major rows × K class probabilities (the layout of the ONNX
// `probabilities` output and of predictGbdt/predictLinear for a multiclass model). The predicted class is the
// most probable one (the first on ties).
import { LOG_LOSS_EPSILON, type Numbers } from './binary-metrics.js';

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose true class this is. */
  support: number;
}

export interface MulticlassMetrics {
  accuracy: number;
  /** Unweighted mean of the per-class F1 over the classes in the labels or the predictions (as scikit-learn's f1_score). */
  macroF1: number;
  /** Per-class F1 weighted by support. */
  weightedF1: number;
  /** Mean -log(p of the true class), p clipped into [1e-15, 1]. */
  logLoss: number;
  perClass: ClassMetrics[];
  /** confusion[trueClass][predictedClass] = rows. */
  confusion: number[][];
}

/** Index of the most probable class of each row (the first on ties). */
export function predictedClasses(probabilities: Numbers, classCount: number): Int32Array {
  const rows = probabilities.length / classCount;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < classCount; k++) if (probabilities[r * classCount + k] > probabilities[r * classCount + best]) best = k;
    out[r] = best;
  }
  return out;
}

export function multiclassMetrics(labels: Numbers, probabilities: Numbers, classes: readonly string[]): MulticlassMetrics {
  const classCount = classes.length;
  const n = labels.length;
  if (classCount < 2) throw new RangeError(`multiclassMetrics: needs at least 2 classes, got ${classCount}`);
  if (probabilities.length !== n * classCount) {
    throw new RangeError(`multiclassMetrics: ${n} labels × ${classCount} classes but ${probabilities.length} probabilities`);
  }
  const confusion = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  const predicted = predictedClasses(probabilities, classCount);
  let correct = 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (!Number.isInteger(y) || y < 0 || y >= classCount) throw new RangeError(`labels must be class codes 0..${classCount - 1}, got ${y} at index ${r}`);
    confusion[y][predicted[r]]++;
    if (predicted[r] === y) correct++;
    const p = probabilities[r * classCount + y];
    loss -= Math.log(Math.min(1, Math.max(LOG_LOSS_EPSILON, p)));
  }
  const perClass = classes.map((name, k) => {
    const truePositives = confusion[k][k];
    let predictedK = 0;
    for (let j = 0; j < classCount; j++) predictedK += confusion[j][k];
    const support = confusion[k].reduce((a, b) => a + b, 0);
    const precision = predictedK === 0 ? 0 : truePositives / predictedK;
    const recall = support === 0 ? 0 : truePositives / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { class: name, precision, recall, f1, support, predicted: predictedK };
  });
  const seen = perClass.filter((c) => c.support > 0 || c.predicted > 0);
  const macroF1 = seen.length === 0 ? 0 : seen.reduce((sum, c) => sum + c.f1, 0) / seen.length;
  const weightedF1 = n === 0 ? 0 : perClass.reduce((sum, c) => sum + c.f1 * c.support, 0) / n;
  return {
    accuracy: n === 0 ? NaN : correct / n,
    macroF1,
    weightedF1,
    logLoss: n === 0 ? NaN : loss / n,
    perClass: perClass.map(({ predicted: _predicted, ...c }) => c),
    confusion,
  };
}
