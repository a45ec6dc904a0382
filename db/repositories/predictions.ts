// The prediction log's queries: records written by binary COPY (one row per logged request, its columns as arrays),
// keyset pages of single predictions, id lookups. The per-row form (`PredictionLogRecord`) is still taken: each row
// becomes a one-row record that keeps its id.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { splitPredictionId, predictionIdAt } from '../prediction-ids.js';

/** A numeric feature's values (NaN = missing) or a categorical one's (null = missing), one per row. */
export type FeatureColumn = Float64Array | readonly (string | null)[];

/** How a record's outputs are kept: derived from the scores (binary: label = score ≥ 0.5; regression: value), or as JSON. */
export type OutputKind = 'binary' | 'regression' | 'json';

/** One logged request: its rows as columns, their ids `baseId` + (firstIndex + i) (db/prediction-ids.ts). */
export interface PredictionRecord {
  baseId: string;
  /** 0 for a request; a single prediction with an id of its own keeps the id's last 16 bits here. */
  firstIndex: number;
  rowCount: number;
  modelId: string;
  model: string;
  version: number;
  createdAt: Date;
  latencyMs: number;
  keyId: string | null;
  /** The features in the model's order; column j of `featureColumns` holds feature j. */
  featureNames: readonly string[];
  featureColumns: readonly FeatureColumn[];
  /** JSON text of the source-shaped request rows (an array), or null when the caller sent feature rows. */
  sourcesJson: string | null;
  scores: Float64Array;
  outputKind: OutputKind;
  /** JSON text of the outputs (an array), for outputKind 'json'. */
  outputsJson: string | null;
}

/** One logged prediction in per-row form, its JSON parts serialised (tests and tools; the log takes it too). */
export interface PredictionLogRecord {
  id: string;
  modelId: string;
  model: string;
  version: number;
  /** JSON text of the source-shaped request row, or null when the caller sent feature rows. */
  sourceJson: string | null;
  /** JSON text of the scored feature row (an object). */
  featuresJson: string;
  /** JSON text of the output returned to the caller. */
  outputJson: string;
  score: number;
  latencyMs: number;
  createdAt: Date;
  keyId: string | null;
}

/** A per-row prediction as a one-row record keeping its id (numbers → numeric columns, everything else text). */
export function recordFromRow(row: PredictionLogRecord): PredictionRecord {
  const parsed = JSON.parse(row.featuresJson) as unknown;
  const features = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const featureNames: string[] = [];
  const featureColumns: FeatureColumn[] = [];
  for (const [name, value] of Object.entries(features)) {
    featureNames.push(name);
    if (typeof value === 'string') featureColumns.push([value]);
    else featureColumns.push(Float64Array.of(typeof value === 'number' ? value : Number.NaN));
  }
  const { baseId, index } = splitPredictionId(row.id.toLowerCase());
  return {
    baseId,
    firstIndex: index,
    rowCount: 1,
    modelId: row.modelId,
    model: row.model,
    version: row.version,
    createdAt: row.createdAt,
    latencyMs: row.latencyMs,
    keyId: row.keyId,
    featureNames,
    featureColumns,
    sourcesJson: row.sourceJson === null ? null : `[${row.sourceJson}]`,
    scores: Float64Array.of(row.score),
    outputKind: 'json',
    outputsJson: `[${row.outputJson}]`,
  };
}

/** A record's rows in per-row form, as the view `predictions` shows them (tests compare with it). */
export function rowsOfRecord(record: PredictionRecord): PredictionLogRecord[] {
  const sources = record.sourcesJson === null ? null : (JSON.parse(record.sourcesJson) as unknown[]);
  const outputs = record.outputsJson === null ? null : (JSON.parse(record.outputsJson) as unknown[]);
  return Array.from({ length: record.rowCount }, (_, i) => {
    const features: Record<string, unknown> = {};
    record.featureNames.forEach((name, j) => {
      const value = record.featureColumns[j]![i];
      features[name] = typeof value === 'number' && Number.isNaN(value) ? null : (value ?? null);
    });
    const score = record.scores[i]!;
    const output =
      record.outputKind === 'binary' ? { label: score >= 0.5 ? 1 : 0, probability: score } : record.outputKind === 'regression' ? { value: score } : outputs![i];
    return {
      id: predictionIdAt(record.baseId, record.firstIndex + i),
      modelId: record.modelId,
      model: record.model,
      version: record.version,
      sourceJson: sources === null ? null : JSON.stringify(sources[i]),
      featuresJson: JSON.stringify(features),
      outputJson: JSON.stringify(output),
      score,
      latencyMs: record.latencyMs,
      createdAt: record.createdAt,
      keyId: record.keyId,
    };
  });
}

