// Loss functions: gradients/hessians of the raw score, the starting score, and the reported metric.

import type { Task } from '../model.js';

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** log-odds of the mean label (binary) or the mean label (regression), as LightGBM's boost_from_average. */
export function initialScore(task: Task, label: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < label.length; i++) sum += label[i];
  const mean = label.length === 0 ? 0 : sum / label.length;
  if (task === 'regression') return mean;
  const p = Math.min(Math.max(mean, 1e-15), 1 - 1e-15);
  return Math.log(p / (1 - p));
}

/**
 * Writes gradients and hessians of the loss at `score` and returns the metric of `score` (log loss or RMSE),
 * in one pass: the metric of iteration k comes free with the gradients of iteration k + 1.
 */
export function computeGradients(task: Task, score: Float64Array, label: Float64Array, grad: Float64Array, hess: Float64Array): number {
  const n = score.length;
  let sum = 0;
  if (task === 'binary') {
    // The log(1 + e) terms are summed as the log of their product, one log per 512 rows: each factor is
    // in (1, 2], so a block's product stays below 2^512 (no overflow).
    let product = 1;
    for (let i = 0; i < n; i++) {
      const s = score[i];
      // exp(-|s|) never overflows; log loss = max(s, 0) - y·s + log(1 + exp(-|s|)).
      const e = Math.exp(-Math.abs(s));
      const p = s >= 0 ? 1 / (1 + e) : e / (1 + e);
      const y = label[i];
      grad[i] = p - y;
      hess[i] = p * (1 - p);
      sum += (s > 0 ? s : 0) - y * s;
      product *= 1 + e;
      if ((i & 511) === 511) {
        sum += Math.log(product);
        product = 1;
      }
    }
    sum += Math.log(product);
    return n === 0 ? NaN : sum / n;
  }
  for (let i = 0; i < n; i++) {
    const d = score[i] - label[i];
    grad[i] = d;
    hess[i] = 1;
    sum += d * d;
  }
  return n === 0 ? NaN : Math.sqrt(sum / n);
}

export function metricName(task: Task): 'logloss' | 'multi_logloss' | 'rmse' {
  return task === 'binary' ? 'logloss' : task === 'multiclass' ? 'multi_logloss' : 'rmse';
}

/** Mean log loss (binary) or RMSE (regression) of raw scores; lower is better for both. */
export function evaluateMetric(task: Task, score: Float64Array, label: Float64Array): number {
  const n = score.length;
  if (n === 0) return NaN;
  let sum = 0;
  if (task === 'binary') {
    for (let i = 0; i < n; i++) {
      const s = score[i];
      sum += (s > 0 ? s : 0) - label[i] * s + Math.log1p(Math.exp(-Math.abs(s)));
    }
    return sum / n;
  }
  for (let i = 0; i < n; i++) {
    const d = score[i] - label[i];
    sum += d * d;
  }
  return Math.sqrt(sum / n);
}
