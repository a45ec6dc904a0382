// Per-model monitoring statistics: prediction drift, latency percentiles and live performance once labels arrive.
import {
  accuracyOf,
  aucFromBinnedCounts,
  binaryMetrics,
  f1Of,
  logLossFromSum,
  maeFromSums,
  regressionMetrics,
  rmseFromSums,
  type ConfusionMatrix,
  type Numbers,
} from '../metrics/index.js';
import { featureDrift, type FeatureDrift } from './feature-drift.js';
import type { NumericLiveCounts } from './live-counts.js';
import type { NumericReference } from './reference-profile.js';

/**
 * Drift of the model's scores: the score reference is built like a feature's (buildNumericReference over the
 * training/holdout scores) and the live scores counted on it, so PSI, KS and Wasserstein mean the same as for features.
 */
export function predictionDrift(scoreReference: NumericReference, liveScores: NumericLiveCounts): FeatureDrift {
  return featureDrift(scoreReference, liveScores);
}

export interface LatencyPercentiles {
  /** Milliseconds; null when the window has no requests. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

const LATENCY_LEVELS = [0.5, 0.95, 0.99] as const;

/** p50/p95/p99 of a sorted (ascending) latency sample, interpolated like quantile_cont / percentile_cont. */
export function latencyPercentilesFromSorted(sortedMs: ArrayLike<number>): LatencyPercentiles {
  const n = sortedMs.length;
  for (let i = 1; i < n; i++) if (sortedMs[i] < sortedMs[i - 1]) throw new RangeError('latencyPercentilesFromSorted needs an ascending sample');
  const at = (level: number): number | null => {
    if (n === 0) return null;
    const position = (n - 1) * level;
    const below = Math.floor(position);
    const above = Math.min(n - 1, below + 1);
    return sortedMs[below] + (sortedMs[above] - sortedMs[below]) * (position - below);
  };
  const [p50, p95, p99] = LATENCY_LEVELS.map(at);
  return { p50, p95, p99 };
}

/**
 * p50/p95/p99 from a cumulative-style latency histogram: bucket i holds latencies in (upperBounds[i−1],
 * upperBounds[i]] (bucket 0 from 0). Interpolates linearly inside the bucket, as Prometheus' histogram_quantile
 * does; a quantile in a last, unbounded (Infinity) bucket is reported as the last finite bound.
 */
export function latencyPercentilesFromHistogram(upperBounds: readonly number[], counts: readonly number[]): LatencyPercentiles {
  if (upperBounds.length !== counts.length) throw new RangeError(`${upperBounds.length} bounds but ${counts.length} counts`);
  const total = counts.reduce((sum, count) => sum + count, 0);
  const at = (level: number): number | null => {
    if (total === 0) return null;
    const rank = level * total;
    let cumulative = 0;
    for (let i = 0; i < counts.length; i++) {
      const lower = i === 0 ? 0 : upperBounds[i - 1];
      if (cumulative + counts[i] >= rank && counts[i] > 0) {
        if (!Number.isFinite(upperBounds[i])) return lower;
        return lower + ((upperBounds[i] - lower) * (rank - cumulative)) / counts[i];
      }
      cumulative += counts[i];
    }
    return upperBounds[upperBounds.length - 1];
  };
  const [p50, p95, p99] = LATENCY_LEVELS.map(at);
  return { p50, p95, p99 };
}

export interface BinaryPerformance {
  labelled: number;
  /** Null when only one class has been labelled. */
  auc: number | null;
  accuracy: number | null;
  f1: number | null;
  logLoss: number | null;
}

export interface RegressionPerformance {
  labelled: number;
  rmse: number | null;
  mae: number | null;
}

export interface MulticlassPerformance {
  labelled: number;
  accuracy: number | null;
  /** Mean F1 over the classes that were labelled or predicted in the window (scikit-learn's macro F1 over those). */
  macroF1: number | null;
  logLoss: number | null;
}

/** What SQL aggregates over a multiclass model's labelled predictions: counts per (true class, predicted class). */
export interface MulticlassFeedbackSummary {
  labelled: number;
  /** One entry per (actual, predicted) pair that occurred. */
  pairs: ReadonlyArray<{ actual: string; predicted: string; count: number }>;
  /** Σ −ln(clip(p of the true class, 1e−15, 1 − 1e−15)). */
  sumNegativeLogLikelihood: number;
}

/** What SQL aggregates over the window's labelled predictions (positive-class probability `p`, label `y` in {0, 1}). */
export interface BinaryFeedbackSummary {
  labelled: number;
  /** count(*) FILTER (WHERE p >= threshold AND y = 1) etc., at the threshold the evaluation used (0.5). */
  confusion: ConfusionMatrix;
  /** Σ −ln(clip(y = 1 ? p : 1 − p, 1e−15, 1 − 1e−15)). */
  sumNegativeLogLikelihood: number;
  /** Positives and negatives per ordered score bin, e.g. GROUP BY width_bucket(p, 0, 1, 1000); see aucFromBinnedCounts. */
  positivesPerScoreBin: number[];
  negativesPerScoreBin: number[];
}

/** What SQL aggregates over the window's labelled predictions for a regression model. */
export interface RegressionFeedbackSummary {
  labelled: number;
  sumSquaredError: number;
  sumAbsoluteError: number;
}

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

export function binaryPerformanceFromSummary(summary: BinaryFeedbackSummary): BinaryPerformance {
  const { labelled, confusion } = summary;
  const counted = confusion.truePositives + confusion.falsePositives + confusion.trueNegatives + confusion.falseNegatives;
  if (counted !== labelled) throw new RangeError(`the confusion matrix counts ${counted} rows but ${labelled} are labelled`);
  if (labelled === 0) return { labelled, auc: null, accuracy: null, f1: null, logLoss: null };
  return {
    labelled,
    auc: finiteOrNull(aucFromBinnedCounts(summary.positivesPerScoreBin, summary.negativesPerScoreBin)),
    accuracy: accuracyOf(confusion),
    f1: f1Of(confusion),
    logLoss: finiteOrNull(logLossFromSum(summary.sumNegativeLogLikelihood, labelled)),
  };
}

/** The same from labelled rows held in memory (tests, small windows): exact AUC via ml/metrics. */
export function binaryPerformance(labels: Numbers, probabilities: Numbers, threshold = 0.5): BinaryPerformance {
  if (labels.length === 0) return { labelled: 0, auc: null, accuracy: null, f1: null, logLoss: null };
  const metrics = binaryMetrics(labels, probabilities, threshold);
  return { labelled: metrics.count, auc: metrics.auc, accuracy: metrics.accuracy, f1: metrics.f1, logLoss: metrics.logLoss };
}

export function regressionPerformanceFromSummary(summary: RegressionFeedbackSummary): RegressionPerformance {
  return {
    labelled: summary.labelled,
    rmse: finiteOrNull(rmseFromSums(summary.sumSquaredError, summary.labelled)),
    mae: finiteOrNull(maeFromSums(summary.sumAbsoluteError, summary.labelled)),
  };
}

export function multiclassPerformanceFromSummary(summary: MulticlassFeedbackSummary): MulticlassPerformance {
  const { labelled, pairs } = summary;
  if (labelled === 0) return { labelled, accuracy: null, macroF1: null, logLoss: null };
  let correct = 0;
  const truePositives = new Map<string, number>();
  const support = new Map<string, number>();
  const predicted = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  for (const { actual, predicted: guess, count } of pairs) {
    add(support, actual, count);
    add(predicted, guess, count);
    if (actual === guess) {
      correct += count;
      add(truePositives, actual, count);
    }
  }
  const classes = new Set([...support.keys(), ...predicted.keys()]);
  let f1Sum = 0;
  for (const name of classes) {
    const tp = truePositives.get(name) ?? 0;
    const precision = (predicted.get(name) ?? 0) === 0 ? 0 : tp / predicted.get(name)!;
    const recall = (support.get(name) ?? 0) === 0 ? 0 : tp / support.get(name)!;
    f1Sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  }
  return {
    labelled,
    accuracy: correct / labelled,
    macroF1: f1Sum / classes.size,
    logLoss: finiteOrNull(logLossFromSum(summary.sumNegativeLogLikelihood, labelled)),
  };
}

export function regressionPerformance(y: Numbers, yhat: Numbers): RegressionPerformance {
  if (y.length === 0) return { labelled: 0, rmse: null, mae: null };
  const metrics = regressionMetrics(y, yhat);
  return { labelled: metrics.count, rmse: metrics.rmse, mae: metrics.mae };
}