// ---- binary COPY -------------------------------------------------------------------------------------------------

const COLUMNS =
  'base_id, first_index, row_count, model_id, model, version, created_at, latency_ms, key_id, ' +
  'num_names, num_values, cat_names, cat_values, sources, scores, output_kind, outputs';
const FIELD_COUNT = 17;
const TEXT_OID = 25;
const FLOAT8_OID = 701;
const POSTGRES_EPOCH_MS = 946_684_800_000;
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** A growing buffer of COPY BINARY data; short ASCII text and UUIDs are written in JS (a Buffer.write call costs more). */
class CopyWriter {
  buffer: Buffer;
  length = 0;

  constructor(size = 1 << 16) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  int16(value: number): void {
    this.room(2);
    this.length = this.buffer.writeInt16BE(value, this.length);
  }
  int32(value: number): void {
    this.room(4);
    this.length = this.buffer.writeInt32BE(value, this.length);
  }
  int64(value: bigint): void {
    this.room(8);
    this.length = this.buffer.writeBigInt64BE(value, this.length);
  }
  /** −0 is written as 0, as the JSON and text the log wrote before (the rollups count it as 0 too). */
  float8(value: number): void {
    this.room(8);
    this.length = this.buffer.writeDoubleBE(value === 0 ? 0 : value, this.length);
  }
  /** A float8 array element: its length, then the value. */
  float8Element(value: number): void {
    this.room(12);
    const buffer = this.buffer;
    const at = this.buffer.writeInt32BE(8, this.length);
    this.length = buffer.writeDoubleBE(value === 0 ? 0 : value, at);
  }
  bytes(source: Buffer): void {
    this.room(source.length);
    source.copy(this.buffer, this.length);
    this.length += source.length;
  }
  /** A length-prefixed text value (U+0000 replaced); `prefix` is jsonb's version byte. */
  textField(text: string, prefix?: number): void {
    const extra = prefix === undefined ? 0 : 1;
    this.room(4 + extra + text.length * 3);
    const buffer = this.buffer;
    const at = this.length;
    let offset = at + 4;
    if (prefix !== undefined) buffer[offset++] = prefix;
    let ascii = true;
    if (text.length <= 64) {
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code === 0 || code > 0x7f) {
          ascii = false;
          break;
        }
        buffer[offset + i] = code;
      }
    } else ascii = false;
    if (ascii) offset += text.length;
    else {
      // Postgres text cannot hold U+0000 (lone surrogates become U+FFFD in UTF-8 anyway).
      const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text;
      offset += buffer.write(clean, offset, 'utf8');
    }
    buffer.writeInt32BE(offset - at - 4, at);
    this.length = offset;
  }
  null(): void {
    this.int32(-1);
  }
  /** A uuid field from its lowercase (or uppercase) hex text with dashes. */
  uuid(id: string): void {
    this.room(20);
    const buffer = this.buffer;
    let offset = buffer.writeInt32BE(16, this.length);
    for (let i = 0; i < id.length; i++) {
      const high = id.charCodeAt(i);
      if (high === 45) continue;
      const low = id.charCodeAt(++i);
      buffer[offset++] = (HEX_VALUE[high]! << 4) | HEX_VALUE[low]!;
    }
    this.length = offset;
  }
  /** An array's header (after its length, which the caller patches): dimensions, null flag, element type. */
  arrayHeader(oid: number, first: number, second: number | undefined, hasNull: boolean): void {
    const empty = first === 0 || second === 0;
    this.int32(empty ? 0 : second === undefined ? 1 : 2);
    this.int32(hasNull ? 1 : 0);
    this.int32(oid);
    if (empty) return;
    this.int32(first);
    this.int32(1);
    if (second !== undefined) {
      this.int32(second);
      this.int32(1);
    }
  }
  /** Reserves an array's length word; `endArray(at)` writes it once the elements are in. */
  beginArray(): number {
    const at = this.length;
    this.int32(0);
    return at;
  }
  endArray(at: number): void {
    this.buffer.writeInt32BE(this.length - at - 4, at);
  }
}

