// Scores validated rows with a loaded model, logs each scored row, and shapes the API's prediction response.
import { performance } from 'node:perf_hooks';
import type { RawRow } from '../ml/model.js';
import type { ColumnarInput } from '../ml/onnx/index.js';
import { validateFeatureRows } from './input-validation.js';
import type { LoadedModel, ModelCache } from './model-cache.js';
import type { PredictionLog } from './prediction-log.js';
import { newPredictionBaseId, predictionIdAt } from '../db/prediction-ids.js';
import { logRecordOf } from './prediction-log-record.js';
import { binaryOutputJson, regressionOutputJson, rememberResponseJson, responseJsonHead } from './predict-response-json.js';

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

/** A scored request: the answer, and for binary and regression models each row's logged output text. */
interface Scored {
  response: PredictResponse;
  /** Row i's output as logged (`{"label":…,"probability":…}` or `{"value":…}`); multiclass: undefined. */
  outputs: string[] | undefined;
}

/**
 * Scores `clean` (checked rows), read from `input` when the same rows are given as columns too. Row i's id is
 * `base` with i in its last 16 bits (db/prediction-ids.ts): the log stores the request as one record.
 */
async function scoreFeatureRows(loaded: LoadedModel, clean: readonly RawRow[], input?: ColumnarInput, base = newPredictionBaseId()): Promise<Scored> {
  const scores = await loaded.scorer.score(input ?? clean);
  const count = clean.length;
  const { model, version } = loaded;
  if (loaded.task === 'multiclass') {
    const classes = loaded.scorer.classes ?? [];
    const k = classes.length;
    const predictions = clean.map((_, i) => ({
      id: predictionIdAt(base, i),
      label: scores.classLabel![i]!,
      probabilities: Object.fromEntries(classes.map((name, c) => [name, scores.probabilities![i * k + c]!])),
    }));
    return { response: { model, version, predictions }, outputs: undefined };
  }
  // The answer's text and each row's logged output are written in the loop that makes the predictions: ids are
  // hex (nothing to escape), and an output is the answer's prediction without its id.
  const outputs = new Array<string>(count);
  let text = responseJsonHead(model, version);
  let predictions: BinaryPrediction[] | RegressionPrediction[];
  if (loaded.task === 'binary') {
    const labels = scores.label!;
    const probabilities = scores.probability!;
    const binary = new Array<BinaryPrediction>(count);
    for (let i = 0; i < count; i++) {
      const id = predictionIdAt(base, i);
      const label = labels[i]!;
      const probability = probabilities[i]!;
      binary[i] = { id, label, probability };
      const output = binaryOutputJson(label, probability);
      outputs[i] = output;
      text += (i === 0 ? '{"id":"' : ',{"id":"') + id + '",' + output.slice(1);
    }
    predictions = binary;
  } else {
    const values = scores.value!;
    const regression = new Array<RegressionPrediction>(count);
    for (let i = 0; i < count; i++) {
      const id = predictionIdAt(base, i);
      const value = values[i]!;
      regression[i] = { id, value };
      const output = regressionOutputJson(value);
      outputs[i] = output;
      text += (i === 0 ? '{"id":"' : ',{"id":"') + id + '",' + output.slice(1);
    }
    predictions = regression;
  }
  const response: PredictResponse = { model, version, predictions };
  rememberResponseJson(response, `${text}]}`);
  return { response, outputs };
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
  const { rows: clean, input } = validateFeatureRows(rows, loaded.features);
  return (await scoreFeatureRows(loaded, clean, input)).response;
}

/** Rows in the source's shape: the version's feature SQL and conversions run first (its serving recipe). */
export async function predictSourceRowsWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return (await scoreFeatureRows(loaded, await loaded.rawRows.featureRows(rows))).response;
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
    let clean: readonly RawRow[];
    let input: ColumnarInput | undefined;
    if (sourceRows) clean = await loaded.rawRows.featureRows(sourceRows);
    else ({ rows: clean, input } = validateFeatureRows((request as { features: readonly unknown[] }).features, loaded.features));
    const baseId = newPredictionBaseId();
    const { response } = await scoreFeatureRows(loaded, clean, input, baseId);
    // Each row waited for the whole request: a per-row share (time / rows) would make batches look fast in p99.
    const latencyMs = performance.now() - started;
    // One columnar record per request (no per-row objects): the feature columns, the scores, the source rows' JSON.
    reservation.commit(logRecordOf(loaded, { baseId, clean, input, sourceRows, response, latencyMs, createdAt: new Date(), keyId: caller.keyId }));
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
