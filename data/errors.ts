// One error class per kind of data-plane failure. Each is a KeelError whose code (from errors/error-codes.ts)
// activities use as the Temporal ApplicationFailure type; all are non-retryable: retrying cannot fix a refused or
// unreadable source.
import type { ErrorCode } from '../errors/error-codes.js';
import { KeelError } from '../errors/keel-error.js';

export abstract class DataPlaneError extends KeelError {
  declare readonly details: Record<string, unknown>;
  protected constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/** The source is outside what an admin allowed: a path outside the data roots, a private address, an unknown connection. */
export class SourceNotAllowedError extends DataPlaneError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SOURCE_NOT_ALLOWED', message, details);
  }
}

/** The source does not exist: a missing file, a 404 URL. */
export class SourceNotFoundError extends DataPlaneError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SOURCE_NOT_FOUND', message, details);
  }
}

/** The source exists but cannot be read as a table: empty, ragged, bad quoting, unsupported format, failing query. */
export class SourceUnreadableError extends DataPlaneError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SOURCE_UNREADABLE', message, details);
  }
}

/** A SQL source query that is not a single read-only SELECT. */
export class SourceQueryRejectedError extends DataPlaneError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SOURCE_QUERY_REJECTED', message, details);
  }
}

/** Feature SQL that is not a single SELECT, or that tries to reach anything but its inputs. */
export class TransformRejectedError extends DataPlaneError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TRANSFORM_REJECTED', message, details);
  }
}

/** The data was read but failed validation; `details.reportId` names the stored report. */
export class DataRejectedError extends DataPlaneError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('DATA_REJECTED', message, details);
  }
}

export function isDataPlaneError(error: unknown): error is DataPlaneError {
  return error instanceof DataPlaneError;
}

/** The first line of a DuckDB/pg error message: the rest is search-space dumps that bury the cause. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

/**
 * The leading paragraph of a DuckDB error (what failed, on which line, which column and value type), without
 * the row's content and without the sniffer settings dump that follows the first blank line.
 */
export function errorSummary(error: unknown, maxLength = 300): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines: string[] = [];
  for (const line of message.split('\n')) {
    if (line.trim() === '' || /^(The search space used was|Possible (fixes|solutions))/i.test(line.trim())) break;
    if (/^Original Line:/i.test(line.trim())) continue;
    lines.push(line.trim());
  }
  const summary = lines.join(' ');
  return summary.length > maxLength ? `${summary.slice(0, maxLength - 1)}…` : summary;
}