const HEX_VALUE = (() => {
  const table = new Uint8Array(128);
  for (let i = 0; i < 10; i++) table[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[65 + i] = 10 + i;
    table[97 + i] = 10 + i;
  }
  return table;
})();

/** Which features are numeric (Float64Array columns) and which text, and their names' array fields, per names array. */
interface FeatureSplit {
  numeric: number[];
  categorical: number[];
  numNames: Buffer;
  catNames: Buffer;
}
const splits = new WeakMap<readonly string[], FeatureSplit>();

function featureSplit(record: PredictionRecord): FeatureSplit {
  const cached = splits.get(record.featureNames);
  if (cached && cached.numeric.every((j) => record.featureColumns[j] instanceof Float64Array)
    && cached.categorical.every((j) => !(record.featureColumns[j] instanceof Float64Array))) return cached;
  const numeric: number[] = [];
  const categorical: number[] = [];
  record.featureColumns.forEach((column, j) => (column instanceof Float64Array ? numeric : categorical).push(j));
  const namesField = (indexes: number[]) => {
    const out = new CopyWriter(256);
    const at = out.beginArray();
    out.arrayHeader(TEXT_OID, indexes.length, undefined, false);
    for (const j of indexes) out.textField(record.featureNames[j]!);
    out.endArray(at);
    return Buffer.from(out.buffer.subarray(0, out.length));
  };
  const split = { numeric, categorical, numNames: namesField(numeric), catNames: namesField(categorical) };
  splits.set(record.featureNames, split);
  return split;
}

function writeRecord(out: CopyWriter, record: PredictionRecord): void {
  const rows = record.rowCount;
  const { numeric, categorical, numNames, catNames } = featureSplit(record);
  out.int16(FIELD_COUNT);
  out.uuid(record.baseId);
  out.int32(4);
  out.int32(record.firstIndex);
  out.int32(4);
  out.int32(rows);
  out.uuid(record.modelId);
  out.textField(record.model);
  out.int32(4);
  out.int32(record.version);
  out.int32(8);
  out.int64(BigInt(record.createdAt.getTime() - POSTGRES_EPOCH_MS) * 1000n);
  out.int32(8);
  out.float8(record.latencyMs);
  if (record.keyId === null) out.null();
  else out.uuid(record.keyId);
  out.bytes(numNames);
  let at = out.beginArray();
  out.arrayHeader(FLOAT8_OID, numeric.length, rows, true);
  for (const j of numeric) {
    const column = record.featureColumns[j] as Float64Array;
    for (let i = 0; i < rows; i++) {
      const value = column[i]!;
      if (Number.isNaN(value)) out.null();
      else out.float8Element(value);
    }
  }
  out.endArray(at);
  out.bytes(catNames);
  at = out.beginArray();
  out.arrayHeader(TEXT_OID, categorical.length, rows, true);
  for (const j of categorical) {
    const column = record.featureColumns[j] as readonly (string | null)[];
    for (let i = 0; i < rows; i++) {
      const value = column[i];
      if (value === null || value === undefined) out.null();
      else out.textField(value);
    }
  }
  out.endArray(at);
  // jsonb's binary input: a version byte, then the JSON text.
  if (record.sourcesJson === null) out.null();
  else out.textField(record.sourcesJson, 1);
  at = out.beginArray();
  out.arrayHeader(FLOAT8_OID, rows, undefined, false);
  for (let i = 0; i < rows; i++) out.float8Element(record.scores[i]!);
  out.endArray(at);
  out.textField(record.outputKind);
  if (record.outputsJson === null) out.null();
  else out.textField(record.outputsJson, 1);
}

