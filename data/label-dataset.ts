// Delayed labels from a dataset file: checked whole in a locked-down DuckDB first, then streamed out in batches,
// so a bad row is found before anything is written and the file never sits in JS memory at once.
import type { DuckDBConnection } from '@duckdb/node-api';
import { KeelError } from '../errors/keel-error.js';
import { resolveAllowedPath } from './allowed-path.js';
import { formatFromName } from './dataset-source.js';
import { openDuckDb } from './duckdb-session.js';
import { errorSummary } from './errors.js';
import { tableExpressionFor, unreadable } from './file-reader.js';
import { quoteIdentifier, quoteStringList } from './sql-literal.js';

export interface LabelDatasetRequest {
  /** A local path inside the data roots (relative paths are relative to the first root). */
  path: string;
  idColumn: string;
  labelColumn: string;
  /** binary: labels 0/1 or true/false; regression: numbers within ±1e100; multiclass: class names (any value as text). */
  task: 'binary' | 'regression' | 'multiclass';
}

export interface LabelDatasetSettings {
  dataRoots: string[];
  duckdbMemoryLimit?: string;
}

/**
 * Largest regression label (either sign). float8 holds up to 1.8e308, but the monitor sums squared errors in Postgres,
 * which refuses a float8 overflow: one label of 1e308 (or 1e155) failed every report of its window. 1e100 squared,
 * summed over any number of rows, stays far inside float8.
 */
export const MAX_ABS_REGRESSION_LABEL = 1e100;

export type DatasetLabel = { predictionId: string; label: number } | { predictionId: string; labelClass: string };

/** A row of a feedback dataset (or an item of a feedback request) that cannot be taken; names where and which field. */
export class FeedbackInvalidError extends KeelError {
  constructor(message: string, details: { index?: number; row?: number; field: string }) {
    super('FEEDBACK_INVALID', message, details);
  }
}

/** Validates the whole dataset, then yields its (prediction id, label) pairs in batches of `batchRows`. */
export async function* readLabelBatches(
  request: LabelDatasetRequest,
  settings: LabelDatasetSettings,
  batchRows: number,
): AsyncGenerator<DatasetLabel[]> {
  const path = await resolveAllowedPath(request.path, settings.dataRoots);
  const session = await openDuckDb({ memoryLimit: settings.duckdbMemoryLimit, threads: 1 });
  try {
    const { connection } = session;
    const label = `file ${JSON.stringify(request.path)}`;
    const expression = await tableExpressionFor(connection, { path, format: formatFromName(path), label });
    await connection.run(`CREATE VIEW labels_source AS SELECT * FROM ${expression}`);
    // DuckDB may read this one file and nothing else from here on.
    await connection.run(`SET allowed_paths = ${quoteStringList([path])}`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');

    const columns = await columnTypes(connection);
    for (const [field, column] of [['idColumn', request.idColumn], ['labelColumn', request.labelColumn]] as const) {
      if (!columns.has(column)) {
        throw new FeedbackInvalidError(`${label} has no column ${JSON.stringify(column)} (${field}); it has ${[...columns.keys()].join(', ')}`, {
          field,
        });
      }
    }
    const id = quoteIdentifier(request.idColumn);
    const value =
      request.task === 'multiclass'
        ? `CAST(${quoteIdentifier(request.labelColumn)} AS VARCHAR)`
        : labelExpression(quoteIdentifier(request.labelColumn), columns.get(request.labelColumn)!);
    const rows = `SELECT row_number() OVER () - 1 AS row_index, ${id} AS id, ${value} AS label FROM labels_source`;
    const valid =
      request.task === 'binary' ? 'label IN (0, 1)' : request.task === 'multiclass' ? "label <> ''" : `label IS NOT NULL AND isfinite(label) AND abs(label) <= ${MAX_ABS_REGRESSION_LABEL}`;
    const bad = await readAll(
      connection,
      `SELECT row_index, TRY_CAST(id AS UUID) IS NULL AS bad_id FROM (${rows})
        WHERE TRY_CAST(id AS UUID) IS NULL OR label IS NULL OR NOT (${valid}) ORDER BY row_index LIMIT 1`,
    );
    if (bad.length > 0) {
      const [rowIndex, badId] = bad[0]!;
      const field = badId ? request.idColumn : request.labelColumn;
      const problem = badId
        ? 'is not a prediction id (uuid)'
        : request.task === 'binary'
          ? 'must be 0 or 1 (or true/false)'
          : request.task === 'multiclass'
            ? "must be the true class's name (not empty)"
            : `must be a finite number within ±${MAX_ABS_REGRESSION_LABEL}`;
      throw new FeedbackInvalidError(`${label} row ${Number(rowIndex)}: ${field} ${problem}`, { row: Number(rowIndex), field });
    }

    const result = await connection.stream(`SELECT CAST(id AS UUID)::VARCHAR, label FROM (${rows}) ORDER BY row_index`);
    let batch: DatasetLabel[] = [];
    for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const [predictionId, labelValue] of chunk.getRows()) {
        batch.push(
          request.task === 'multiclass'
            ? { predictionId: String(predictionId), labelClass: String(labelValue) }
            : { predictionId: String(predictionId), label: Number(labelValue) },
        );
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  } catch (error) {
    if (error instanceof KeelError || (error as { code?: unknown }).code !== undefined) throw error;
    throw unreadable(`file ${JSON.stringify(request.path)}`, error);
  } finally {
    session.close();
  }
}

/** Booleans (and the words true/false) become 1/0, anything else is read as a number (NULL when it is not one). */
function labelExpression(column: string, type: string): string {
  if (type === 'BOOLEAN') return `CAST(${column} AS DOUBLE)`;
  if (type === 'VARCHAR') {
    return `CASE lower(trim(${column})) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 ELSE TRY_CAST(${column} AS DOUBLE) END`;
  }
  return `TRY_CAST(${column} AS DOUBLE)`;
}

async function columnTypes(connection: DuckDBConnection): Promise<Map<string, string>> {
  const rows = await readAll(connection, 'DESCRIBE SELECT * FROM labels_source');
  return new Map(rows.map((row) => [String(row[0]), String(row[1])]));
}

async function readAll(connection: DuckDBConnection, sql: string): Promise<unknown[][]> {
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowsJS();
  } catch (error) {
    throw new Error(errorSummary(error), { cause: error });
  }
}
