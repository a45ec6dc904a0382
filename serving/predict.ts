// Scores validated rows with a loaded model, logs each scored row, and shapes the API's prediction response.
import { performance } from 'node:perf_hooks';
import type { RawRow } from '../ml/model.js';
import type { ColumnarInput, OnnxScores } from '../ml/onnx/index.js';
import { validateFeatureRows, validateParsedFeatureRows } from './input-validation.js';
import { ParsedFeatureRows } from './feature-rows-body.js';
import type { LoadedModel, ModelCache } from './model-cache.js';
import type { PredictionLog } from './prediction-log.js';
import { logRecordOf } from './prediction-log-record.js';
import { jsonNumber, rememberResponseJson, responseJsonHead } from './predict-response-json.js';
import { newPredictionBaseId, predictionIdPrefix, predictionIdSuffix } from './prediction-ids.js';

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

/** A scored request: the answer, its prediction ids' base (row i's id is predictionIdAt(baseId, i)) and the scores. */
interface Scored {
  response: PredictResponse;
  baseId: string;
  scores: OnnxScores;
}

/**
 * The answer's predictions as objects, made only when something reads them (tests, the CLI, evaluation, the
 * smoke test): the route writes the answer from its text, and the log reads the scores, so a 1,000-row batch makes
 * no object per row. Enumerable, so JSON.stringify(response) still writes them.
 */
function withLazyPredictions(model: string, version: number, makePredictions: () => PredictResponse['predictions']): PredictResponse {
  const response = { model, version } as PredictResponse;
  let predictions: PredictResponse['predictions'] | undefined;
  Object.defineProperty(response, 'predictions', {
    enumerable: true,
    get: () => (predictions ??= makePredictions()),
  });
  return response;
}

/** Scores `clean` (checked rows), read from `input` when the same rows are given as columns too. */
async function scoreFeatureRows(loaded: LoadedModel, clean: readonly RawRow[] | undefined, input?: ColumnarInput): Promise<Scored> {
  const scores = await loaded.scorer.score(input ?? clean!);
  const count = input ? input.rowCount : clean!.length;
  const { model, version } = loaded;
  const baseId = newPredictionBaseId();
  const prefix = predictionIdPrefix(baseId);
  if (loaded.task === 'multiclass') {
    const classes = loaded.scorer.classes ?? [];
    const k = classes.length;
    const response = withLazyPredictions(model, version, () =>
      Array.from({ length: count }, (_, i) => ({
        id: prefix + predictionIdSuffix(i),
        label: scores.classLabel![i]!,
        probabilities: Object.fromEntries(classes.map((name, c) => [name, scores.probabilities![i * k + c]!])),
      })),
    );
    return { response, baseId, scores };
  }
  // The answer's text is written straight from the scores (ids are the base's prefix and a hex suffix: nothing to
  // escape), one string per row at most; the objects are made only if read.
  let text = responseJsonHead(model, version);
  let response: PredictResponse;
  if (loaded.task === 'binary') {
    const labels = scores.label!;
    const probabilities = scores.probability!;
    for (let i = 0; i < count; i++) {
      text += (i === 0 ? '{"id":"' : ',{"id":"') + prefix + predictionIdSuffix(i) + '","label":' + jsonNumber(labels[i]!) + ',"probability":' + jsonNumber(probabilities[i]!) + '}';
    }
    response = withLazyPredictions(model, version, () =>
      Array.from({ length: count }, (_, i): BinaryPrediction => ({ id: prefix + predictionIdSuffix(i), label: labels[i]!, probability: probabilities[i]! })),
    );
  } else {
    const values = scores.value!;
    for (let i = 0; i < count; i++) {
      text += (i === 0 ? '{"id":"' : ',{"id":"') + prefix + predictionIdSuffix(i) + '","value":' + jsonNumber(values[i]!) + '}';
    }
    response = withLazyPredictions(model, version, () =>
      Array.from({ length: count }, (_, i): RegressionPrediction => ({ id: prefix + predictionIdSuffix(i), value: values[i]! })),
    );
  }
  rememberResponseJson(response, `${text}]}`);
  return { response, baseId, scores };
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
export async function predictWithModel(loaded: LoadedModel, rows: FeatureRowsInput): Promise<PredictResponse> {
  if (rows instanceof ParsedFeatureRows) return (await scoreFeatureRows(loaded, undefined, validateParsedFeatureRows(rows, loaded.features))).response;
  const { rows: clean, input } = validateFeatureRows(rows, loaded.features);
  return (await scoreFeatureRows(loaded, clean, input)).response;
}

/** Rows in the source's shape: the version's feature SQL and conversions run first (its serving recipe). */
export async function predictSourceRowsWithModel(loaded: LoadedModel, rows: readonly unknown[]): Promise<PredictResponse> {
  return (await scoreFeatureRows(loaded, await loaded.rawRows.featureRows(rows))).response;
}

/** Feature rows as the client sent them: parsed by JSON.parse, or straight into columns (feature-rows-body.ts). */
export type FeatureRowsInput = readonly unknown[] | ParsedFeatureRows;

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
  request: { features: FeatureRowsInput } | { sourceRows: readonly unknown[] },
  log: PredictionLog,
  caller: PredictionCaller,
): Promise<PredictResponse> {
  const sourceRows = 'sourceRows' in request ? request.sourceRows : undefined;
  const features = 'features' in request ? request.features : undefined;
  const reservation = log.reserve(sourceRows?.length ?? (features instanceof ParsedFeatureRows ? features.rowCount : features!.length));
  try {
    const started = performance.now();
    let clean: readonly RawRow[] | undefined;
    let input: ColumnarInput | undefined;
    if (sourceRows) clean = await loaded.rawRows.featureRows(sourceRows);
    else if (features instanceof ParsedFeatureRows) input = validateParsedFeatureRows(features, loaded.features);
    else ({ rows: clean, input } = validateFeatureRows(features!, loaded.features));
    const { response, baseId, scores } = await scoreFeatureRows(loaded, clean, input);
    // Each row waited for the whole request: a per-row share (time / rows) would make batches look fast in p99.
    const latencyMs = performance.now() - started;
    // One columnar record per request (no per-row objects): the feature columns, the scores, the source rows' JSON.
    reservation.commit(logRecordOf(loaded, { baseId, clean, input, sourceRows, response, scores, latencyMs, createdAt: new Date(), keyId: caller.keyId }));
    return response;
  } finally {
    reservation.release();
  }
}

export interface Predictor {
  /** Scores feature rows with the model's production version; logs every row when serving has a log. */
  predict(model: string, rows: FeatureRowsInput, caller?: PredictionCaller): Promise<PredictResponse>;
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