/** The records as one COPY BINARY stream (header, tuples, trailer). */
export function copyBinaryData(records: readonly PredictionRecord[]): Buffer {
  const out = new CopyWriter();
  out.bytes(COPY_SIGNATURE);
  out.int32(0);
  out.int32(0);
  for (const record of records) writeRecord(out, record);
  out.int16(-1);
  return out.buffer.subarray(0, out.length);
}

/** Writes the records with one `COPY … FROM STDIN (FORMAT binary)` on `client` (all or nothing: one statement). */
export async function copyPredictionRecords(client: pg.PoolClient | pg.Client, records: readonly PredictionRecord[]): Promise<void> {
  if (records.length === 0) return;
  const data = copyBinaryData(records);
  const stream = client.query(copyFrom(`COPY prediction_records (${COLUMNS}) FROM STDIN (FORMAT binary)`));
  await pipeline(Readable.from([data]), stream);
}

/** Per-row predictions, each as a one-row record keeping its id. */
export async function copyPredictions(client: pg.PoolClient | pg.Client, rows: readonly PredictionLogRecord[]): Promise<void> {
  await copyPredictionRecords(client, rows.map(recordFromRow));
}

/** Per-row predictions written with one connection from the pool (tests and tools write this way). */
export async function insertPredictionsUnnest(client: pg.PoolClient | pg.Client | pg.Pool, rows: readonly PredictionLogRecord[]): Promise<void> {
  if (!('release' in client) && 'connect' in client && typeof (client as pg.Pool).totalCount === 'number') {
    const connection = await (client as pg.Pool).connect();
    try {
      await copyPredictions(connection, rows);
    } finally {
      connection.release();
    }
    return;
  }
  await copyPredictions(client as pg.PoolClient | pg.Client, rows);
}

// ---- reading ------------------------------------------------------------------------------------------------------

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

/** Records read per query while filling a page. */
const PAGE_RECORD_CHUNK = 50;

/** One logged prediction as the API pages it. */
export interface LoggedPrediction {
  id: string;
  version: number;
  createdAt: Date;
  features: Record<string, number | string | null>;
  source: unknown;
  output: unknown;
  score: number;
  latencyMs: number;
  keyId: string | null;
}

interface StoredRecord {
  base_id: string;
  first_index: number;
  row_count: number;
  version: number;
  created_at: Date;
  latency_ms: number;
  key_id: string | null;
  num_names: string[];
  num_values: (number | null)[][] | [];
  cat_names: string[];
  cat_values: (string | null)[][] | [];
  sources: unknown[] | null;
  scores: number[];
  output_kind: OutputKind;
  outputs: unknown[] | null;
}

function outputOf(record: StoredRecord, i: number): unknown {
  const score = record.scores[i]!;
  if (record.output_kind === 'binary') return { label: score >= 0.5 ? 1 : 0, probability: score };
  if (record.output_kind === 'regression') return { value: score };
  return record.outputs?.[i] ?? null;
}

function predictionOf(record: StoredRecord, i: number): LoggedPrediction {
  const features: Record<string, number | string | null> = {};
  record.num_names.forEach((name, k) => (features[name] = record.num_values[k]?.[i] ?? null));
  record.cat_names.forEach((name, k) => (features[name] = record.cat_values[k]?.[i] ?? null));
  return {
    id: predictionIdAt(record.base_id, record.first_index + i),
    version: record.version,
    createdAt: record.created_at,
    features,
    source: record.sources?.[i] ?? null,
    output: outputOf(record, i),
    score: record.scores[i]!,
    latencyMs: record.latency_ms,
    keyId: record.key_id,
  };
}

/**
 * One page of a model's log, keyset-paged on (created_at, id) in the given order. Ids of one record sort by their
 * index (the base's bits above it differ between records), so (created_at, id) orders as (created_at, base, index):
 * at most `limit` records (the cursor's own, then one or more rows each) can fill the page.
 */
