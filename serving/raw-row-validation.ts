// Checks raw request rows against a version's source schema: every source column present (null only when
// sent as null), nothing unknown, each value of its column's JSON type. Names the row and field otherwise.
import type { SourceValue } from '../data/row-transform-session.js';
import { PredictionInputError } from './errors.js';
import { sourceValueKind, type SourceColumn, type SourceValueKind } from '../workflows/contracts/serving-recipe.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-](\d{2})(?::?(\d{2}))?)?$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?$/;

const EXPECTED: Record<SourceValueKind, string> = {
  boolean: 'true or false',
  integer: 'an integer',
  number: 'a number',
  text: 'a string',
  date: 'an ISO-8601 date string (YYYY-MM-DD)',
  timestamp: 'an ISO-8601 date-time string (YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM])',
  time: 'a time string (HH:MM[:SS[.fff]])',
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function validCalendarDate(year: string, month: string, day: string): boolean {
  // setUTCFullYear, not Date.UTC: the latter reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  return date.getUTCFullYear() === Number(year) && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}

function validClock(hours = '0', minutes = '0', seconds = '0'): boolean {
  return Number(hours) < 24 && Number(minutes) < 60 && Number(seconds) < 60;
}

function accepts(kind: SourceValueKind, value: unknown): boolean {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'text':
      return typeof value === 'string' && !value.includes('\0');
    case 'date': {
      const match = typeof value === 'string' ? DATE.exec(value) : null;
      return match !== null && validCalendarDate(match[1]!, match[2]!, match[3]!);
    }
    case 'timestamp': {
      const match = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
      return match !== null && validCalendarDate(match[1]!, match[2]!, match[3]!) && validClock(match[4], match[5], match[6]) && validClock(match[8], match[9]);
    }
    case 'time': {
      const match = typeof value === 'string' ? TIME.exec(value) : null;
      return match !== null && validClock(match[1], match[2], match[3]);
    }
  }
}

const INTEGER_BITS: Record<string, { bits: number; signed: boolean }> = {
  TINYINT: { bits: 8, signed: true },
  SMALLINT: { bits: 16, signed: true },
  INTEGER: { bits: 32, signed: true },
  UTINYINT: { bits: 8, signed: false },
  USMALLINT: { bits: 16, signed: false },
  UINTEGER: { bits: 32, signed: false },
  UBIGINT: { bits: 64, signed: false },
  UHUGEINT: { bits: 128, signed: false },
};

/**
 * The range a number must lie in to be cast to the column's type; undefined when any finite (safe) number
 * fits. Checked here because the cast runs only for columns the feature SQL reads: an ignored column's bad value
 * would otherwise pass silently into the log.
 */
function numericRange(type: string): { min: number; max: number; exclusive?: true } | undefined {
  const upper = type.toUpperCase();
  const integer = INTEGER_BITS[upper];
  if (integer) {
    const span = 2 ** (integer.signed ? integer.bits - 1 : integer.bits);
    return integer.signed ? { min: -span, max: span - 1 } : { min: 0, max: Math.min(span - 1, Number.MAX_SAFE_INTEGER) };
  }
  if (upper === 'FLOAT') return { min: -3.4028234663852886e38, max: 3.4028234663852886e38 };
  const decimal = /^DECIMAL(?:\((\d+),\s*(\d+)\))?$/.exec(upper);
  if (decimal) {
    const [width, scale] = decimal[1] === undefined ? [18, 3] : [Number(decimal[1]), Number(decimal[2])];
    // Values that round up to 10^(width-scale) at this scale are out of range too.
    const limit = 10 ** (width - scale) - 0.5 * 10 ** -scale;
    return { min: -limit, max: limit, exclusive: true };
  }
  return undefined;
}

function hasNonZeroOffset(timestamp: string): boolean {
  const offset = TIMESTAMP.exec(timestamp)?.[7];
  return offset !== undefined && offset !== 'Z' && /[1-9]/.test(offset);
}

function outside(value: number, range: { min: number; max: number; exclusive?: true }): boolean {
  return range.exclusive ? value <= range.min || value >= range.max : value < range.min || value > range.max;
}

/** The rows as bound values in source-column order. */
export function validateSourceRows(rows: readonly unknown[], columns: readonly SourceColumn[]): SourceValue[][] {
  const kinds = columns.map((column) => sourceValueKind(column.type));
  const ranges = columns.map((column) => numericRange(column.type));
  const known = new Set(columns.map((column) => column.name));
  return rows.map((row, rowIndex) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PredictionInputError(rowIndex, '', `expected an object of source columns, got ${describe(row)}`);
    }
    const record = row as Record<string, unknown>;
    for (const field of Object.keys(record)) {
      if (!known.has(field)) throw new PredictionInputError(rowIndex, field, "is not a column of this model's source");
    }
    return columns.map((column, index) => {
      if (!Object.prototype.hasOwnProperty.call(record, column.name)) {
        throw new PredictionInputError(rowIndex, column.name, `is missing (a ${column.type} source column; send null explicitly for a missing value)`);
      }
      const value = record[column.name];
      if (value === null) return null;
      const kind = kinds[index];
      if (!kind) throw new PredictionInputError(rowIndex, column.name, `has source type ${column.type}, which JSON rows cannot carry`);
      if (!accepts(kind, value)) {
        throw new PredictionInputError(rowIndex, column.name, `expected ${EXPECTED[kind]} or null for ${column.type}, got ${describe(value)}`);
      }
      if (kind === 'timestamp' && !/TIME ZONE|TIMESTAMPTZ/.test(column.type.toUpperCase()) && hasNonZeroOffset(value as string)) {
        // DuckDB drops an offset when casting to a TIMESTAMP without time zone, which would shift the instant silently.
        throw new PredictionInputError(rowIndex, column.name, `${column.type} is without time zone: send the time without a UTC offset (or with Z), got ${describe(value)}`);
      }
      const range = ranges[index];
      if (range && outside(value as number, range)) {
        throw new PredictionInputError(rowIndex, column.name, `${String(value)} is out of range for ${column.type}`);
      }
      return value as SourceValue;
    });
  });
}
