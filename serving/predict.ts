// Scores validated rows with a loaded model, logs each scored row, and shapes the API's prediction response.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { validateRows } from './input-validation.js';
import type { LoadedModel, ModelCache } from './model-cache.js';
import type { PredictionLog } from './prediction-log.js';
import { toPredictionLogRecord } from './prediction-log-record.js';

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

/** Who asked, for the log. */
export interface PredictionCaller {
  keyId: string | null;
}

/** Scores without logging (smoke tests, evaluation). */
export async function predictWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return predictWithModelRows(loaded, validateRows(rows, loaded.features));
}

/**
 * Scores and logs: room in the log is reserved before scoring (a full log refuses with nothing scored), and the
 * rows are appended before the response exists, so every answered prediction is in the log.
 */
export async function predictAndLog(
  loaded: LoadedModel,
  rows: readonly unknown[],
  log: PredictionLog,
  caller: PredictionCaller,
): Promise<PredictResponse> {
  const reservation = log.reserve(rows.length);
  try {
    const started = performance.now();
    const clean = validateRows(rows, loaded.features);
    const response = await predictWithModelRows(loaded, clean);
    const latencyMs = (performance.now() - started) / clean.length;
    const createdAt = new Date();
    const binary = loaded.task === 'binary';
    reservation.commit(
      response.predictions.map((prediction, i) => {
        const { id, ...output } = prediction as BinaryPrediction & RegressionPrediction;
        return toPredictionLogRecord({
          id,
          modelId: loaded.modelId,
          model: loaded.model,
          version: loaded.version,
          features: clean[i],
          output,
          score: binary ? output.probability : output.value,
          latencyMs,
          createdAt,
          keyId: caller.keyId,
        });
      }),
    );
    return response;
  } finally {
    reservation.release();
  }
}

async function predictWithModelRows(loaded: LoadedModel, clean: ReturnType<typeof validateRows>): Promise<PredictResponse> {
  const scores = await loaded.scorer.score(clean);
  const predictions =
    loaded.task === 'binary'
      ? clean.map((_, i) => ({ id: randomUUID(), label: scores.label![i], probability: scores.probability![i] }))
      : clean.map((_, i) => ({ id: randomUUID(), value: scores.value![i] }));
  return { model: loaded.model, version: loaded.version, predictions };
}

export interface Predictor {
  /** Scores rows with the model's production version and logs every scored row (PredictionLogFullError when full). */
  predict(model: string, rows: readonly unknown[], caller?: PredictionCaller): Promise<PredictResponse>;
}

/** Serving passes the log; without one (tests of the cache alone) nothing is logged. */
export function createPredictor(cache: ModelCache, log?: PredictionLog): Predictor {
  return {
    predict: (model, rows, caller = { keyId: null }) =>
      cache.withProduction(model, (loaded) =>
        log ? predictAndLog(loaded, rows, log, caller) : predictWithModel(loaded, rows),
      ),
  };
}
