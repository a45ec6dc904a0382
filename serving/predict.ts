// Scores validated rows with a loaded model and shapes the API's prediction response.
import { randomUUID } from 'node:crypto';
import type { RawRow } from '../ml/model.js';
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

async function scoreFeatureRows(loaded: LoadedModel, clean: readonly RawRow[]): Promise<PredictResponse> {
  const scores = await loaded.scorer.score(clean);
  const predictions =
    loaded.task === 'binary'
      ? clean.map((_, i) => ({ id: randomUUID(), label: scores.label![i], probability: scores.probability![i] }))
      : clean.map((_, i) => ({ id: randomUUID(), value: scores.value![i] }));
  return { model: loaded.model, version: loaded.version, predictions };
}

/** Rows of ready features (what the ONNX model takes). */
export async function predictWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return scoreFeatureRows(loaded, validateRows(rows, loaded.features));
}

/** Rows in the source's shape: the version's feature SQL and conversions run first (its serving recipe). */
export async function predictSourceRowsWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return scoreFeatureRows(loaded, await loaded.rawRows.featureRows(rows));
}

export interface Predictor {
  /** Scores feature rows with the model's production version. Predictions are not logged yet (later issue). */
  predict(model: string, rows: readonly unknown[]): Promise<PredictResponse>;
  /** Scores raw source rows with the model's production version, through its serving recipe. */
  predictSourceRows(model: string, rows: readonly unknown[]): Promise<PredictResponse>;
}

export function createPredictor(cache: ModelCache): Predictor {
  return {
    predict: (model, rows) => cache.withProduction(model, (loaded) => predictWithModel(loaded, rows)),
    predictSourceRows: (model, rows) => cache.withProduction(model, (loaded) => predictSourceRowsWithModel(loaded, rows)),
  };
}
