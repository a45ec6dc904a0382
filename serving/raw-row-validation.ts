// Checks raw request rows against a version's source schema: every source column present (null only when
// sent as null), nothing unknown, each value of its column's JSON type. Names the row and field otherwise.
import type { SourceValue } from '../data/row-transform-session.js';
import { PredictionInputError } from './errors.js';
import { sourceValueKind, type SourceColumn, type SourceValueKind } from '../workflows/contracts/serving-recipe.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;
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
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
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
      return match !== null && validCalendarDate(match[1]!, match[2]!, match[3]!) && validClock(match[4], match[5], match[6]);
    }
    case 'time': {
      const match = typeof value === 'string' ? TIME.exec(value) : null;
      return match !== null && validClock(match[1], match[2], match[3]);
    }
  }
}

/** The rows as bound values in source-column order. */
export function validateSourceRows(rows: readonly unknown[], columns: readonly SourceColumn[]): SourceValue[][] {
  const kinds = columns.map((column) => sourceValueKind(column.type));
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
      return value as SourceValue;
    });
  });
}
