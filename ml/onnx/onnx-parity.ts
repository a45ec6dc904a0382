// Compares onnxruntime's scores with the trainer's own predictions: the evaluate stage's parity gate.
import type { Task } from '../model.js';
import type { OnnxScores } from './onnx-scorer.js';

export const DEFAULT_PARITY_TOLERANCE = 1e-5;

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
  const scores = task === 'binary' ? onnx.probability : onnx.value;
  if (scores === undefined) throw new Error(`ONNX scores have no ${task === 'binary' ? 'probability' : 'value'} output`);
  if (scores.length !== reference.length) {
    throw new RangeError(`ONNX scored ${scores.length} rows but the reference has ${reference.length}`);
  }
  let maxError = 0;
  let worstRow = -1;
  for (let i = 0; i < reference.length; i++) {
    const scale = task === 'binary' ? 1 : Math.max(1, Math.abs(reference[i]));
    const error = Math.abs(scores[i] - reference[i]) / scale;
    // NaN on either side is a failure, not a silent pass.
    if (!(error <= maxError)) {
      maxError = Number.isNaN(error) ? Number.POSITIVE_INFINITY : error;
      worstRow = i;
    }
  }
  if (reference.length > 0 && worstRow === -1) worstRow = 0;
  return { rows: reference.length, maxError, worstRow, tolerance, passed: maxError <= tolerance };
}
