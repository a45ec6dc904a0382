// Checks an uploaded file is a table DuckDB reads (CSV, Parquet or JSON lines), in the same locked-down DuckDB as
// ingest, and counts its rows and columns: a file that passes here is one a run can ingest.
import { openDuckDb } from './duckdb-session.js';
import { errorSummary } from './errors.js';
import { tableExpressionFor } from './file-reader.js';
import { KeelError } from '../errors/keel-error.js';
import { quoteStringList } from './sql-literal.js';

export type UploadFormat = 'csv' | 'parquet' | 'ndjson';

export interface UploadedTable {
  rows: number;
  columns: { name: string; type: string }[];
}

const FORMAT_BY_EXTENSION: Record<string, UploadFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.jsonl': 'ndjson',
  '.ndjson': 'ndjson',
  '.json': 'ndjson',
};

/** The extension the stored file gets, so ingest's `formatFromName` reads it as the format checked here. */
export const STORED_EXTENSION: Record<UploadFormat, string> = { csv: '.csv', parquet: '.parquet', ndjson: '.jsonl' };

/** The format a client's file name declares; null for anything else. */
export function uploadFormatOf(fileName: string): UploadFormat | null {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? null : (FORMAT_BY_EXTENSION[fileName.slice(dot).toLowerCase()] ?? null);
}

export class DatasetUnreadableError extends KeelError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DATASET_UNREADABLE', message, details);
  }
}

/** Reads the whole file once (every row parsed, so a bad row further in is found now), or throws DatasetUnreadableError. */
export async function inspectUploadedTable(
  path: string,
  format: UploadFormat,
  options: { label: string; memoryLimit?: string },
): Promise<UploadedTable> {
  const session = await openDuckDb({ memoryLimit: options.memoryLimit, threads: 1 });
  try {
    const { connection } = session;
    let expression: string;
    try {
      expression = await tableExpressionFor(connection, { path, format, label: options.label });
    } catch (error) {
      throw new DatasetUnreadableError(withoutPath((error as Error).message, path, options.label), { format });
    }
    // From here DuckDB may read this one file and nothing else.
    await connection.run(`SET allowed_paths = ${quoteStringList([path])}`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    try {
      const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${expression}`);
      const columns = described.getRowsJS().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
      const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${expression}`);
      const rows = Number(counted.getRowsJS()[0]![0]);
      if (rows === 0) throw new DatasetUnreadableError(`${options.label} has no rows`, { format });
      return { rows, columns };
    } catch (error) {
      if (error instanceof DatasetUnreadableError) throw error;
      const cause = withoutPath(errorSummary(error), path, options.label);
      throw new DatasetUnreadableError(`${options.label} could not be read as ${formatName(format)}: ${cause}`, { format });
    }
  } finally {
    session.close();
  }
}

export function formatName(format: UploadFormat): string {
  return format === 'csv' ? 'CSV' : format === 'parquet' ? 'Parquet' : 'JSON lines';
}

/** DuckDB names the temp file it read; the client knows its file by the label, and the server's paths are not its business. */
function withoutPath(message: string, path: string, label: string): string {
  return message.replaceAll(`"${path}"`, label).replaceAll(path, label);
}
