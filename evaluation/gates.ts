// Pure evaluation logic: holdout metrics, champion deltas and the run's gates (the parity check is ml/onnx's).
import type { Gates, Task } from '../workflows/contracts/run-spec.js';
import { binaryMetrics, multiclassMetrics, regressionMetrics, type ClassMetrics, type Numbers } from '../ml/metrics/index.js';

/** Metrics where lower is better: a "regression" of these is an increase. */
export const LOSS_METRICS: ReadonlySet<string> = new Set(['logloss', 'rmse', 'mae']);

export function isLossMetric(metric: string): boolean {
  return LOSS_METRICS.has(metric);
}

/** The metric champion and challenger are ranked by. */
export function primaryMetric(task: Task): 'auc' | 'rmse' | 'logloss' {
  return task === 'binary' ? 'auc' : task === 'multiclass' ? 'logloss' : 'rmse';
}

/**
 * Binary: auc (absent when the holdout has one class), logloss, accuracy, precision, recall, f1. Regression: rmse,
 * mae, r2. Multiclass (predictions are rows × K class probabilities): accuracy, macro_f1, weighted_f1,
 * macro_precision, macro_recall and logloss (multiclass log loss); every one can be gated.
 */
export function holdoutMetrics(task: Task, labels: Numbers, predictions: Numbers): Record<string, number> {
  if (task === 'multiclass') {
    const classCount = labels.length === 0 ? 0 : predictions.length / labels.length;
    const m = multiclassMetrics(labels, predictions, Array.from({ length: classCount }, (_, k) => String(k)));
    const seen = m.perClass.filter((c, k) => c.support > 0 || m.confusion.some((row) => row[k] > 0));
    const mean = (pick: (c: ClassMetrics) => number) => (seen.length === 0 ? 0 : seen.reduce((sum, c) => sum + pick(c), 0) / seen.length);
    return {
      accuracy: m.accuracy,
      macro_f1: m.macroF1,
      weighted_f1: m.weightedF1,
      macro_precision: mean((c) => c.precision),
      macro_recall: mean((c) => c.recall),
      logloss: m.logLoss,
    };
  }
  if (task === 'regression') {
    const m = regressionMetrics(labels, predictions);
    return { rmse: m.rmse, mae: m.mae, r2: m.r2 };
  }
  const m = binaryMetrics(labels, predictions);
  return {
    ...(m.auc === null ? {} : { auc: m.auc }),
    logloss: m.logLoss,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
  };
}

/**
 * Multiclass per-class metrics under gateable names: `precision_class_<k>`, `recall_class_<k>`, `f1_class_<k>`, where
 * k is the class's position in the model's sorted class list (class names need not be metric names).
 */
export function perClassGateMetrics(perClass: readonly ClassMetrics[]): Record<string, number> {
  const metrics: Record<string, number> = {};
  perClass.forEach((c, k) => {
    metrics[`precision_class_${k}`] = c.precision;
    metrics[`recall_class_${k}`] = c.recall;
    metrics[`f1_class_${k}`] = c.f1;
  });
  return metrics;
}

/** Candidate minus champion for every metric both have. */
export function metricDeltas(candidate: Record<string, number>, champion: Record<string, number> | null): Record<string, number> {
  if (champion === null) return {};
  const deltas: Record<string, number> = {};
  for (const [metric, value] of Object.entries(candidate)) {
    if (typeof champion[metric] === 'number') deltas[metric] = value - champion[metric];
  }
  return deltas;
}

export interface GateCheck {
  gate: string;
  passed: boolean;
  /** Why it passed, failed or was skipped, readable by a reviewer. */
  detail: string;
  skipped?: boolean;
  /** A champion comparison that could not be judged: the champion trained on holdout rows. */
  notComparable?: boolean;
}

export interface GateOutcome {
  passed: boolean;
  checks: GateCheck[];
  /** The failed checks' details. */
  failed: string[];
}

function isBound(value: unknown): value is { min?: number; max?: number } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const format = (value: number) => (Number.isInteger(value) ? String(value) : value.toPrecision(4));

/**
 * `{ "<metric>": { min?, max? }, maxRegression: { "<metric>": allowedDrop } }`. A gate on a metric the
 * evaluation did not compute fails (a typo must not pass silently); `maxRegression` is skipped without a champion
 * and, when the comparison is biased (`notComparable` says why), neither passes nor fails but says "not comparable".
 */
export function evaluateGates(
  gates: Gates | undefined,
  candidate: Record<string, number>,
  champion: Record<string, number> | null,
  notComparable: string | null = null,
): GateOutcome {
  const checks: GateCheck[] = [];
  for (const [metric, bound] of Object.entries(gates ?? {})) {
    if (metric === 'maxRegression' || bound === undefined) continue;
    if (!isBound(bound)) {
      checks.push({ gate: metric, passed: false, detail: `${metric}: gate must be an object with min and/or max` });
      continue;
    }
    const value = candidate[metric];
    for (const side of ['min', 'max'] as const) {
      const limit = bound[side];
      if (limit === undefined) continue;
      const gate = `${metric}.${side}`;
      if (typeof value !== 'number') {
        checks.push({ gate, passed: false, detail: `${metric}: not computed for this model, so its ${side} gate cannot pass` });
        continue;
      }
      const passed = side === 'min' ? value >= limit : value <= limit;
      const relation = side === 'min' ? (passed ? '≥' : '<') : passed ? '≤' : '>';
      checks.push({ gate, passed, detail: `${metric} ${format(value)} ${relation} ${side} ${format(limit)}` });
    }
  }
  for (const [metric, allowed] of Object.entries(gates?.maxRegression ?? {})) {
    const gate = `maxRegression.${metric}`;
    if (champion === null) {
      checks.push({ gate, passed: true, skipped: true, detail: `${metric}: no champion to compare with` });
      continue;
    }
    if (notComparable !== null) {
      checks.push({ gate, passed: true, skipped: true, notComparable: true, detail: `${metric}: not comparable with the champion: ${notComparable}` });
      continue;
    }
    const value = candidate[metric];
    const baseline = champion[metric];
    if (typeof value !== 'number' || typeof baseline !== 'number') {
      checks.push({ gate, passed: false, detail: `${metric}: not computed for both candidate and champion` });
      continue;
    }
    const worsening = isLossMetric(metric) ? value - baseline : baseline - value;
    const passed = worsening <= allowed;
    const direction = isLossMetric(metric) ? 'rose' : 'fell';
    checks.push({
      gate,
      passed,
      detail: passed
        ? `${metric} ${format(value)} vs champion ${format(baseline)}: within the allowed ${format(allowed)}`
        : `${metric} ${direction} by ${format(Math.abs(worsening))} vs champion ${format(baseline)}, more than the allowed ${format(allowed)}`,
    });
  }
  const failed = checks.filter((check) => !check.passed).map((check) => check.detail);
  return { passed: failed.length === 0, checks, failed };
}

/**
 * True without a champion; null when the comparison is biased (not comparable); otherwise whether the primary
 * metric is at least as good as the champion's.
 */
export function isChallengerNoWorse(
  task: Task,
  candidate: Record<string, number>,
  champion: Record<string, number> | null,
  comparable = true,
): boolean | null {
  if (champion === null) return true;
  if (!comparable) return null;
  const metric = primaryMetric(task);
  const value = candidate[metric];
  const baseline = champion[metric];
  if (typeof value !== 'number') return false;
  if (typeof baseline !== 'number') return true;
  return isLossMetric(metric) ? value <= baseline : value >= baseline;
}