export async function listPredictionPage(db: DbOrTx, query: PredictionPageQuery): Promise<LoggedPrediction[]> {
  const conditions: SQL[] = [sql`model_id = ${query.modelId}::uuid`];
  if (query.from) conditions.push(sql`created_at >= ${query.from.toISOString()}::timestamptz`);
  if (query.to) conditions.push(sql`created_at < ${query.to.toISOString()}::timestamptz`);
  if (query.version !== undefined) conditions.push(sql`version = ${query.version}::int`);
  const desc = query.order === 'desc';
  let after: { createdAtMs: number; baseId: string; index: number } | undefined;
  if (query.after) {
    const { baseId, index } = splitPredictionId(query.after.id.toLowerCase());
    after = { createdAtMs: query.after.createdAt.getTime(), baseId, index };
    // The cursor's own record may still have rows after it: included, and its rows filtered below.
    const at = sql`(${query.after.createdAt.toISOString()}::timestamptz, ${baseId}::uuid)`;
    conditions.push(desc ? sql`(created_at, base_id) <= ${at}` : sql`(created_at, base_id) >= ${at}`);
  }
  const direction = sql.raw(desc ? 'DESC' : 'ASC');
  const page: LoggedPrediction[] = [];
  // Records are read a few at a time: one may hold 1,000 predictions, so `limit` records could be a million rows.
  const chunk = Math.min(query.limit + 1, PAGE_RECORD_CHUNK);
  let beyond: SQL | undefined;
  for (;;) {
    const where = beyond ? [...conditions, beyond] : conditions;
    const result = await db.execute<StoredRecord & Record<string, unknown>>(sql`
      SELECT base_id, first_index, row_count, version, created_at, latency_ms, key_id, num_names, num_values, cat_names,
             cat_values, sources, scores, output_kind, outputs
        FROM prediction_records WHERE ${sql.join(where, sql` AND `)}
       ORDER BY created_at ${direction}, base_id ${direction} LIMIT ${chunk}`);
    for (const record of result.rows) {
      const createdAt = new Date(record.created_at);
      const stored = { ...record, created_at: createdAt };
      const sameAsCursor = after !== undefined && createdAt.getTime() === after.createdAtMs && record.base_id === after.baseId;
      for (let step = 0; step < record.row_count && page.length < query.limit; step++) {
        const i = desc ? record.row_count - 1 - step : step;
        if (sameAsCursor && (desc ? record.first_index + i >= after!.index : record.first_index + i <= after!.index)) continue;
        page.push(predictionOf(stored, i));
      }
      if (page.length >= query.limit) return page;
    }
    const last = result.rows.at(-1);
    if (result.rows.length < chunk || !last) return page;
    const at = sql`(${new Date(last.created_at).toISOString()}::timestamptz, ${last.base_id}::uuid)`;
    beyond = desc ? sql`(created_at, base_id) < ${at}` : sql`(created_at, base_id) > ${at}`;
  }
}

/** `ids` as one Postgres uuid[] literal (each id was checked to be a UUID). */
export function uuidArrayLiteral(ids: readonly string[]): string {
  return `{${ids.join(',')}}`;
}

/** The rows that find each of `ids` in the model's records: q.id, the record r and the row's 1-based position x.i. */
export function idLookupSql(modelId: string, ids: readonly string[]): SQL {
  return sql`unnest(${uuidArrayLiteral(ids)}::uuid[]) AS q(id)
  JOIN prediction_records r ON r.base_id = prediction_base_id(q.id) AND r.model_id = ${modelId}::uuid
  CROSS JOIN LATERAL (SELECT prediction_row_index(q.id) - r.first_index + 1 AS i) AS x
 WHERE x.i BETWEEN 1 AND r.row_count`;
}

/** Which of `ids` are logged predictions of the model (an id past its record's rows is not). */
export async function findLoggedPredictionIds(db: DbOrTx, modelId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const result = await db.execute<{ id: string }>(sql`SELECT q.id FROM ${idLookupSql(modelId, ids)}`);
  return new Set(result.rows.map((row) => row.id));
}
