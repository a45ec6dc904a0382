// The prediction log's queries: batch writes (COPY, and unnest for comparison), keyset pages, id lookups.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { and, asc, desc, eq, gt, gte, inArray, lt, or, type SQL } from 'drizzle-orm';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { predictions } from '../schema.js';
import type { DbOrTx } from '../client.js';

/** One logged prediction, its JSON parts already serialised (so the buffer holds immutable text). */
export interface PredictionLogRecord {
  id: string;
  modelId: string;
  model: string;
  version: number;
  /** JSON text of the source-shaped request row, or null when the caller sent feature rows. */
  sourceJson: string | null;
  /** JSON text of the scored feature row. */
  featuresJson: string;
  /** JSON text of the output returned to the caller. */
  outputJson: string;
  score: number;
  latencyMs: number;
  createdAt: Date;
  keyId: string | null;
}

const COLUMNS = 'id, model_id, model, version, source, features, output, score, latency_ms, created_at, key_id';

const COPY_SPECIAL = /[\\\t\n\r]/;

/** COPY text format: backslash starts an escape, tab/newline/CR are structural; `\N` is NULL. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  // Most fields have nothing to escape: test once rather than run a replace with a callback per field.
  if (!COPY_SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** One request's rows share one Date: its text is made once, not per row. */
let lastCreatedAt: Date | undefined;
let lastCreatedAtMs = Number.NaN;
let lastCreatedAtText = '';
function createdAtText(date: Date): string {
  const ms = date.getTime();
  if (date !== lastCreatedAt || ms !== lastCreatedAtMs) {
    lastCreatedAtText = date.toISOString();
    lastCreatedAt = date;
    lastCreatedAtMs = ms;
  }
  return lastCreatedAtText;
}

// Concatenated, not an array joined: ~20 % less CPU per row, the chunk's encoding included (a microbenchmark).
function copyLine(record: PredictionLogRecord): string {
  return (
    record.id +
    '\t' +
    record.modelId +
    '\t' +
    copyField(record.model) +
    '\t' +
    String(record.version) +
    '\t' +
    copyField(record.sourceJson) +
    '\t' +
    copyField(record.featuresJson) +
    '\t' +
    copyField(record.outputJson) +
    '\t' +
    String(record.score) +
    '\t' +
    String(record.latencyMs) +
    '\t' +
    createdAtText(record.createdAt) +
    '\t' +
    (record.keyId ?? '\\N') +
    '\n'
  );
}

const COPY_CHUNK_ROWS = 500;

/** Writes the records with one `COPY … FROM STDIN` on `client` (all or nothing: COPY is one statement). */
export async function copyPredictions(client: pg.PoolClient | pg.Client, records: readonly PredictionLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const stream = client.query(copyFrom(`COPY predictions (${COLUMNS}) FROM STDIN`));
  await pipeline(Readable.from(copyChunks(records)), stream);
}

function* copyChunks(records: readonly PredictionLogRecord[]): Generator<string> {
  for (let start = 0; start < records.length; start += COPY_CHUNK_ROWS) {
    let chunk = '';
    for (const record of records.slice(start, start + COPY_CHUNK_ROWS)) chunk += copyLine(record);
    yield chunk;
  }
}

/** The same write as one `INSERT … SELECT FROM unnest(...)` (kept for the COPY-vs-unnest comparison). */
export async function insertPredictionsUnnest(
  client: pg.PoolClient | pg.Client | pg.Pool,
  records: readonly PredictionLogRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await client.query(
    `INSERT INTO predictions (${COLUMNS})
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::jsonb[], $6::jsonb[], $7::jsonb[],
                          $8::float8[], $9::float8[], $10::timestamptz[], $11::uuid[])`,
    [
      records.map((r) => r.id),
      records.map((r) => r.modelId),
      records.map((r) => r.model),
      records.map((r) => r.version),
      records.map((r) => r.sourceJson),
      records.map((r) => r.featuresJson),
      records.map((r) => r.outputJson),
      records.map((r) => r.score),
      records.map((r) => r.latencyMs),
      records.map((r) => r.createdAt.toISOString()),
      records.map((r) => r.keyId),
    ],
  );
}

export interface PredictionPageQuery {
  modelId: string;
  from?: Date;
  to?: Date;
  version?: number;
  limit: number;
  order: 'desc' | 'asc';
  /** The last row of the previous page. */
  after?: { createdAt: Date; id: string };
}

/** One page of a model's log, keyset-paged on (created_at, id) in the given order. */
export async function listPredictionPage(db: DbOrTx, query: PredictionPageQuery) {
  const conditions: SQL[] = [eq(predictions.modelId, query.modelId)];
  if (query.from) conditions.push(gte(predictions.createdAt, query.from));
  if (query.to) conditions.push(lt(predictions.createdAt, query.to));
  if (query.version !== undefined) conditions.push(eq(predictions.version, query.version));
  if (query.after) {
    const { createdAt, id } = query.after;
    const beyond = query.order === 'desc' ? lt : gt;
    conditions.push(or(beyond(predictions.createdAt, createdAt), and(eq(predictions.createdAt, createdAt), beyond(predictions.id, id)))!);
  }
  const direction = query.order === 'desc' ? desc : asc;
  return db
    .select()
    .from(predictions)
    .where(and(...conditions))
    .orderBy(direction(predictions.createdAt), direction(predictions.id))
    .limit(query.limit);
}

/** Which of `ids` are logged predictions of the model. */
export async function findLoggedPredictionIds(db: DbOrTx, modelId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: predictions.id })
    .from(predictions)
    .where(and(eq(predictions.modelId, modelId), inArray(predictions.id, [...ids])));
  return new Set(rows.map((row) => row.id));
}
