// Scores validated rows with a loaded model, logs each scored row, and shapes the API's prediction response.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RawRow } from '../ml/model.js';
import { validateRows } from './input-validation.js';
import type { LoadedModel, ModelCache } from './model-cache.js';
import type { PredictionLog, PredictionLogRecord } from './prediction-log.js';
import { jsonForPostgres } from './prediction-log-record.js';
import { binaryOutputJson, regressionOutputJson } from './predict-response-json.js';

export interface BinaryPrediction {
  id: string;
  label: number;
  probability: number;
}
export interface RegressionPrediction {
  id: string;
  value: number;
}
/** `label` is the most probable class; `probabilities` has every class of the model. */
export interface MulticlassPrediction {
  id: string;
  label: string;
  probabilities: Record<string, number>;
}

export interface PredictResponse {
  model: string;
  version: number;
  predictions: BinaryPrediction[] | RegressionPrediction[] | MulticlassPrediction[];
}

async function scoreFeatureRows(loaded: LoadedModel, clean: readonly RawRow[]): Promise<PredictResponse> {
  const scores = await loaded.scorer.score(clean);
  const count = clean.length;
  let predictions: BinaryPrediction[] | RegressionPrediction[] | MulticlassPrediction[];
  if (loaded.task === 'multiclass') {
    const classes = loaded.scorer.classes ?? [];
    const k = classes.length;
    predictions = clean.map((_, i) => ({
      id: randomUUID(),
      label: scores.classLabel![i]!,
      probabilities: Object.fromEntries(classes.map((name, c) => [name, scores.probabilities![i * k + c]!])),
    }));
  } else if (loaded.task === 'binary') {
    const labels = scores.label!;
    const probabilities = scores.probability!;
    predictions = new Array<BinaryPrediction>(count);
    for (let i = 0; i < count; i++) predictions[i] = { id: randomUUID(), label: labels[i]!, probability: probabilities[i]! };
  } else {
    const values = scores.value!;
    predictions = new Array<RegressionPrediction>(count);
    for (let i = 0; i < count; i++) predictions[i] = { id: randomUUID(), value: values[i]! };
  }
  return { model: loaded.model, version: loaded.version, predictions };
}

/** The number a logged prediction is monitored by: the probability, the top class's probability, or the value. */
export function monitoredScore(task: LoadedModel['task'], prediction: BinaryPrediction | RegressionPrediction | MulticlassPrediction): number {
  if (task === 'multiclass') {
    const { label, probabilities } = prediction as MulticlassPrediction;
    return probabilities[label]!;
  }
  return task === 'binary' ? (prediction as BinaryPrediction).probability : (prediction as RegressionPrediction).value;
}

/** Rows of ready features (what the ONNX model takes). */
export async function predictWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return scoreFeatureRows(loaded, validateRows(rows, loaded.features));
}

/** Rows in the source's shape: the version's feature SQL and conversions run first (its serving recipe). */
export async function predictSourceRowsWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return scoreFeatureRows(loaded, await loaded.rawRows.featureRows(rows));
}

/** Who asked, for the log. */
export interface PredictionCaller {
  keyId: string | null;
}

/**
 * Scores and logs: room in the log is reserved before anything else (a full log refuses with nothing scored), and
 * the rows are appended before the response exists, so every answered prediction is in the log.
 */
async function predictAndLog(
  loaded: LoadedModel,
  request: { features: readonly unknown[] } | { sourceRows: readonly unknown[] },
  log: PredictionLog,
  caller: PredictionCaller,
): Promise<PredictResponse> {
  const sourceRows = 'sourceRows' in request ? request.sourceRows : undefined;
  const reservation = log.reserve(sourceRows?.length ?? ('features' in request ? request.features.length : 0));
  try {
    const started = performance.now();
    const clean = sourceRows
      ? await loaded.rawRows.featureRows(sourceRows)
      : validateRows((request as { features: readonly unknown[] }).features, loaded.features);
    const response = await scoreFeatureRows(loaded, clean);
    // Each row waited for the whole request: a per-row share (time / rows) would make batches look fast in p99.
    const latencyMs = performance.now() - started;
    const createdAt = new Date();
    // Records built straight from the scores (no per-row intermediate objects: a 1,000-row batch made 4,000 of them).
    const records = new Array<PredictionLogRecord>(response.predictions.length);
    const { modelId, model, version } = loaded;
    const keyId = caller.keyId;
    const record = (i: number, id: string, outputJson: string, score: number): PredictionLogRecord => ({
      id,
      modelId,
      model,
      version,
      sourceJson: sourceRows ? jsonForPostgres(sourceRows[i]) : null,
      featuresJson: jsonForPostgres(clean[i]),
      outputJson,
      score,
      latencyMs,
      createdAt,
      keyId,
    });
    if (loaded.task === 'multiclass') {
      const predictions = response.predictions as MulticlassPrediction[];
      for (let i = 0; i < predictions.length; i++) {
        const { id, label, probabilities } = predictions[i]!;
        records[i] = record(i, id, jsonForPostgres({ label, probabilities }), monitoredScore('multiclass', predictions[i]!));
      }
    } else if (loaded.task === 'binary') {
      const predictions = response.predictions as BinaryPrediction[];
      for (let i = 0; i < predictions.length; i++) {
        const { id, label, probability } = predictions[i]!;
        records[i] = record(i, id, binaryOutputJson(label, probability), probability);
      }
    } else {
      const predictions = response.predictions as RegressionPrediction[];
      for (let i = 0; i < predictions.length; i++) {
        const { id, value } = predictions[i]!;
        records[i] = record(i, id, regressionOutputJson(value), value);
      }
    }
    reservation.commit(records);
    return response;
  } finally {
    reservation.release();
  }
}

export interface Predictor {
  /** Scores feature rows with the model's production version; logs every row when serving has a log. */
  predict(model: string, rows: readonly unknown[], caller?: PredictionCaller): Promise<PredictResponse>;
  /** Scores raw source rows with the model's production version, through its serving recipe; logs likewise. */
  predictSourceRows(model: string, rows: readonly unknown[], caller?: PredictionCaller): Promise<PredictResponse>;
}

/** Serving passes the log (PredictionLogFullError when it is full); without one (tests of the cache alone) nothing is logged. */
export function createPredictor(cache: ModelCache, log?: PredictionLog): Predictor {
  return {
    predict: (model, rows, caller = { keyId: null }) =>
      cache.withProduction(model, (loaded) =>
        log ? predictAndLog(loaded, { features: rows }, log, caller) : predictWithModel(loaded, rows),
      ),
    predictSourceRows: (model, rows, caller = { keyId: null }) =>
      cache.withProduction(model, (loaded) =>
        log ? predictAndLog(loaded, { sourceRows: rows }, log, caller) : predictSourceRowsWithModel(loaded, rows),
      ),
  };
}
