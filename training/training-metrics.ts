// The metrics a trained model reports: train/valid loss at the best iteration, and AUC for a binary model.
import type { ColumnarDataset } from '../ml/dataset.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import { predictLinear } from '../ml/linear/index.js';
import { rocAuc } from '../ml/metrics/index.js';
import type { Model, TrainResult } from '../ml/model.js';

export function metricsAtBest(trained: TrainResult, train: ColumnarDataset, valid: ColumnarDataset | undefined): Record<string, number> {
  const name = trained.metricName === 'logloss' ? 'Logloss' : trained.metricName === 'rmse' ? 'Rmse' : trained.metricName;
  const point = trained.curve.find((p) => p.iteration === trained.bestIteration) ?? trained.curve[trained.curve.length - 1];
  const metrics: Record<string, number> = { iterations: trained.curve.length };
  if (point !== undefined) {
    metrics[`train${name}`] = point.trainMetric;
    if (point.validMetric !== null) metrics[`valid${name}`] = point.validMetric;
  }
  if (trained.model.task === 'binary') {
    const auc = (data: ColumnarDataset) => rocAuc(data.label!, predict(trained.model, data));
    const trainAuc = auc(train);
    if (Number.isFinite(trainAuc)) metrics.trainAuc = trainAuc;
    if (valid !== undefined) {
      const validAuc = auc(valid);
      if (Number.isFinite(validAuc)) metrics.validAuc = validAuc;
    }
  }
  return metrics;
}

function predict(model: Model, data: ColumnarDataset): Float64Array {
  return model.kind === 'gbdt' ? predictGbdt(model, data) : predictLinear(model, data);
}
