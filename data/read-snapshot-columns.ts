// Columnar loader for training: reads a Parquet snapshot chunk by chunk straight into typed arrays
// (numbers → Float64Array with NaN for null, text → string | null), never building row objects. Text comes through
// a DuckDB ENUM of the column's distinct values as one integer code per row (its dictionary read once), so no string
// is decoded per row and, until a caller asks for strings, a text column is an Int32Array, not an array of pointers.
import type { Column, ColumnarDataset } from '../ml/dataset.js';
import { copyVector } from './copy-vector.js';
import { openDuckDb, type DuckDbOptions, type DuckDbSession } from './duckdb-session.js';
import { columnKind } from './profile-snapshot.js';
import { SourceUnreadableError } from './errors.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

/** A text column as read: `dictionary[codes[row]]`, code -1 = missing. */
export interface TextCodes {
  codes: Int32Array;
  dictionary: string[];
}

export type CodedColumn = Float64Array | TextCodes;

/** A snapshot's columns as read, text still coded: `decodeColumns` (or `selectCodedRows`) gives the trainers' shape. */
export interface CodedDataset {
  rowCount: number;
  columns: Record<string, CodedColumn>;
  label?: Float64Array;
}

export interface ReadColumnsOptions {
  features: string[];
  /** Target column; numeric and boolean targets become 0/1/real labels, text targets need `positiveClass`. */
  target?: string;
  /** For a text target: this value is label 1, every other value 0. */
  positiveClass?: string;
  /** Read these features as text even when numeric (e.g. integer-coded categories). */
  categorical?: string[];
  duckdb?: DuckDbOptions;
  /** Checked between chunks: an aborted read stops there and throws the signal's reason (a cancelled training). */
  signal?: AbortSignal;
  /** Called after every chunk with the rows read so far (a long load heartbeats through it). */
  onRows?: (rowsRead: number, rowCount: number) => void;
}

/**
 * Loads `features` (and `target`) from the Parquet file at `path`. Booleans become 0/1, dates and timestamps
 * epoch seconds, everything numeric a double; VARCHAR and `categorical` columns stay strings.
 */
export async function readSnapshotColumns(path: string, options: ReadColumnsOptions): Promise<ColumnarDataset> {
  const coded = await readSnapshotCodedColumns(path, options);
  return { ...coded, columns: decodeColumns(coded.columns) };
}

/** `readSnapshotColumns` with text columns left as codes and their dictionary. */
export async function readSnapshotCodedColumns(path: string, options: ReadColumnsOptions): Promise<CodedDataset> {
  const session = await openDuckDb(options.duckdb);
  try {
    return await readCodedColumnsWith(session.connection, path, options);
  } finally {
    session.close();
  }
}

/** `readSnapshotCodedColumns` on a session the caller opened (and closes); `options.duckdb` is not used. */
export async function readCodedColumnsWith(connection: DuckDbSession['connection'], path: string, options: ReadColumnsOptions): Promise<CodedDataset> {
  const relation = `read_parquet(${quoteString(path)})`;
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  const types = new Map(described.getRowsJS().map((row) => [String(row[0]), String(row[1])]));
  const wanted = [...options.features, ...(options.target !== undefined ? [options.target] : [])];
  const missing = wanted.filter((name) => !types.has(name));
  if (missing.length > 0) {
    throw new SourceUnreadableError(`snapshot has no column ${missing.map((name) => JSON.stringify(name)).join(', ')}`, {
      missing,
    });
  }
  const countReader = await connection.runAndReadAll(`SELECT count(*) FROM ${relation}`);
  const rowCount = Number(countReader.getRowsJS()[0]![0]);

  // The ENUM types this read creates are dropped when it ends: the session is the caller's, and may read again.
  const created: string[] = [];
  try {
    return await readCoded(connection, relation, types, rowCount, options, created);
  } finally {
    for (const name of created) await connection.run(`DROP TYPE IF EXISTS ${name}`);
  }
}

