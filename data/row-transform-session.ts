// Runs a version's feature SQL on request rows in an in-process DuckDB locked down as at ingest: no file or
// network access, configuration locked. Rows enter as one bound JSON text parameter (never spliced into SQL), the
// statement is prepared once, and concurrent requests are batched into one execution.
import { BOOLEAN, DOUBLE, JSDuckDBValueConverter, LIST, StatementType, VARCHAR, listValue, type DuckDBListType, type DuckDBPreparedStatement } from '@duckdb/node-api';
import type { RecipeFeature, SourceColumn, SourceValueKind } from '../workflows/contracts/serving-recipe.js';
import { sourceValueKind } from '../workflows/contracts/serving-recipe.js';
import { openDuckDb, type DuckDbSession } from './duckdb-session.js';
import { TransformRejectedError, firstLine } from './errors.js';
import { conversionSql } from './feature-conversion-sql.js';
import { keepsRowsInPlace } from './row-wise-check.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

/** One source value as bound: booleans, numbers (any numeric column, dates as ISO text), text or null. */
export type SourceValue = boolean | number | string | null;
export type FeatureValue = number | string | null;

export interface RowTransformSpec {
  source: readonly SourceColumn[];
  transform: string | null;
  features: readonly RecipeFeature[];
}

export interface RowTransformSession {
  /** Feature rows each source row produces (normally exactly one), in input order. */
  transformRows(rows: readonly SourceValue[][]): Promise<FeatureValue[][][]>;
  /** The transform over all rows at once, in one execution (the row-wise check compares it with one at a time). */
  transformBatch(rows: readonly SourceValue[][]): Promise<FeatureValue[][]>;
  close(): void;
}

/** Rows of concurrent requests run together up to this many; more wait for the next execution. */
const MAX_BATCH_ROWS = 2048;
/**
 * Rows whose JSON text is longer than this go as a list per column instead: DuckDB's JSON reader takes ~4 times the
 * text's size from the session's memory limit (54 MB of text, 60 requests of 900 KB, failed at 256 MB), lists do not.
 */
const MAX_BOUND_JSON_CHARS = 8_000_000;

/** How a source value travels (bound JSON or list): booleans, numbers (any numeric column) as DOUBLE, the rest as text. */
function boundType(kind: SourceValueKind): { sql: 'BOOLEAN' | 'DOUBLE' | 'VARCHAR'; list: DuckDBListType } {
  if (kind === 'boolean') return { sql: 'BOOLEAN', list: LIST(BOOLEAN) };
  if (kind === 'integer' || kind === 'number') return { sql: 'DOUBLE', list: LIST(DOUBLE) };
  return { sql: 'VARCHAR', list: LIST(VARCHAR) };
}

/**
 * The prepared SQL: the request rows as relation `source` (typed as at ingest), the transform, the conversions. The rows
 * are one JSON array of objects `{"c1": …, "c2": …}` read by `from_json`: one parameter instead of a list per column,
 * whose values were each made a DuckDB value on the main thread (~20–25 % of an execution's CPU, bench/serve/README.md).
 */
export function rowTransformSql(spec: RowTransformSpec, rowsAs: 'json' | 'lists' = 'json'): string {
  const types = spec.source.map((column) => {
    const kind = sourceValueKind(column.type);
    if (!kind) throw new TransformRejectedError(`source column "${column.name}" has type ${column.type}, which JSON rows cannot carry`);
    return boundType(kind).sql;
  });
  const unnested =
    rowsAs === 'json'
      ? `SELECT UNNEST(from_json($1::VARCHAR, '[{${types.map((type, index) => `"c${index + 1}":"${type}"`).join(',')}}]'), recursive := true)`
      : `SELECT ${types.map((type, index) => `UNNEST($${index + 1}::${type}[]) AS c${index + 1}`).join(', ')}`;
  const typed = spec.source.map((column, index) => `CAST(c${index + 1} AS ${column.type}) AS ${quoteIdentifier(column.name)}`);
  const conversions = spec.features.map((feature) => `${conversionSql(feature.name, feature.conversion)} AS ${quoteIdentifier(feature.name)}`);
  // The newline keeps a trailing `--` comment in the transform from swallowing the closing parenthesis.
  const body = spec.transform ?? 'SELECT * FROM source';
  return `WITH source AS (SELECT ${typed.join(', ')} FROM (${unnested})) SELECT ${conversions.join(', ')} FROM (\n${body}\n) AS keel_features`;
}

/** A UTF-16 surrogate without its pair (with the u flag a pair is one code point, so only lone ones match). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * One source value as JSON text. -0 keeps its sign (JSON.stringify writes 0); NaN and ±Infinity (request rows are
 * finite, a snapshot's sample rows at registration need not be) as the strings DuckDB reads them from. A lone
 * surrogate becomes U+FFFD, as binding the string as a VARCHAR made it: JSON.stringify writes it as a `\ud800` escape
 * that DuckDB's JSON reader refuses with an error quoting the bound rows.
 */
function jsonValue(value: SourceValue): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? '-0.0' : String(value)) : `"${String(value)}"`;
  if (typeof value === 'string') return JSON.stringify(LONE_SURROGATE.test(value) ? value.replace(/\p{Cs}/gu, '\ufffd') : value);
  return value ? 'true' : 'false';
}

/** The rows as the JSON text `rowTransformSql` binds: `[{"c1":…,"c2":…},…]`. */
export function rowsJson(rows: readonly SourceValue[][], columnCount: number): string {
  let text = '[';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    text += r === 0 ? '{' : ',{';
    for (let c = 0; c < columnCount; c++) text += `${c === 0 ? '' : ','}"c${c + 1}":${jsonValue(row[c] ?? null)}`;
    text += '}';
  }
  return `${text}]`;
}

