// Softmax over row-major rows × K scores, in place: the one definition the trainers' multiclass predictions share.

/** Replaces each row's K raw scores by their softmax (the row's max subtracted first, so exp never overflows). */
export function softmaxRows(scores: Float64Array, classCount: number): void {
  for (let at = 0; at < scores.length; at += classCount) {
    let max = -Infinity;
    for (let k = 0; k < classCount; k++) max = Math.max(max, scores[at + k]);
    let sum = 0;
    for (let k = 0; k < classCount; k++) {
      const e = Math.exp(scores[at + k] - max);
      scores[at + k] = e;
      sum += e;
    }
    for (let k = 0; k < classCount; k++) scores[at + k] /= sum;
  }
}
