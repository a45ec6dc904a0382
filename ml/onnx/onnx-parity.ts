// Compares onnxruntime's scores with the trainer's own predictions: the evaluate stage's parity gate.
// The one implementation of the check; `onnxParity` is its view for ONNX scorer output.
import type { Task } from '../model.js';
import type { OnnxScores } from './onnx-scorer.js';

/** The graph computes in double from double inputs, so only summation order and exp() rounding may differ. */
export const DEFAULT_PARITY_TOLERANCE = 1e-9;

export interface ParityResult {
  passed: boolean;
  maxAbsDiff: number;
  rows: number;
  /** Largest difference relative to max(1, |reference|) (regression's criterion). */
  maxRelDiff: number;
  /**
   * The row with the largest difference by the task's criterion (multiclass: the index in rows × K, row = ⌊i / K⌋);
   * null when no row differs (or the lengths do).
   */
  worstRow: number | null;
}

/**
 * onnxruntime must reproduce the trainer's own predictions: probabilities within `tolerance` absolute,
 * regression values within `tolerance` relative (to max(1, |value|): a sum of doubles of size |value| is only
 * exact to a few ulps of |value|). A length mismatch fails rather than throws.
 */
export function parityCheck(
  task: Task,
  reference: ArrayLike<number>,
  onnx: ArrayLike<number>,
  tolerance = DEFAULT_PARITY_TOLERANCE,
): ParityResult {
  if (reference.length !== onnx.length) {
    return { passed: false, maxAbsDiff: Number.POSITIVE_INFINITY, maxRelDiff: Number.POSITIVE_INFINITY, rows: onnx.length, worstRow: null };
  }
  // Probabilities (binary, and multiclass's rows × K flattened) compare absolutely; regression values relatively.
  const absolute = task !== 'regression';
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let worstRow: number | null = null;
  for (let i = 0; i < reference.length; i++) {
    const diff = Math.abs(reference[i]! - onnx[i]!);
    const rel = diff / Math.max(1, Math.abs(reference[i]!));
    // NaN (a diverging prediction) must fail, so compare with !(x <= y).
    const measure = absolute ? diff : rel;
    const worst = absolute ? maxAbsDiff : maxRelDiff;
    if (!(measure <= worst)) worstRow = i;
    if (!(diff <= maxAbsDiff)) maxAbsDiff = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff;
    if (!(rel <= maxRelDiff)) maxRelDiff = Number.isNaN(rel) ? Number.POSITIVE_INFINITY : rel;
  }
  const passed = (absolute ? maxAbsDiff : maxRelDiff) <= tolerance;
  return { passed, maxAbsDiff, maxRelDiff, rows: reference.length, worstRow };
}

export interface OnnxParityReport {
  rows: number;
  /** Binary: largest |p_onnx - p_reference|. Regression: largest |v_onnx - v_reference| / max(1, |v_reference|). */
  maxError: number;
  /** Row with the largest error (-1 when there are no rows). */
  worstRow: number;
  tolerance: number;
  passed: boolean;
}

/**
 * `reference` holds the trainer's predictions for the same rows: probabilities (binary) or values (regression).
 * Probabilities are compared absolutely, regression values relatively (absolutely below magnitude 1).
 */
export function onnxParity(task: Task, onnx: OnnxScores, reference: Float64Array, tolerance = DEFAULT_PARITY_TOLERANCE): OnnxParityReport {
  const output = task === 'binary' ? 'probability' : task === 'multiclass' ? 'probabilities' : 'value';
  const scores = onnx[output];
  if (scores === undefined) throw new Error(`ONNX scores have no ${output} output`);
  if (scores.length !== reference.length) {
    throw new RangeError(`ONNX scored ${scores.length} rows but the reference has ${reference.length}`);
  }
  const result = parityCheck(task, reference, scores, tolerance);
  const maxError = task === 'regression' ? result.maxRelDiff : result.maxAbsDiff;
  const worstRow = result.worstRow ?? (reference.length > 0 ? 0 : -1);
  return { rows: result.rows, maxError, worstRow, tolerance, passed: result.passed };
}
