import { expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_RECORD_ROWS, newPredictionBaseId, predictionIdAt, splitPredictionId } from './prediction-ids.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('derives valid, distinct v4 UUIDs from a base and a row index, and splits them back', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_RECORD_ROWS - 1 }), (index) => {
      const base = newPredictionBaseId();
      const id = predictionIdAt(base, index);
      expect(id).toMatch(UUID_V4);
      expect(splitPredictionId(id)).toEqual({ baseId: base, index });
    }),
  );
  const base = newPredictionBaseId();
  expect(base.endsWith('0000')).toBe(true);
  const ids = Array.from({ length: 1000 }, (_, i) => predictionIdAt(base, i));
  expect(new Set(ids).size).toBe(1000);
  // Within a record ids sort by their index, so (created_at, id) pages in row order.
  expect([...ids].sort()).toEqual(ids);
});

it('when two records are made, then their ids never meet (bases differ above the index bits)', () => {
  const bases = new Set(Array.from({ length: 10_000 }, () => newPredictionBaseId()));
  expect(bases.size).toBe(10_000);
});
