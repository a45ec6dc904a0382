// An ISO 8601 time from the query string, or a 400 that names the field.
import { KeelError } from '../../errors/keel-error.js';

/** Requires a date, a time and a zone (`2026-01-31T12:00:00Z`, `…+02:00`): a zoneless time would mean the server's. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Times a query may compare with a timestamptz column: years 1 to 9999. JavaScript's Date reaches year ±275760 and has a
 * year 0; Postgres has neither, and the query failed on such a parameter (a 500).
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

export function isStorableTime(time: Date): boolean {
  const ms = time.getTime();
  return ms >= EARLIEST && ms <= LATEST;
}

export function parseQueryTime(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  // Date also rolls 2026-02-30 over to March: the round trip of the date part catches that.
  const sameDay = (() => {
    if (Number.isNaN(at.getTime())) return false;
    const offset = /([+-])(\d{2}):(\d{2})$/.exec(value);
    const minutes = offset ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
    return new Date(at.getTime() + minutes * 60_000).toISOString().slice(0, 10) === value.slice(0, 10);
  })();
  if (!ISO_TIME.test(value) || !sameDay || !isStorableTime(at)) {
    throw new KeelError('VALIDATION_FAILED', `querystring/${field} must be an ISO 8601 time with a zone in the years 0001–9999, e.g. 2026-01-31T12:00:00Z`, {
      field: `querystring/${field}`,
    });
  }
  return at;
}
