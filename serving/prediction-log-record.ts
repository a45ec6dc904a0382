// Turns a scored row into a prediction log record; its JSON is made storable as jsonb here, once, at append time.
import type { PredictionLogRecord } from '../db/repositories/predictions.js';

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
