// The split's fractions, and the legacy row assignment `hash(seed, row index)`: runs started before stable splits
// (no `split` in their activity input) still train and evaluate with it. New runs assign rows by what the row
// carries (data/split-assignment.ts), so a row lands in the same part in every run.

export type SplitPart = 'train' | 'valid' | 'holdout';

export interface SplitFractions {
  valid: number;
  holdout: number;
}

export const DEFAULT_SPLIT: SplitFractions = { valid: 0.1, holdout: 0.2 };

/** A 32-bit mix of (seed, row index): murmur3's finaliser, uniform enough for splitting. */
export function rowHash(seed: number, row: number): number {
  let h = (Math.imul(row ^ 0x9e3779b9, 0x85ebca6b) ^ seed) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function splitPart(seed: number, row: number, fractions: SplitFractions = DEFAULT_SPLIT): SplitPart {
  const u = rowHash(seed, row) / 0x1_0000_0000;
  if (u < fractions.holdout) return 'holdout';
  if (u < fractions.holdout + fractions.valid) return 'valid';
  return 'train';
}

/** Row indices of each part, in row order. */
export function splitRows(
  rowCount: number,
  seed: number,
  fractions: SplitFractions = DEFAULT_SPLIT,
): Record<SplitPart, Uint32Array> {
  const parts: Record<SplitPart, number[]> = { train: [], valid: [], holdout: [] };
  for (let row = 0; row < rowCount; row++) parts[splitPart(seed, row, fractions)].push(row);
  return { train: Uint32Array.from(parts.train), valid: Uint32Array.from(parts.valid), holdout: Uint32Array.from(parts.holdout) };
}
