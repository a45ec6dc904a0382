// Regression metrics over true values and predictions.
import type { Numbers } from './binary-metrics.js';

function assertComparable(y: Numbers, yhat: Numbers, what: string): void {
  if (y.length !== yhat.length) throw new RangeError(`${what}: ${y.length} values but ${yhat.length} predictions`);
}

export function rmse(y: Numbers, yhat: Numbers): number {
  assertComparable(y, yhat, 'rmse');
  if (y.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (y[i] - yhat[i]) ** 2;
  return Math.sqrt(sum / y.length);
}

export function mae(y: Numbers, yhat: Numbers): number {
  assertComparable(y, yhat, 'mae');
  if (y.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += Math.abs(y[i] - yhat[i]);
  return sum / y.length;
}

/**
 * Coefficient of determination 1 - SS_res / SS_tot. When y is constant (SS_tot = 0) it is 1 for perfect
 * predictions and 0 otherwise, as scikit-learn's r2_score(force_finite=True) reports.
 */
export function r2(y: Numbers, yhat: Numbers): number {
  assertComparable(y, yhat, 'r2');
  if (y.length === 0) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i];
  mean /= y.length;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    residual += (y[i] - yhat[i]) ** 2;
    total += (y[i] - mean) ** 2;
  }
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}

export interface RegressionMetrics {
  count: number;
  rmse: number;
  mae: number;
  r2: number;
}

export function regressionMetrics(y: Numbers, yhat: Numbers): RegressionMetrics {
  return { count: y.length, rmse: rmse(y, yhat), mae: mae(y, yhat), r2: r2(y, yhat) };
}
