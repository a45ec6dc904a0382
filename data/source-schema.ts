// The source shape a model's feature SQL was written against: column names and DuckDB types before the
// transform, and a small sample of source rows, both captured at ingest for the version's serving recipe.
import type { DuckDBConnection } from '@duckdb/node-api';
import { openDuckDb } from './duckdb-session.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

export interface SourceColumnType {
  name: string;
  type: string;
}

/** How many source rows ingest keeps for the row-wise check and the evaluation's serving parity. */
export const SOURCE_SAMPLE_ROWS = 1000;

/** Columns of a named relation (a view over one input) as DuckDB binds them. */
export async function describeRelation(connection: DuckDBConnection, name: string): Promise<SourceColumnType[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${quoteIdentifier(name)}`);
  return reader.getRowsJS().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
}

/**
 * Writes a reproducible sample of up to SOURCE_SAMPLE_ROWS rows of `relation` (an SQL table expression) to
 * `output` as Parquet; returns how many rows it holds.
 */
export async function writeSourceSample(connection: DuckDBConnection, relation: string, output: string): Promise<number> {
  const result = await connection.run(
    `COPY (SELECT * FROM ${relation} USING SAMPLE reservoir(${SOURCE_SAMPLE_ROWS} ROWS) REPEATABLE (42)) TO ${quoteString(output)} (FORMAT parquet)`,
  );
  return result.rowsChanged;
}

/** A column as a JSON client sends it: ISO-8601 text for dates and timestamps, numbers, booleans, strings. */
function asJsonSql(column: SourceColumnType): string {
  const quoted = quoteIdentifier(column.name);
  const upper = column.type.toUpperCase();
  if (upper === 'DATE') return `strftime(${quoted}, '%Y-%m-%d')`;
  if (upper === 'TIMESTAMP WITH TIME ZONE') return `strftime(timezone('UTC', ${quoted}), '%Y-%m-%dT%H:%M:%S.%fZ')`;
  if (upper.startsWith('TIMESTAMP')) return `strftime(${quoted}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%f')`;
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/.test(upper)) {
    return `${quoted}::DOUBLE`;
  }
  if (upper === 'BOOLEAN') return quoted;
  return `${quoted}::VARCHAR`;
}

/** The sample's rows in the shape a predict request carries them (see serving/raw-row-validation.ts). */
export async function readSourceSampleRows(path: string, columns: readonly SourceColumnType[]): Promise<Record<string, unknown>[]> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const reader = await session.connection.runAndReadAll(
      `SELECT ${columns.map(asJsonSql).join(', ')} FROM read_parquet(${quoteString(path)})`,
    );
    return reader.getRowsJS().map((row) => Object.fromEntries(columns.map((column, index) => [column.name, row[index] ?? null])));
  } finally {
    session.close();
  }
}
