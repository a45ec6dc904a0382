// Binary-classification metrics over 0/1 labels and positive-class probabilities (or any scores for AUC).

export type Numbers = Float64Array | Float32Array | readonly number[];

function assertSameLength(a: Numbers, b: Numbers, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: ${a.length} labels but ${b.length} predictions`);
}

function assertBinaryLabels(labels: Numbers): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y === 1) positives++;
    else if (y !== 0) throw new RangeError(`labels must be 0 or 1, got ${y} at index ${i}`);
  }
  return positives;
}

/**
 * Area under the ROC curve as the Mann–Whitney statistic: the share of (positive, negative) pairs where the
 * positive scores higher, a tie counting one half (the same as averaging tied ranks). NaN when only one class
 * is present. Counted by walking the two classes' sorted scores, O(n log n).
 */
export function rocAuc(labels: Numbers, scores: Numbers): number {
  assertSameLength(labels, scores, 'rocAuc');
  const positives = assertBinaryLabels(labels);
  const n = labels.length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`rocAuc: score at index ${i} is NaN`);
  }
  const positiveScores = new Float64Array(positives);
  const negativeScores = new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    if (labels[i] === 1) positiveScores[p++] = scores[i];
    else negativeScores[q++] = scores[i];
  }
  positiveScores.sort();
  negativeScores.sort();
  // For each positive: negatives scored below it count 1, negatives tied with it count 1/2.
  let wins = 0;
  let below = 0;
  let belowOrEqual = 0;
  for (let p = 0; p < positives; p++) {
    const s = positiveScores[p];
    while (below < negatives && negativeScores[below] < s) below++;
    if (belowOrEqual < below) belowOrEqual = below;
    while (belowOrEqual < negatives && negativeScores[belowOrEqual] <= s) belowOrEqual++;
    wins += below + (belowOrEqual - below) / 2;
  }
  return wins / (positives * negatives);
}
/** Probabilities are clipped into [eps, 1 - eps] so a confident mistake costs a large finite amount. */
export const LOG_LOSS_EPSILON = 1e-15;

/** Mean negative log-likelihood of the labels under the predicted probabilities. */
export function logLoss(labels: Numbers, probabilities: Numbers, eps = LOG_LOSS_EPSILON): number {
  assertSameLength(labels, probabilities, 'logLoss');
  assertBinaryLabels(labels);
  if (labels.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i]));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

export interface ConfusionMatrix {
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

/** Counts at a threshold: a prediction is positive when probability >= threshold. */
export function confusionMatrix(labels: Numbers, probabilities: Numbers, threshold = 0.5): ConfusionMatrix {
  assertSameLength(labels, probabilities, 'confusionMatrix');
  assertBinaryLabels(labels);
  const m: ConfusionMatrix = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (let i = 0; i < labels.length; i++) {
    const predictedPositive = probabilities[i] >= threshold;
    if (labels[i] === 1) {
      if (predictedPositive) m.truePositives++;
      else m.falseNegatives++;
    } else if (predictedPositive) m.falsePositives++;
    else m.trueNegatives++;
  }
  return m;
}

/** Ratio, or 0 when the denominator is 0 (scikit-learn's zero_division=0). */
function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

export function accuracyOf(m: ConfusionMatrix): number {
  return ratio(m.truePositives + m.trueNegatives, m.truePositives + m.trueNegatives + m.falsePositives + m.falseNegatives);
}

export function precisionOf(m: ConfusionMatrix): number {
  return ratio(m.truePositives, m.truePositives + m.falsePositives);
}

export function recallOf(m: ConfusionMatrix): number {
  return ratio(m.truePositives, m.truePositives + m.falseNegatives);
}

export function f1Of(m: ConfusionMatrix): number {
  return ratio(2 * m.truePositives, 2 * m.truePositives + m.falsePositives + m.falseNegatives);
}

export const accuracy = (labels: Numbers, probabilities: Numbers, threshold = 0.5): number =>
  accuracyOf(confusionMatrix(labels, probabilities, threshold));
export const precision = (labels: Numbers, probabilities: Numbers, threshold = 0.5): number =>
  precisionOf(confusionMatrix(labels, probabilities, threshold));
export const recall = (labels: Numbers, probabilities: Numbers, threshold = 0.5): number =>
  recallOf(confusionMatrix(labels, probabilities, threshold));
export const f1 = (labels: Numbers, probabilities: Numbers, threshold = 0.5): number =>
  f1Of(confusionMatrix(labels, probabilities, threshold));

export interface CalibrationBin {
  /** The bin covers [lower, upper); the last bin also includes 1. */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin; null when the bin is empty. */
  meanPredicted: number | null;
  /** Fraction of positive labels in the bin; null when the bin is empty. */
  observedRate: number | null;
}

/** Fixed-width reliability bins over [0, 1]. */
export function calibrationBins(labels: Numbers, probabilities: Numbers, binCount = 10): CalibrationBin[] {
  assertSameLength(labels, probabilities, 'calibrationBins');
  assertBinaryLabels(labels);
  if (!Number.isInteger(binCount) || binCount < 1) throw new RangeError(`binCount must be an integer >= 1, got ${binCount}`);
  const counts = new Float64Array(binCount);
  const predictedSums = new Float64Array(binCount);
  const positiveCounts = new Float64Array(binCount);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`calibrationBins: probability ${p} at index ${i} is outside [0, 1]`);
    const bin = Math.min(binCount - 1, Math.floor(p * binCount));
    counts[bin]++;
    predictedSums[bin] += p;
    positiveCounts[bin] += labels[i];
  }
  return Array.from({ length: binCount }, (_, b) => ({
    lower: b / binCount,
    upper: (b + 1) / binCount,
    count: counts[b],
    meanPredicted: counts[b] === 0 ? null : predictedSums[b] / counts[b],
    observedRate: counts[b] === 0 ? null : positiveCounts[b] / counts[b],
  }));
}

export interface BinaryMetrics {
  count: number;
  positives: number;
  /** Null when only one class is present. */
  auc: number | null;
  logLoss: number;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: ConfusionMatrix;
  calibration: CalibrationBin[];
}

export function binaryMetrics(labels: Numbers, probabilities: Numbers, threshold = 0.5): BinaryMetrics {
  const confusion = confusionMatrix(labels, probabilities, threshold);
  const auc = rocAuc(labels, probabilities);
  return {
    count: labels.length,
    positives: confusion.truePositives + confusion.falseNegatives,
    auc: Number.isNaN(auc) ? null : auc,
    logLoss: logLoss(labels, probabilities),
    threshold,
    accuracy: accuracyOf(confusion),
    precision: precisionOf(confusion),
    recall: recallOf(confusion),
    f1: f1Of(confusion),
    confusion,
    calibration: calibrationBins(labels, probabilities),
  };
}