/** The rows' text values' length: `rowsJson(rows)` is at least this long, so past the limit it need not be built. */
function textLength(rows: readonly SourceValue[][]): number {
  let length = 0;
  for (const row of rows) for (const value of row) if (typeof value === 'string') length += value.length;
  return length;
}

async function parseTree(connection: DuckDbSession['connection'], transform: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql(${quoteString(transform)})`);
  return JSON.parse(String(reader.getRowsJS()[0]![0]));
}

function featureValue(value: unknown): FeatureValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isNaN(value) ? null : value;
  return String(value);
}

interface Pending {
  rows: readonly SourceValue[][];
  resolve(value: FeatureValue[][][]): void;
  reject(error: unknown): void;
}

export async function openRowTransformSession(spec: RowTransformSpec, options: { memoryLimit?: string } = {}): Promise<RowTransformSession> {
  const sql = rowTransformSql(spec);
  const columnCount = spec.source.length;
  const session: DuckDbSession = await openDuckDb({ memoryLimit: options.memoryLimit ?? '256MB', threads: 1 });
  const listTypes = spec.source.map((column) => boundType(sourceValueKind(column.type)!).list);
  let prepared: DuckDBPreparedStatement;
  // The statement with a list parameter per column, prepared when a batch's JSON would be too long.
  let preparedForLists: DuckDBPreparedStatement | undefined;
  // Whether a batch's output rows can be matched to its input rows by position (else each row runs alone).
  let positional = false;
  try {
    const { connection } = session;
    positional = spec.transform === null || keepsRowsInPlace(await parseTree(connection, spec.transform));
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    if ((await connection.extractStatements(sql)).count !== 1) throw new TransformRejectedError('the transform must be a single SELECT statement');
    try {
      prepared = await connection.prepare(sql);
    } catch (error) {
      throw new TransformRejectedError(`the transform cannot run on source rows: ${firstLine(error)}`);
    }
    if (prepared.statementType !== StatementType.SELECT) throw new TransformRejectedError('the transform must be a SELECT statement');
  } catch (error) {
    session.close();
    throw error;
  }

  let queue: Pending[] = [];
  let running = false;
  let closed = false;

  async function execute(rows: readonly SourceValue[][]): Promise<FeatureValue[][]> {
    const json = textLength(rows) <= MAX_BOUND_JSON_CHARS ? rowsJson(rows, columnCount) : undefined;
    let statement = prepared;
    if (json !== undefined && json.length <= MAX_BOUND_JSON_CHARS) prepared.bindVarchar(1, json);
    else {
      statement = preparedForLists ??= await session.connection.prepare(rowTransformSql(spec, 'lists'));
      listTypes.forEach((type, index) => statement.bindList(index + 1, listValue(rows.map((row) => row[index] ?? null)), type));
    }
    // A materialized result's chunks are read synchronously: fetching them one by one is an async round trip each
    // (and an empty one to find the end), which cost more CPU per execution than the chunks' values.
    const result = await statement.run();
    const out: FeatureValue[][] = [];
    for (let chunkIndex = 0; chunkIndex < result.chunkCount; chunkIndex++) {
      for (const row of result.getChunk(chunkIndex).convertRows(JSDuckDBValueConverter)) out.push(row.map(featureValue));
    }
    return out;
  }

  /** Positional when the transform keeps rows in place and the batch gave one row per input row; else one at a time. */
  async function perRow(rows: readonly SourceValue[][]): Promise<FeatureValue[][][]> {
    const batch = positional || rows.length === 1 ? await execute(rows) : [];
    if (rows.length === 1) return [batch];
    if (batch.length === rows.length) return batch.map((row) => [row]);
    const each: FeatureValue[][][] = [];
    for (const row of rows) each.push(await execute([row]));
    return each;
  }

  async function drain(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        let taken = 0;
        let count = 0;
        while (taken < queue.length && (taken === 0 || count + queue[taken]!.rows.length <= MAX_BATCH_ROWS)) {
          count += queue[taken]!.rows.length;
          taken += 1;
        }
        const group = queue.slice(0, taken);
        queue = queue.slice(taken);
        if (group.length === 1) {
          await perRow(group[0]!.rows).then(group[0]!.resolve, group[0]!.reject);
          continue;
        }
        try {
          const results = await perRow(group.flatMap((pending) => pending.rows));
          let offset = 0;
          for (const pending of group) {
            pending.resolve(results.slice(offset, offset + pending.rows.length));
            offset += pending.rows.length;
          }
        } catch {
          // One request's bad value must fail only that request: run them apart.
          for (const pending of group) await perRow(pending.rows).then(pending.resolve, pending.reject);
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    transformRows(rows) {
      if (closed) return Promise.reject(new Error('the row transform session is closed'));
      if (rows.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        queue.push({ rows, resolve, reject });
        if (!running) void drain();
      });
    },
    async transformBatch(rows) {
      // The prepared statement's bindings are shared: wait for queued requests to finish first.
      while (running) await new Promise((resolve) => setImmediate(resolve));
      return rows.length === 0 ? [] : execute(rows);
    },
    close() {
      if (closed) return;
      closed = true;
      const waiting = queue;
      queue = [];
      for (const pending of waiting) pending.reject(new Error('the row transform session is closed'));
      const finish = () => {
        prepared.destroySync();
        preparedForLists?.destroySync();
        session.close();
      };
      // An execution in flight finishes on its own; the statement goes once the queue is idle.
      if (!running) finish();
      else {
        const wait = setInterval(() => {
          if (!running) {
            clearInterval(wait);
            finish();
          }
        }, 10);
      }
    },
  };
}
