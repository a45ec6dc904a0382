// Prediction ids derived from their log record: one random base UUID per logged request, the row's index in its
// last 16 bits (the last 4 hex digits). Ids stay valid, unique UUIDs; the log stores one row per request, and
// feedback finds an id's record by masking the index off, then checks the index lies inside the record.
import { randomUUID } from 'node:crypto';

/** Rows a record can index (16 bits); a request never carries more than 1,000. */
export const MAX_RECORD_ROWS = 0x10000;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A fresh record base: a random v4 UUID whose last 4 hex digits are 0 (106 random bits remain). */
export function newPredictionBaseId(): string {
  return randomUUID().slice(0, 32) + '0000';
}

/** The id of row `index` of the record whose base id is `base` (index < MAX_RECORD_ROWS). */
export function predictionIdAt(base: string, index: number): string {
  return base.slice(0, 32) + HEX[(index >>> 8) & 0xff]! + HEX[index & 0xff]!;
}

/** The base id and row index an id names (`id` a lowercase UUID). */
export function splitPredictionId(id: string): { baseId: string; index: number } {
  return { baseId: id.slice(0, 32) + '0000', index: Number.parseInt(id.slice(32), 16) };
}
