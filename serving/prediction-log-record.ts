// Turns a scored request into its prediction log record (columns, scores, the source rows' JSON), and a scored row
// into the per-row form tests use; JSON is made storable as jsonb here, once, at append time.
import type { FeatureColumn, OutputKind, PredictionLogRecord, PredictionRecord } from '../db/repositories/predictions.js';
import type { RawRow } from '../ml/model.js';
import type { ColumnarInput, OnnxScores } from '../ml/onnx/index.js';
import type { LoadedModel } from './model-cache.js';
import type { MulticlassPrediction, PredictResponse } from './predict.js';

// jsonb cannot hold U+0000 nor unpaired surrogates; such a row would fail its whole batch forever.
const UNSTORABLE_SOURCE = '\\u0000|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const HAS_UNSTORABLE = new RegExp(UNSTORABLE_SOURCE);
const UNSTORABLE = new RegExp(UNSTORABLE_SOURCE, 'g');

/** JSON text Postgres accepts as jsonb: strings with U+0000 or lone surrogates get U+FFFD in their place. */
export function jsonForPostgres(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify writes both U+0000 and lone surrogates as \u escapes: without one, the text is storable.
  if (!text.includes('\\u')) return text;
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'string' && HAS_UNSTORABLE.test(inner) ? inner.replace(UNSTORABLE, '\ufffd') : inner,
  );
}

export interface ScoredRow {
  id: string;
  modelId: string;
  model: string;
  version: number;
  /** The request row in source shape, when the caller sent one. */
  source?: unknown;
  features: unknown;
  output: unknown;
  score: number;
  latencyMs: number;
  createdAt: Date;
  keyId: string | null;
}

export function toPredictionLogRecord(row: ScoredRow): PredictionLogRecord {
  return {
    id: row.id,
    modelId: row.modelId,
    model: row.model,
    version: row.version,
    sourceJson: row.source === undefined ? null : jsonForPostgres(row.source),
    featuresJson: jsonForPostgres(row.features),
    outputJson: JSON.stringify(row.output),
    score: row.score,
    latencyMs: row.latencyMs,
    createdAt: row.createdAt,
    keyId: row.keyId,
  };
}

export interface ScoredRequest {
  baseId: string;
  /** The checked feature rows, or none when the body was read straight into columns (`input` then has them all). */
  clean: readonly RawRow[] | undefined;
  /** The same rows as columns, when validation made them. */
  input?: ColumnarInput;
  /** The request rows in source shape, when the caller sent raw rows. */
  sourceRows?: readonly unknown[];
  response: PredictResponse;
  /** The scorer's output: binary and regression records are read from it (the answer's objects are made lazily). */
  scores: OnnxScores;
  latencyMs: number;
  createdAt: Date;
  keyId: string | null;
}

/** The feature columns in the model's order: validation's own columns, or built from the rows (raw rows). */
function featureColumns(loaded: LoadedModel, request: ScoredRequest): FeatureColumn[] {
  const rows = request.clean ?? [];
  return loaded.features.map((feature) => {
    const given = request.input?.columns[feature.name];
    if (feature.kind === 'numeric') {
      if (given instanceof Float64Array) return given;
      const column = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const value = rows[i]![feature.name];
        column[i] = typeof value === 'number' ? value : Number.NaN;
      }
      return column;
    }
    if (Array.isArray(given)) return given as readonly (string | null)[];
    const column = new Array<string | null>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const value = rows[i]![feature.name];
      column[i] = typeof value === 'string' ? value : value === null || value === undefined ? null : String(value);
    }
    return column;
  });
}

/** The feature names of a loaded model, one array per model (the log's encoder caches its layout by it). */
const namesOf = new WeakMap<LoadedModel['features'], readonly string[]>();
function featureNames(loaded: LoadedModel): readonly string[] {
  let names = namesOf.get(loaded.features);
  if (!names) {
    names = loaded.features.map((feature) => feature.name);
    namesOf.set(loaded.features, names);
  }
  return names;
}

/** One record for the whole request: outputs derived from the scores where they can be (binary, regression). */
/** Rows in a scored request: the checked rows, or the columns' row count when the body was read as columns. */
function rowCountOf(request: ScoredRequest): number {
  return request.clean ? request.clean.length : request.input!.rowCount;
}

export function logRecordOf(loaded: LoadedModel, request: ScoredRequest): PredictionRecord {
  const count = rowCountOf(request);
  const { scores: scored } = request;
  const scores = new Float64Array(count);
  let outputKind: OutputKind = loaded.task === 'regression' ? 'regression' : loaded.task === 'binary' ? 'binary' : 'json';
  let outputsJson: string | null = null;
  if (outputKind === 'regression') {
    scores.set(scored.value!.subarray(0, count));
  } else if (outputKind === 'binary') {
    const labels = scored.label!;
    const probabilities = scored.probability!;
    for (let i = 0; i < count; i++) {
      const probability = probabilities[i]!;
      scores[i] = probability;
      // The label is stored as the score's side of 0.5; a scorer that ever answers otherwise keeps its outputs.
      if (labels[i] !== (probability >= 0.5 ? 1 : 0)) outputKind = 'json';
    }
    if (outputKind === 'json') {
      outputsJson = jsonForPostgres(Array.from({ length: count }, (_, i) => ({ label: labels[i]!, probability: probabilities[i]! })));
    }
  } else {
    const outputs = (request.response.predictions as MulticlassPrediction[]).map(({ label, probabilities }, i) => {
      scores[i] = probabilities[label]!;
      return { label, probabilities };
    });
    outputsJson = jsonForPostgres(outputs);
  }
  return {
    baseId: request.baseId,
    firstIndex: 0,
    rowCount: count,
    modelId: loaded.modelId,
    model: loaded.model,
    version: loaded.version,
    createdAt: request.createdAt,
    latencyMs: request.latencyMs,
    keyId: request.keyId,
    featureNames: featureNames(loaded),
    featureColumns: featureColumns(loaded, request),
    sourcesJson: request.sourceRows === undefined ? null : jsonForPostgres(request.sourceRows),
    scores,
    outputKind,
    outputsJson,
  };
}
