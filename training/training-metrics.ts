// The metrics a trained model reports: train/valid loss at the best iteration, AUC for a binary model, accuracy for
// a multiclass one.
import type { ColumnarDataset } from '../ml/dataset.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import { predictLinear } from '../ml/linear/index.js';
import { predictedClasses, rocAuc } from '../ml/metrics/index.js';
import { modelClasses, type Model, type TrainResult } from '../ml/model.js';

export function metricsAtBest(trained: TrainResult, train: ColumnarDataset, valid: ColumnarDataset | undefined): Record<string, number> {
  const names: Record<string, string> = { logloss: 'Logloss', multi_logloss: 'MultiLogloss', rmse: 'Rmse' };
  const name = names[trained.metricName] ?? trained.metricName;
  // The metrics of the model as returned: at its last kept iteration.
  const at = trained.iterations?.kept ?? trained.bestIteration;
  const point = trained.curve.find((p) => p.iteration === at) ?? trained.curve[trained.curve.length - 1];
  const metrics: Record<string, number> = { iterations: trained.curve.length };
  if (trained.iterations !== undefined) {
    metrics.requestedIterations = trained.iterations.requested;
    metrics.keptIterations = trained.iterations.kept;
  }
  if (point !== undefined) {
    metrics[`train${name}`] = point.trainMetric;
    if (point.validMetric !== null) metrics[`valid${name}`] = point.validMetric;
  }
  if (trained.model.task === 'binary') {
    // The trainer's own scores when it kept them: predicting a million rows again took longer than exporting.
    const auc = (data: ColumnarDataset, raw: Float64Array | null | undefined) =>
      rocAuc(data.label!, raw === null || raw === undefined ? predict(trained.model, data) : probabilities(raw));
    const trainAuc = auc(train, trained.rawScores?.train);
    if (Number.isFinite(trainAuc)) metrics.trainAuc = trainAuc;
    if (valid !== undefined) {
      const validAuc = auc(valid, trained.rawScores?.valid);
      if (Number.isFinite(validAuc)) metrics.validAuc = validAuc;
    }
  }
  if (trained.model.task === 'multiclass') {
    const classCount = modelClasses(trained.model)!.length;
    const accuracy = (data: ColumnarDataset) => {
      const top = predictedClasses(predict(trained.model, data), classCount);
      let hits = 0;
      for (let r = 0; r < top.length; r++) if (top[r] === data.label![r]) hits++;
      return hits / top.length;
    };
    metrics.trainAccuracy = accuracy(train);
    if (valid !== undefined) metrics.validAccuracy = accuracy(valid);
  }
  return metrics;
}

/** The binary GBDT's probabilities from raw scores, computed exactly as predictGbdt computes them. */
function probabilities(raw: Float64Array): Float64Array {
  const p = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) p[i] = 1 / (1 + Math.exp(-raw[i]));
  return p;
}

function predict(model: Model, data: ColumnarDataset): Float64Array {
  return model.kind === 'gbdt' ? predictGbdt(model, data) : predictLinear(model, data);
}
