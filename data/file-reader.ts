// Turns a local CSV/Parquet/JSON file into a DuckDB table expression, refusing files DuckDB would misread.
import { open, stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CsvOptions, FileFormat } from './dataset-source.js';
import { SourceUnreadableError, errorSummary } from './errors.js';
import { quoteString } from './sql-literal.js';

export interface LocalInput {
  /** Real path of the file on this machine. */
  path: string;
  format?: FileFormat;
  csv?: CsvOptions;
  /** How to name the input in error messages (the path or URL the engineer gave). */
  label: string;
  /** Explicit column types (SQL extracts): no sniffing at all. */
  columnTypes?: { name: string; type: string }[];
}

const DELIMITER_CANDIDATES = [',', ';', '\t', '|'];
const HEAD_BYTES = 64 * 1024;

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Parquet by magic bytes, JSON by a leading `[`/`{`, else CSV. */
export function sniffFormat(head: Buffer): FileFormat {
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('[')) return 'json';
  if (text.startsWith('{')) return /\}\s*\r?\n\s*\{/.test(text) ? 'ndjson' : 'json';
  return 'csv';
}

/** The most frequent candidate delimiter outside quotes on the first line, if any. */
function delimiterInHeader(head: Buffer): string | undefined {
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const firstLineText = text.split(/\r?\n/, 1)[0] ?? '';
  const unquoted = firstLineText.replace(/"[^"]*"/g, '');
  let best: string | undefined;
  let bestCount = 0;
  for (const candidate of DELIMITER_CANDIDATES) {
    const count = unquoted.split(candidate).length - 1;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}

function csvExpression(path: string, options: CsvOptions, delimiter: string | undefined): string {
  const parts = [quoteString(path)];
  if (delimiter !== undefined) parts.push(`delim=${quoteString(delimiter)}`);
  const quote = options.quote ?? '"';
  parts.push(`quote=${quoteString(quote)}`, `escape=${quoteString(quote)}`);
  // skip=0: the sniffer would otherwise skip leading rows it finds inconsistent and take a data row as the header.
  parts.push(`header=${options.header === false ? 'false' : 'true'}`, 'skip=0');
  if (options.decimalSeparator) parts.push(`decimal_separator=${quoteString(options.decimalSeparator)}`);
  // Ragged rows and stray quotes are errors, never silently padded or merged.
  parts.push('strict_mode=true', 'null_padding=false');
  return `read_csv(${parts.join(', ')})`;
}

/** DuckDB's column list for an expression, turning its parse errors into SourceUnreadableError. */
async function describe(connection: DuckDBConnection, expression: string, label: string) {
  try {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${expression}`);
    return reader.getRowsJS().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
  } catch (error) {
    throw unreadable(label, error);
  }
}

export function unreadable(label: string, error: unknown): SourceUnreadableError {
  const cause = errorSummary(error);
  const hint = /sniff|dialect|unterminated|quote|expected \d+ values|too many columns|columns were expected/i.test(
    cause,
  )
    ? ' (rows with a different number of fields than the header, or unbalanced quotes?)'
    : '';
  return new SourceUnreadableError(`${label} could not be read as a table: ${cause}${hint}`, { source: label });
}

/**
 * A `read_*` table expression for the file, checked now (schema sniffing) so the error names the file.
 * Row-level errors further into a large file still surface when the snapshot is written.
 */
export async function tableExpressionFor(connection: DuckDBConnection, input: LocalInput): Promise<string> {
  const info = await stat(input.path);
  if (info.size === 0) {
    throw new SourceUnreadableError(`${input.label} is empty (0 bytes)`, { source: input.label });
  }
  const head = await readHead(input.path);
  const format = input.format ?? sniffFormat(head);
  const path = quoteString(input.path);
  switch (format) {
    case 'parquet': {
      const expression = `read_parquet(${path})`;
      await describe(connection, expression, input.label);
      return expression;
    }
    case 'json':
    case 'ndjson': {
      const layout = format === 'ndjson' ? 'newline_delimited' : 'auto';
      const expression = `read_json(${path}, format=${quoteString(layout)})`;
      await describe(connection, expression, input.label);
      return expression;
    }
    case 'csv': {
      if (input.columnTypes) {
        const columns = input.columnTypes.map((column) => `${quoteString(column.name)}: ${quoteString(column.type)}`);
        // Quoted empty strings stay empty strings; only unquoted empty fields are NULL.
        return `read_csv(${path}, header=true, auto_detect=false, delim=',', quote='"', escape='"', allow_quoted_nulls=false, columns={${columns.join(', ')}})`;
      }
      const options = input.csv ?? {};
      let expression = csvExpression(input.path, options, options.delimiter);
      const columns = await describe(connection, expression, input.label);
      const headerDelimiter = options.delimiter ? undefined : delimiterInHeader(head);
      if (columns.length === 1 && headerDelimiter !== undefined) {
        // DuckDB's sniffer falls back to one column when rows disagree on field count; read with the
        // header's delimiter instead so the ragged rows become an error rather than one big text column.
        expression = csvExpression(input.path, options, headerDelimiter);
        await describe(connection, expression, input.label);
      }
      return expression;
    }
  }
}
