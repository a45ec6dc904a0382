// Scores validated rows with a loaded model and shapes the API's prediction response.
import { randomUUID } from 'node:crypto';
import { validateRows } from './input-validation.js';
import type { LoadedModel, ModelCache } from './model-cache.js';

export interface BinaryPrediction {
  id: string;
  label: number;
  probability: number;
}
export interface RegressionPrediction {
  id: string;
  value: number;
}

export interface PredictResponse {
  model: string;
  version: number;
  predictions: BinaryPrediction[] | RegressionPrediction[];
}

export async function predictWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  const clean = validateRows(rows, loaded.features);
  const scores = await loaded.scorer.score(clean);
  const predictions =
    loaded.task === 'binary'
      ? clean.map((_, i) => ({ id: randomUUID(), label: scores.label![i], probability: scores.probability![i] }))
      : clean.map((_, i) => ({ id: randomUUID(), value: scores.value![i] }));
  return { model: loaded.model, version: loaded.version, predictions };
}

export interface Predictor {
  /** Scores rows with the model's production version. Predictions are not logged yet (later issue). */
  predict(model: string, rows: readonly unknown[]): Promise<PredictResponse>;
}

export function createPredictor(cache: ModelCache): Predictor {
  return {
    predict: (model, rows) => cache.withProduction(model, (loaded) => predictWithModel(loaded, rows)),
  };
}
