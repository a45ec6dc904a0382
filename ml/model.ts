// The trained-model format shared by the trainers (ml/gbdt, ml/linear), the ONNX exporter (ml/onnx)
// and the evaluation code. Plain JSON-serialisable data so it can be checkpointed and stored.

// The task is part of the run spec; its one schema (and type) lives there.
import type { Task } from '../workflows/contracts/run-spec.js';

export type { Task };

/** The class counts a multiclass target may have: 2 is a binary task, more than 1000 is not a classification. */
export const MIN_CLASSES = 3;
export const MAX_CLASSES = 1000;

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
  /** Raw score before the trees (log-odds for binary, mean for regression; 0 for multiclass, see baseScores). */
  baseScore: number;
  /**
   * Binary and regression: one tree per iteration. Multiclass: `classes.length` trees per iteration, tree t adds
   * to class t % K's raw score (LightGBM's layout).
   */
  trees: Tree[];
  /** Multiclass only: the class labels in label-code order (code k = classes[k]), stored with the model. */
  classes?: string[];
  /** Multiclass only: each class's raw score before the trees, log of its training share (LightGBM's init score). */
  baseScores?: number[];
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
  /**
   * Multiclass (multinomial logistic) only: the class labels, and per class its weights (encoded-column order, as
   * `weights`) and intercept; `weights`/`intercept` then hold class 0's. Probabilities are the softmax of the K scores.
   */
  multiclass?: { classes: string[]; weights: number[][]; intercepts: number[] };
}

export type Model = GbdtModel | LinearModel;

/** The class labels of a multiclass model, or null for binary and regression models. */
export function modelClasses(model: Model): string[] | null {
  if (model.task !== 'multiclass') return null;
  const classes = model.kind === 'gbdt' ? model.classes : model.multiclass?.classes;
  if (classes === undefined) throw new Error(`multiclass ${model.kind} model has no class list`);
  return classes;
}

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
  /**
   * Boosting rounds asked for, run, and kept in the model (GBDT only): kept < trained only when early stopping
   * truncated the model to its best validation iteration.
   */
  iterations?: { requested: number; trained: number; kept: number };
  /** 'logloss' for binary, 'multi_logloss' for multiclass, 'rmse' for regression. */
  metricName: string;
  /**
   * The trainer's own raw scores of the returned model on the rows it was given (binary GBDT, when no tree was cut
   * off): what predicting those rows again would give, bit for bit, so metrics need no second pass over the data.
   */
  rawScores?: { train: Float64Array; valid: Float64Array | null };
}
