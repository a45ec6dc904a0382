// The multiclass side of the quality benchmark: multiclass log loss, and Keel's multiclass GBDT with its defaults.

import type { ColumnarDataset } from '../../ml/dataset.js';
import { predictGbdt, trainGbdt } from '../../ml/gbdt/index.js';

/** Mean negative log-likelihood of the true class; `probabilities` is row-major, `classCount` per row. */
export function multiclassLogLoss(labels: Float64Array, probabilities: Float64Array, classCount: number, eps = 1e-15): number {
  let sum = 0;
  for (let r = 0; r < labels.length; r++) {
    const p = probabilities[r * classCount + labels[r]];
    sum -= Math.log(Math.min(1 - eps, Math.max(eps, p)));
  }
  return sum / labels.length;
}

/** Row-major class probabilities for `test` (labels are class codes, the index in `classes`). */
export async function trainAndPredictMulticlass(train: ColumnarDataset, test: ColumnarDataset, classes: string[]): Promise<Float64Array> {
  const { model } = await trainGbdt(train, { task: 'multiclass', numClass: classes.length });
  return predictGbdt(model, test);
}
