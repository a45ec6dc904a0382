// The multiclass side of the quality benchmark: multiclass log loss, and Keel's multiclass GBDT once the trainer
// has it (issue 10 §4); until then the Keel column reads n/a.

/** Mean negative log-likelihood of the true class; `probabilities` is row-major, `classCount` per row. */
export function multiclassLogLoss(labels: Float64Array, probabilities: Float64Array, classCount: number, eps = 1e-15): number {
  let sum = 0;
  for (let r = 0; r < labels.length; r++) {
    const p = probabilities[r * classCount + labels[r]];
    sum -= Math.log(Math.min(1 - eps, Math.max(eps, p)));
  }
  return sum / labels.length;
}

import type { ColumnarDataset } from '../../ml/dataset.js';

/** Row-major class probabilities for `test`, or undefined while Keel has no multiclass trainer. */
export async function trainAndPredictMulticlass(train: ColumnarDataset, test: ColumnarDataset, classes: string[]): Promise<Float64Array | undefined> {
  void train;
  void test;
  void classes;
  return undefined;
}
