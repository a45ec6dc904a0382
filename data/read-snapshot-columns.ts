// Columnar loader for training: reads a Parquet snapshot chunk by chunk straight into typed arrays
// (numbers → Float64Array with NaN for null, text → string | null), never building row objects. Text comes through
// a DuckDB ENUM of the column's distinct values, so every row of a value shares one JS string: no string decoded
// per row, and the heap holds as many strings as there are distinct values, not rows.
import type { DuckDBVector } from '@duckdb/node-api';
import type { ColumnarDataset } from '../ml/dataset.js';
import { openDuckDb, type DuckDbOptions } from './duckdb-session.js';
import { columnKind } from './profile-snapshot.js';
import { SourceUnreadableError } from './errors.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

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

type Reader = { kind: 'number'; values: Float64Array } | { kind: 'text'; values: (string | null)[]; dictionary: string[] };

/**
 * Loads `features` (and `target`) from the Parquet file at `path`. Booleans become 0/1, dates and timestamps
 * epoch seconds, everything numeric a double; VARCHAR and `categorical` columns stay strings.
 */
export async function readSnapshotColumns(path: string, options: ReadColumnsOptions): Promise<ColumnarDataset> {
  const session = await openDuckDb(options.duckdb);
  try {
    const { connection } = session;
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
    const categorical = new Set(options.categorical ?? []);
    const countReader = await connection.runAndReadAll(`SELECT count(*) FROM ${relation}`);
    const rowCount = Number(countReader.getRowsJS()[0]![0]);

    const expressions: string[] = [];
    const readers: Reader[] = [];
    for (const [index, name] of options.features.entries()) {
      const type = types.get(name)!;
      const kind = columnKind(type);
      const column = quoteIdentifier(name);
      if (categorical.has(name) || kind === 'categorical' || kind === 'other') {
        const text = `${column}::VARCHAR`;
        const dictionary = `keel_text_${index}`;
        await connection.run(`CREATE TYPE ${dictionary} AS ENUM (SELECT DISTINCT ${text} FROM ${relation} WHERE ${text} IS NOT NULL)`);
        const range = await connection.runAndReadAll(`SELECT unnest(enum_range(NULL::${dictionary}))`);
        expressions.push(`enum_code(${text}::${dictionary})`);
        readers.push({ kind: 'text', values: new Array<string | null>(rowCount), dictionary: range.getRowsJS().map((row) => String(row[0])) });
      } else {
        expressions.push(kind === 'temporal' ? `epoch(${column})::DOUBLE` : `${column}::DOUBLE`);
        readers.push({ kind: 'number', values: new Float64Array(rowCount) });
      }
    }
    let label: Float64Array | undefined;
    if (options.target !== undefined) {
      const column = quoteIdentifier(options.target);
      const kind = columnKind(types.get(options.target)!);
      if (options.positiveClass !== undefined) {
        expressions.push(`CASE WHEN ${column} IS NULL THEN NULL WHEN ${column}::VARCHAR = ${quoteString(options.positiveClass)} THEN 1.0 ELSE 0.0 END`);
      } else if (kind === 'numeric' || kind === 'boolean') {
        expressions.push(`${column}::DOUBLE`);
      } else {
        throw new SourceUnreadableError(
          `target "${options.target}" is ${types.get(options.target)}; name its positive class to use it as a label`,
          { target: options.target },
        );
      }
      label = new Float64Array(rowCount);
      readers.push({ kind: 'number', values: label });
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
        const vector: DuckDBVector = chunk.getColumnVector(index);
        if (reader.kind === 'number') {
          const values = reader.values;
          for (let row = 0; row < size; row += 1) {
            const value = vector.getItem(row) as number | null;
            values[offset + row] = value === null ? Number.NaN : value;
          }
        } else {
          const { values, dictionary } = reader;
          for (let row = 0; row < size; row += 1) {
            const code = vector.getItem(row) as number | null;
            values[offset + row] = code === null ? null : dictionary[code]!;
          }
        }
      });
      offset += size;
      options.onRows?.(offset, rowCount);
    }
    if (offset !== rowCount) throw new SourceUnreadableError(`read ${offset} rows, the snapshot has ${rowCount}`, {});

    const columns: ColumnarDataset['columns'] = {};
    options.features.forEach((name, index) => {
      columns[name] = readers[index]!.values;
    });
    return label ? { rowCount, columns, label } : { rowCount, columns };
  } finally {
    session.close();
  }
}
