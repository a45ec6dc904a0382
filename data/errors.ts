// One error class per kind of data-plane failure, each with a stable `code` that activities use as the
// Temporal ApplicationFailure type (non-retryable: retrying cannot fix a refused or unreadable source).

export const DATA_ERROR_CODES = [
  'SOURCE_NOT_ALLOWED',
  'SOURCE_NOT_FOUND',
  'SOURCE_UNREADABLE',
  'SOURCE_QUERY_REJECTED',
  'TRANSFORM_REJECTED',
  'DATA_REJECTED',
] as const;
export type DataErrorCode = (typeof DATA_ERROR_CODES)[number];

export abstract class DataPlaneError extends Error {
  abstract readonly code: DataErrorCode;
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The source is outside what an admin allowed: a path outside the data roots, a private address, an unknown connection. */
export class SourceNotAllowedError extends DataPlaneError {
  readonly code = 'SOURCE_NOT_ALLOWED';
}

/** The source does not exist: a missing file, a 404 URL. */
export class SourceNotFoundError extends DataPlaneError {
  readonly code = 'SOURCE_NOT_FOUND';
}

/** The source exists but cannot be read as a table: empty, ragged, bad quoting, unsupported format, failing query. */
export class SourceUnreadableError extends DataPlaneError {
  readonly code = 'SOURCE_UNREADABLE';
}

/** A SQL source query that is not a single read-only SELECT. */
export class SourceQueryRejectedError extends DataPlaneError {
  readonly code = 'SOURCE_QUERY_REJECTED';
}

/** Feature SQL that is not a single SELECT, or that tries to reach anything but its inputs. */
export class TransformRejectedError extends DataPlaneError {
  readonly code = 'TRANSFORM_REJECTED';
}

/** The data was read but failed validation; `details.reportId` names the stored report. */
export class DataRejectedError extends DataPlaneError {
  readonly code = 'DATA_REJECTED';
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
