// The numbers behind the review page's plots, stored in the evaluation report: bounded (at most MAX_CURVE_POINTS per
// curve), so a report stays small whatever the holdout's size, and drawn by the API without re-scoring anything.
import { calibrationBins, confusionMatrix, type CalibrationBin, type ConfusionMatrix, type Numbers } from '../ml/metrics/index.js';
import type { Model } from '../ml/model.js';
import type { Task } from '../workflows/contracts/run-spec.js';

export const MAX_CURVE_POINTS = 200;
const MAX_IMPORTANCE_FEATURES = 50;

export interface RocPoint {
  /** False-positive rate and true-positive rate at one threshold (predicted positive when score ≥ threshold). */
  fpr: number;
  tpr: number;
  threshold: number;
}

export interface EvaluationPlots {
  /** Binary: ROC curves of the candidate and, when it scored the holdout, the champion. */
  roc?: { candidate: RocPoint[]; champion: RocPoint[] | null };
  /** Binary: ten fixed-width reliability bins of each. */
  calibration?: { candidate: CalibrationBin[]; champion: CalibrationBin[] | null };
  /** Binary: the candidate's confusion matrix at threshold 0.5. */
  confusion?: ConfusionMatrix;
  /** Regression: an evenly spaced sample of holdout rows, actual and predicted (the residual is actual − predicted). */
  regression?: { sample: { actual: number; predicted: number }[]; holdoutRows: number };
  /** Per feature, largest first: total split gain (GBDT) or |standardised weight| (linear); at most 50 features. */
  importance: { feature: string; value: number; basis: 'split gain' | 'standardised weight' }[];
}

/**
 * ROC points over every distinct score (ties move both rates at once), thinned to at most `maxPoints` evenly spaced
 * by index, always keeping (0, 0) and (1, 1). Empty when the labels hold one class only (no curve exists).
 */
export function rocCurve(labels: Numbers, scores: Numbers, maxPoints = MAX_CURVE_POINTS): RocPoint[] {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return [];
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let truePositives = 0;
  let falsePositives = 0;
  for (let k = 0; k < order.length; k++) {
    const row = order[k]!;
    if (labels[row] === 1) truePositives++;
    else falsePositives++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[row]) {
      points.push({ fpr: falsePositives / negatives, tpr: truePositives / positives, threshold: scores[row] });
    }
  }
  return thin(points, maxPoints).map((point) => ({ ...point, threshold: Number.isFinite(point.threshold) ? point.threshold : 1 }));
}

/** At most `max` items, evenly spaced by index, first and last kept. */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const kept: T[] = [];
  for (let k = 0; k < max; k++) kept.push(items[Math.round((k * (items.length - 1)) / (max - 1))]!);
  return kept;
}

/** Gain importance from the trees themselves (what the trainer reports); linear: |weight| on standardised inputs. */
export function featureImportance(model: Model): EvaluationPlots['importance'] {
  const totals = new Map<string, number>(model.features.map((feature) => [feature.name, 0]));
  let basis: 'split gain' | 'standardised weight';
  if (model.kind === 'gbdt') {
    basis = 'split gain';
    for (const tree of model.trees) {
      tree.feature.forEach((index, node) => {
        const name = index >= 0 ? model.features[index]?.name : undefined;
        if (name !== undefined) totals.set(name, (totals.get(name) ?? 0) + (tree.gain[node] ?? 0));
      });
    }
  } else {
    basis = 'standardised weight';
    const weightSets = model.multiclass?.weights ?? [model.weights];
    for (const weights of weightSets) {
      model.numeric.forEach((spec, j) => totals.set(spec.name, (totals.get(spec.name) ?? 0) + Math.abs(weights[j] ?? 0)));
      let parameter = model.numeric.length;
      for (const spec of model.categorical) {
        // A categorical feature counts its strongest category: one-hot weights are per category, not per feature.
        let strongest = 0;
        for (let code = 0; code < spec.categories.length; code++, parameter++) strongest = Math.max(strongest, Math.abs(weights[parameter] ?? 0));
        totals.set(spec.name, (totals.get(spec.name) ?? 0) + strongest);
      }
    }
  }
  return [...totals]
    .map(([feature, value]) => ({ feature, value, basis }))
    .sort((a, b) => b.value - a.value || a.feature.localeCompare(b.feature))
    .slice(0, MAX_IMPORTANCE_FEATURES);
}

/** The plots' numbers for one evaluation; `championPredictions` are the champion's on the same holdout rows. */
export function evaluationPlots(args: {
  task: Task;
  labels: Float64Array;
  candidatePredictions: Float64Array;
  championPredictions: Float64Array | null;
  /** 'external': a model from an external trainer, whose graph Keel cannot read importance from (none is shown). */
  model: Model | 'external';
}): EvaluationPlots {
  const { task, labels, candidatePredictions, championPredictions } = args;
  const plots: EvaluationPlots = { importance: args.model === 'external' ? [] : featureImportance(args.model) };
  if (task === 'binary') {
    plots.roc = {
      candidate: rocCurve(labels, candidatePredictions),
      champion: championPredictions ? rocCurve(labels, championPredictions) : null,
    };
    plots.calibration = {
      candidate: calibrationBins(labels, candidatePredictions),
      champion: championPredictions ? calibrationBins(labels, championPredictions) : null,
    };
    plots.confusion = confusionMatrix(labels, candidatePredictions);
  } else if (task === 'regression') {
    const rows = thin(Array.from({ length: labels.length }, (_, i) => i), MAX_CURVE_POINTS);
    plots.regression = {
      sample: rows.map((row) => ({ actual: labels[row]!, predicted: candidatePredictions[row]! })),
      holdoutRows: labels.length,
    };
  }
  return plots;
}
