// Prediction ids of one request: one random v4 UUID per request (its base, low 16 bits zero) and the row index in
// those 16 bits (the last 4 hex digits), the scheme of the columnar prediction log (db/prediction-ids.ts, which draws the base).
// One randomUUID per row was a visible share of a 1,000-row batch; the log stores the base once per request.
import { MAX_RECORD_ROWS, newPredictionBaseId } from '../db/prediction-ids.js';

export { newPredictionBaseId };

/** Bits of an id that hold the row index: a base covers 65,536 rows (predict takes at most 1,000). */
export const PREDICTION_ID_INDEX_BITS = 16;
export const MAX_ROWS_PER_PREDICTION_BASE = MAX_RECORD_ROWS;

// The last four hex digits are the index; everything before them is the base's.
const PREFIX_LENGTH = 32;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The prediction id of row `index` of the request whose base is `baseId` (from newPredictionBaseId): the base with
 * the index in its low 16 bits, still a valid v4 UUID (version and variant bits lie elsewhere).
 */
export function predictionIdAt(baseId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_ROWS_PER_PREDICTION_BASE) {
    throw new RangeError(`prediction row index ${index} is outside 0..${MAX_ROWS_PER_PREDICTION_BASE - 1}`);
  }
  return baseId.slice(0, PREFIX_LENGTH) + predictionIdSuffix(index);
}

/**
 * The ids of rows 0..count-1 are `prefix + suffix(i)`: for writing many ids into one text without slicing the base
 * per id (same text as predictionIdAt).
 */
export function predictionIdPrefix(baseId: string): string {
  return baseId.slice(0, PREFIX_LENGTH);
}

/** The last four hex digits of row `index`'s id (0 ≤ index < 65,536; unchecked: callers loop below a checked count). */
export function predictionIdSuffix(index: number): string {
  return HEX[(index >>> 8) & 0xff]! + HEX[index & 0xff]!;
}

/** A prediction id's base and row index (feedback finds the request by its base), or undefined for a non-v4 UUID. */
export function splitPredictionId(id: string): { baseId: string; index: number } | undefined {
  const lower = id.toLowerCase();
  if (!UUID.test(lower)) return undefined;
  return { baseId: `${lower.slice(0, PREFIX_LENGTH)}0000`, index: Number.parseInt(lower.slice(PREFIX_LENGTH), 16) };
}
