// Prediction ids of one request: one random v4 UUID per request (its base, low 12 bits zero) and the row index in
// those 12 bits. One randomUUID per row was a visible share of a 1,000-row batch; the log can store the base once.
import { randomUUID } from 'node:crypto';

/** Bits of an id that hold the row index: a base covers at most 4,096 rows (predict takes at most 1,000). */
export const PREDICTION_ID_INDEX_BITS = 12;
export const MAX_ROWS_PER_PREDICTION_BASE = 1 << PREDICTION_ID_INDEX_BITS;

// The last three hex digits are the index; everything before them is the base's.
const PREFIX_LENGTH = 33;
const INDEX_HEX = Array.from({ length: MAX_ROWS_PER_PREDICTION_BASE }, (_, index) => index.toString(16).padStart(3, '0'));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A random v4 UUID with its low 12 bits zero: the id of row 0, and the base of the request's other rows' ids. */
export function newPredictionBaseId(): string {
  return `${randomUUID().slice(0, PREFIX_LENGTH)}000`;
}

/**
 * The prediction id of row `index` of the request whose base is `baseId` (from newPredictionBaseId): the base with
 * the index in its low 12 bits, still a valid v4 UUID (version and variant bits lie elsewhere).
 */
export function predictionIdAt(baseId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_ROWS_PER_PREDICTION_BASE) {
    throw new RangeError(`prediction row index ${index} is outside 0..${MAX_ROWS_PER_PREDICTION_BASE - 1}`);
  }
  return baseId.slice(0, PREFIX_LENGTH) + INDEX_HEX[index]!;
}

/**
 * The ids of rows 0..count-1 are `prefix + suffix(i)`: for writing many ids into one text without a string per id
 * (same text as predictionIdAt).
 */
export function predictionIdPrefix(baseId: string): string {
  return baseId.slice(0, PREFIX_LENGTH);
}

/** The last three hex digits of row `index`'s id (0 ≤ index < 4,096; unchecked: callers loop below a checked count). */
export function predictionIdSuffix(index: number): string {
  return INDEX_HEX[index]!;
}

/** A prediction id's base and row index (feedback finds the request by its base), or undefined for a non-UUID. */
export function splitPredictionId(id: string): { baseId: string; index: number } | undefined {
  const lower = id.toLowerCase();
  if (!UUID.test(lower)) return undefined;
  return { baseId: `${lower.slice(0, PREFIX_LENGTH)}000`, index: Number.parseInt(lower.slice(PREFIX_LENGTH), 16) };
}
