// The scorer coalesces concurrent calls into one onnxruntime run; every caller must still get its own rows' scores.
import { afterAll, describe, expect, it } from 'vitest';
import { sigmoid, stumpModel } from '../../test/support/model-fixtures.js';
import { createOnnxScorer, exportModelToOnnx, OnnxInputError, type OnnxScorer } from './index.js';

/** x <= 0.5 → -1; else color red → +1, other → +0.5 (binary: sigmoid of that). */
const stump = stumpModel('binary');

let scorer: OnnxScorer;
afterAll(() => scorer?.close());

describe('createOnnxScorer', () => {
  it('when many callers score at once, then each gets the scores of its own rows, in order', async () => {
    scorer = await createOnnxScorer(exportModelToOnnx(stump, { snapshotSha256: 'a'.repeat(64), keelVersion: 'test' }));
    const requests = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 1 + (i % 3) }, (_, r) => ({ x: (i + r) % 2 === 0 ? 0 : 1, color: r === 1 ? 'blue' : 'red' })),
    );
    const results = await Promise.all(requests.map((rows) => scorer.score(rows)));
    results.forEach((scores, i) => {
      const expected = requests[i].map((row) => sigmoid(row.x <= 0.5 ? -1 : row.color === 'red' ? 1 : 0.5));
      expect(Array.from(scores.probability!)).toEqual(expected.map((p) => expect.closeTo(p, 6)));
      expect(Array.from(scores.label!)).toEqual(expected.map((p) => (p >= 0.5 ? 1 : 0)));
    });
  });

  it.each([1, 5])('with batches of at most %i rows, then each caller still gets the scores of its own rows', async (maxBatchRows) => {
    const limited = await createOnnxScorer(exportModelToOnnx(stump, { snapshotSha256: 'a'.repeat(64), keelVersion: 'test' }), { maxBatchRows });
    try {
      const requests = Array.from({ length: 12 }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, r) => ({ x: (i + r) % 2, color: r === 2 ? 'blue' : 'red' })));
      const results = await Promise.all(requests.map((rows) => limited.score(rows)));
      results.forEach((scores, i) => {
        const expected = requests[i].map((row) => sigmoid(row.x <= 0.5 ? -1 : row.color === 'red' ? 1 : 0.5));
        expect(Array.from(scores.probability!)).toEqual(expected.map((p) => expect.closeTo(p, 6)));
      });
    } finally {
      await limited.close();
    }
  });

  it('when one of the concurrent callers sends a wrong type, then only that caller fails', async () => {
    const [good, bad, alsoGood] = await Promise.allSettled([
      scorer.score([{ x: 1, color: 'red' }]),
      scorer.score([{ x: 'high' as unknown as number }]),
      scorer.score({ rowCount: 2, columns: { x: [0, null], color: [null, 'blue'] } }),
    ]);
    expect(good.status === 'fulfilled' && Array.from(good.value.probability!)).toEqual([expect.closeTo(sigmoid(1), 6)]);
    expect(bad.status === 'rejected' && bad.reason).toBeInstanceOf(OnnxInputError);
    expect(alsoGood.status === 'fulfilled' && Array.from(alsoGood.value.probability!)).toEqual([
      expect.closeTo(sigmoid(-1), 6),
      expect.closeTo(sigmoid(-1), 6),
    ]);
  });
});
