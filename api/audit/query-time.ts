// An ISO 8601 time from the query string, or a 400 that names the field.
import { KeelError } from '../../errors/keel-error.js';

/** Requires a date, a time and a zone (`2026-01-31T12:00:00Z`, `…+02:00`): a zoneless time would mean the server's. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

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
  if (!ISO_TIME.test(value) || !sameDay) {
    throw new KeelError('VALIDATION_FAILED', `querystring/${field} must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z`, {
      field: `querystring/${field}`,
    });
  }
  return at;
}
