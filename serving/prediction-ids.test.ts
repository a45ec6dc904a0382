import { describe, expect, it } from 'vitest';
import {
  MAX_ROWS_PER_PREDICTION_BASE,
  newPredictionBaseId,
  predictionIdAt,
  predictionIdPrefix,
  predictionIdSuffix,
  splitPredictionId,
} from './prediction-ids.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('prediction ids from one base per request', () => {
  it('gives every row of a request a distinct valid v4 UUID, row 0 being the base itself', () => {
    const base = newPredictionBaseId();
    expect(base).toMatch(V4);
    expect(base.endsWith('0000')).toBe(true);
    expect(predictionIdAt(base, 0)).toBe(base);
    const ids = Array.from({ length: MAX_ROWS_PER_PREDICTION_BASE }, (_, i) => predictionIdAt(base, i));
    for (const id of ids) expect(id).toMatch(V4);
    expect(new Set(ids).size).toBe(MAX_ROWS_PER_PREDICTION_BASE);
    expect(predictionIdAt(base, 1000)).toBe(`${base.slice(0, 32)}03e8`);
    expect(predictionIdAt(base, 65535)).toBe(`${base.slice(0, 32)}ffff`);
  });

  it('writes the same ids by prefix and suffix as one by one', () => {
    const base = newPredictionBaseId();
    for (const i of [0, 1, 15, 16, 255, 256, 4095, 4096, 65535]) expect(predictionIdPrefix(base) + predictionIdSuffix(i)).toBe(predictionIdAt(base, i));
  });

  it('refuses a row index that does not fit in the low 16 bits', () => {
    const base = newPredictionBaseId();
    for (const bad of [-1, 65536, 1.5, Number.NaN]) expect(() => predictionIdAt(base, bad)).toThrow(RangeError);
  });

  it('splits an id back into its base and row index, in either case, and refuses what is not a v4 UUID', () => {
    const base = newPredictionBaseId();
    expect(splitPredictionId(predictionIdAt(base, 999))).toEqual({ baseId: base, index: 999 });
    expect(splitPredictionId(predictionIdAt(base, 65535))).toEqual({ baseId: base, index: 65535 });
    expect(splitPredictionId(predictionIdAt(base, 7).toUpperCase())).toEqual({ baseId: base, index: 7 });
    expect(splitPredictionId('not-a-uuid')).toBeUndefined();
    expect(splitPredictionId('00000000-0000-1000-8000-000000000000')).toBeUndefined();
  });

  it('draws a new random base for each request', () => {
    const bases = new Set(Array.from({ length: 1000 }, () => newPredictionBaseId()));
    expect(bases.size).toBe(1000);
  });
});