async function readCoded(
  connection: DuckDbSession['connection'],
  relation: string,
  types: ReadonlyMap<string, string>,
  rowCount: number,
  options: ReadColumnsOptions,
  created: string[],
): Promise<CodedDataset> {
  const categorical = new Set(options.categorical ?? []);
  const expressions: string[] = [];
  const readers: CodedColumn[] = [];
  for (const [index, name] of options.features.entries()) {
    const type = types.get(name)!;
    const kind = columnKind(type);
    const column = quoteIdentifier(name);
    if (categorical.has(name) || kind === 'categorical' || kind === 'other') {
      const text = `${column}::VARCHAR`;
      const dictionary = `keel_text_${index}`;
      await connection.run(`CREATE TYPE ${dictionary} AS ENUM (SELECT DISTINCT ${text} FROM ${relation} WHERE ${text} IS NOT NULL)`);
      created.push(dictionary);
      const range = await connection.runAndReadAll(`SELECT unnest(enum_range(NULL::${dictionary}))`);
      // No NULL reaches JS (-1 and NaN stand for it), so a chunk's vector is copied whole, without a validity check per row.
      expressions.push(`coalesce(enum_code(${text}::${dictionary})::INTEGER, -1)`);
      readers.push({ codes: new Int32Array(rowCount), dictionary: range.getRowsJS().map((row) => String(row[0])) });
    } else {
      expressions.push(asDoubleOrNaN(kind === 'temporal' ? `epoch(${column})` : column));
      readers.push(new Float64Array(rowCount));
    }
  }
  let label: Float64Array | undefined;
  if (options.target !== undefined) {
    const column = quoteIdentifier(options.target);
    const kind = columnKind(types.get(options.target)!);
    if (options.positiveClass !== undefined) {
      expressions.push(`CASE WHEN ${column} IS NULL THEN 'NaN'::DOUBLE WHEN ${column}::VARCHAR = ${quoteString(options.positiveClass)} THEN 1.0 ELSE 0.0 END`);
    } else if (kind === 'numeric' || kind === 'boolean') {
      expressions.push(asDoubleOrNaN(column));
    } else {
      throw new SourceUnreadableError(
        `target "${options.target}" is ${types.get(options.target)}; name its positive class to use it as a label`,
        { target: options.target },
      );
    }
    label = new Float64Array(rowCount);
    readers.push(label);
  }

  const result = await connection.stream(`SELECT ${expressions.join(', ')} FROM ${relation}`);
  let offset = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const size = chunk.rowCount;
    if (offset + size > rowCount) throw new SourceUnreadableError('snapshot changed while it was being read', {});
    readers.forEach((reader, index) => {
      copyVector(chunk.getColumnVector(index), reader instanceof Float64Array ? reader : reader.codes, offset, size);
    });
    offset += size;
    options.onRows?.(offset, rowCount);
  }
  if (offset !== rowCount) throw new SourceUnreadableError(`read ${offset} rows, the snapshot has ${rowCount}`, {});

  const columns: CodedDataset['columns'] = {};
  options.features.forEach((name, index) => {
    columns[name] = readers[index]!;
  });
  return label ? { rowCount, columns, label } : { rowCount, columns };
}

function asDoubleOrNaN(expression: string): string {
  return `coalesce(${expression}::DOUBLE, 'NaN'::DOUBLE)`;
}

export function isTextCodes(column: CodedColumn): column is TextCodes {
  return !(column instanceof Float64Array);
}

/** A text column's strings, one per row (null = missing); a numeric column as it is. */
export function decodeColumn(column: CodedColumn): Column {
  if (!isTextCodes(column)) return column;
  const { codes, dictionary } = column;
  const values = new Array<string | null>(codes.length);
  for (let row = 0; row < codes.length; row++) {
    const code = codes[row]!;
    values[row] = code < 0 ? null : dictionary[code]!;
  }
  return values;
}

export function decodeColumns(columns: Record<string, CodedColumn>): Record<string, Column> {
  return Object.fromEntries(Object.entries(columns).map(([name, column]) => [name, decodeColumn(column)]));
}

/** The rows at `indices` (e.g. one part of a split) as the trainers' dataset: only these rows' text is decoded. */
export function selectCodedRows(data: CodedDataset, indices: Uint32Array): ColumnarDataset {
  const columns: Record<string, Column> = {};
  for (const [name, column] of Object.entries(data.columns)) {
    if (!isTextCodes(column)) {
      const out = new Float64Array(indices.length);
      for (let i = 0; i < indices.length; i++) out[i] = column[indices[i]!]!;
      columns[name] = out;
    } else {
      const { codes, dictionary } = column;
      const out = new Array<string | null>(indices.length);
      for (let i = 0; i < indices.length; i++) {
        const code = codes[indices[i]!]!;
        out[i] = code < 0 ? null : dictionary[code]!;
      }
      columns[name] = out;
    }
  }
  if (data.label === undefined) return { rowCount: indices.length, columns };
  const label = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) label[i] = data.label[indices[i]!]!;
  return { rowCount: indices.length, columns, label };
}
