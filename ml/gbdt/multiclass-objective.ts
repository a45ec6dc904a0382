// LightGBM's `multiclass` objective (softmax): K raw scores per row, stored class-major (score[k * n + row]).
// Gradients p_k - y_k and hessians K/(K-1) · p_k(1 - p_k), init scores log(class share), metric multi_logloss.

/** LightGBM's kEpsilon: a class share or probability is never taken below it. */
const EPSILON = 1e-15;

/** Shares of each class code 0..K-1 among the labels. */
export function classShares(label: Float64Array, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < label.length; i++) counts[label[i]]++;
  return counts.map((c) => (label.length === 0 ? 0 : c / label.length));
}

/** Per class: log(max(ε, share)), LightGBM's BoostFromScore for multiclass. */
export function multiclassInitialScores(label: Float64Array, classCount: number): number[] {
  return classShares(label, classCount).map((share) => Math.log(Math.max(EPSILON, share)));
}

/**
 * Whether a class gets trees (LightGBM's ClassNeedTrain): a class absent from the training rows (or the only one
 * present) would only be pushed further towards 0 (or 1); its trees stay single leaves of value 0.
 */
export function classNeedsTrees(share: number): boolean {
  return share > EPSILON && share < 1 - EPSILON;
}

/** Softmax of the K scores of `row` into `out` (max subtracted first, so exp never overflows). */
export function softmaxRow(score: Float64Array, rowCount: number, classCount: number, row: number, out: Float64Array): void {
  let max = -Infinity;
  for (let k = 0; k < classCount; k++) max = Math.max(max, score[k * rowCount + row]);
  let sum = 0;
  for (let k = 0; k < classCount; k++) {
    const e = Math.exp(score[k * rowCount + row] - max);
    out[k] = e;
    sum += e;
  }
  for (let k = 0; k < classCount; k++) out[k] /= sum;
}

/**
 * Writes gradients and hessians of the softmax loss at `score` (class-major, like them) and returns the mean
 * multiclass log loss of `score`: the metric of iteration k comes free with the gradients of iteration k + 1.
 */
export function computeSoftmaxGradients(classCount: number, score: Float64Array, label: Float64Array, grad: Float64Array, hess: Float64Array): number {
  const n = label.length;
  const factor = classCount / (classCount - 1);
  const p = new Float64Array(classCount);
  let sum = 0;
  for (let r = 0; r < n; r++) {
    softmaxRow(score, n, classCount, r, p);
    const y = label[r];
    for (let k = 0; k < classCount; k++) {
      const at = k * n + r;
      grad[at] = k === y ? p[k] - 1 : p[k];
      hess[at] = factor * p[k] * (1 - p[k]);
    }
    sum += -Math.log(Math.max(EPSILON, p[y]));
  }
  return n === 0 ? NaN : sum / n;
}

/** Mean multiclass log loss of class-major raw scores (LightGBM's multi_logloss: -log max(ε, p_label)). */
export function multiclassLogLossOfScores(classCount: number, score: Float64Array, label: Float64Array): number {
  const n = label.length;
  if (n === 0) return NaN;
  const p = new Float64Array(classCount);
  let sum = 0;
  for (let r = 0; r < n; r++) {
    softmaxRow(score, n, classCount, r, p);
    sum += -Math.log(Math.max(EPSILON, p[label[r]]));
  }
  return sum / n;
}
