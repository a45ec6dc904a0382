// The trained-model format shared by the trainers (ml/gbdt, ml/linear), the ONNX exporter (ml/onnx)
// and the evaluation code. Plain JSON-serialisable data so it can be checkpointed and stored.

// The task is part of the run spec; its one schema (and type) lives there.
import type { Task } from '../workflows/contracts/run-spec.js';

export type { Task };

export interface NumericFeature {
  name: string;
  kind: 'numeric';
}

export interface CategoricalFeature {
  name: string;
  kind: 'categorical';
  /** Known categories; a category's code is its index here. Unseen or missing → treated as missing. */
  categories: string[];
}

export type Feature = NumericFeature | CategoricalFeature;

/** One raw input row: numbers (or null/NaN = missing) for numeric features, strings (or null) for categoricals. */
export type RawRow = Record<string, number | string | null | undefined>;

/**
 * A binary decision tree in flat arrays; node 0 is the root.
 * Interior node i: `feature[i] >= 0`, children `left[i]` / `right[i]`.
 *  - numeric feature: go left when x <= threshold[i];
 *  - categorical feature: go left when the category code is in categorySets[i];
 *  - missing value (null/NaN, or unseen category): go left when missingLeft[i].
 * Leaf i: `feature[i] === -1`, prediction contribution `value[i]` (already scaled by the learning rate).
 */
export interface Tree {
  feature: number[];
  threshold: number[];
  categorySets: (number[] | null)[];
  missingLeft: boolean[];
  left: number[];
  right: number[];
  value: number[];
  /** Split gain per interior node (0 for leaves), for importance. */
  gain: number[];
}

export interface GbdtModel {
  kind: 'gbdt';
  task: Task;
  features: Feature[];
  /** Raw score before the trees (log-odds for binary, mean for regression). */
  baseScore: number;
  trees: Tree[];
}

export interface LinearModel {
  kind: 'linear';
  task: Task;
  features: Feature[];
  /**
   * Input encoding, applied in this order and reproduced inside the ONNX graph:
   * numeric: missing → impute (training mean), then (x - mean) / std;
   * categorical: one-hot over `categories` (unseen/missing → all zeros).
   */
  numeric: { name: string; mean: number; std: number; impute: number }[];
  categorical: { name: string; categories: string[] }[];
  /** Weights in encoded-column order: numeric columns first (in `numeric` order), then each categorical's one-hot block. */
  weights: number[];
  intercept: number;
}

export type Model = GbdtModel | LinearModel;

export interface TrainingCurvePoint {
  iteration: number;
  trainMetric: number;
  validMetric: number | null;
}

export interface TrainResult {
  model: Model;
  /** Per feature name: total split gain (GBDT), or sum of |weight| × encoded column std (linear). */
  importance: Record<string, number>;
  curve: TrainingCurvePoint[];
  bestIteration: number;
  /** 'logloss' for binary, 'rmse' for regression. */
  metricName: string;
}
