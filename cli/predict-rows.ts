// `keel predict`: reads rows from CSV (DuckDB's reader, every field as text) or JSON lines, converts CSV fields to
// the JSON types the model's raw-row input declares (numbers, booleans, ISO dates as strings), and sends them in
// batches; predictions are written as CSV or JSON lines in input order.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { openDuckDb } from '../data/duckdb-session.js';
import { quoteString } from '../data/sql-literal.js';
import { usageError } from './cli-errors.js';

export type Row = Record<string, unknown>;
export interface ColumnType {
  name: string;
  /** A DuckDB type name (raw rows) or a feature kind (`numeric`, `categorical`). */
  type: string;
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|INT\d*)$/i;
const FLOAT_TYPES = /^(DOUBLE|FLOAT|REAL|DECIMAL(\(\d+,\s*\d+\))?|NUMERIC.*|numeric)$/i;

/** One CSV field (text, or null for an empty field) as the JSON value the column's type needs. */
export function convertField(value: string | null, column: ColumnType, where: string): unknown {
  if (value === null) return null;
  if (/^BOOL(EAN)?$/i.test(column.type)) {
    const lower = value.trim().toLowerCase();
    if (['true', 't', '1', 'yes'].includes(lower)) return true;
    if (['false', 'f', '0', 'no'].includes(lower)) return false;
    throw usageError(`${where}: ${JSON.stringify(value)} is not a boolean (column ${column.name} is ${column.type})`);
  }
  if (INTEGER_TYPES.test(column.type) || FLOAT_TYPES.test(column.type)) {
    const number = Number(value.trim());
    if (value.trim() === '' || !Number.isFinite(number)) {
      throw usageError(`${where}: ${JSON.stringify(value)} is not a number (column ${column.name} is ${column.type})`);
    }
    return number;
  }
  return value;
}

/** Batches of rows from a .csv or .jsonl/.ndjson file, converted by `columns` (CSV only) when given. */
export async function* readRowBatches(file: string, batchSize: number, columns: ColumnType[] | null): AsyncGenerator<Row[]> {
  try {
    await access(file);
  } catch {
    throw usageError(`cannot read ${file}`);
  }
  if (/\.(jsonl|ndjson|json)$/i.test(file)) {
    yield* jsonLineBatches(file, batchSize);
  } else if (/\.(csv|tsv|txt)$/i.test(file)) {
    yield* csvBatches(file, batchSize, columns);
  } else {
    throw usageError(`${file}: rows must be a .csv or a .jsonl (JSON lines) file`);
  }
}

async function* jsonLineBatches(file: string, batchSize: number): AsyncGenerator<Row[]> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let batch: Row[] = [];
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw usageError(`${file} line ${lineNumber} is not JSON: ${(error as Error).message}`);
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw usageError(`${file} line ${lineNumber} is not a JSON object`);
    batch.push(row as Row);
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function* csvBatches(file: string, batchSize: number, columns: ColumnType[] | null): AsyncGenerator<Row[]> {
  const session = await openDuckDb({ threads: 1 });
  try {
    let result;
    try {
      // Every field as text: the model's declared input types decide what each becomes, not DuckDB's sniffing.
      result = await session.connection.stream(`SELECT * FROM read_csv(${quoteString(file)}, header=true, all_varchar=true)`);
    } catch (error) {
      throw usageError(`${file} could not be read as CSV: ${(error as Error).message.split('\n')[0]}`);
    }
    const names = result.columnNames();
    const byName = new Map((columns ?? []).map((column) => [column.name, column]));
    const kept = columns ? names.filter((name) => byName.has(name)) : names;
    let batch: Row[] = [];
    let rowNumber = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const values of chunk.getRows()) {
        rowNumber++;
        const row: Row = {};
        names.forEach((name, index) => {
          if (!kept.includes(name)) return;
          const value = values[index] as string | null;
          const column = byName.get(name);
          row[name] = column ? convertField(value, column, `${file} row ${rowNumber}`) : value;
        });
        batch.push(row);
        if (batch.length === batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    session.close();
  }
}

export interface Prediction {
  id: string;
  label?: number | string;
  probability?: number;
  probabilities?: Record<string, number>;
  value?: number;
}

/** A prediction as flat fields, `probabilities` spread into `probability_<class>`. */
export function flatPrediction(row: number, version: number, prediction: Prediction): Record<string, unknown> {
  const { probabilities, ...rest } = prediction;
  const flat: Record<string, unknown> = { row, version, ...rest };
  for (const [name, p] of Object.entries(probabilities ?? {})) flat[`probability_${name}`] = p;
  return flat;
}

export function csvLine(values: unknown[]): string {
  return values
    .map((value) => {
      const text = value === null || value === undefined ? '' : String(value);
      return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    })
    .join(',');
}
