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

  it('with a scoring thread, then large runs score there, equal to the calling thread, and small ones stay here', async () => {
    const bytes = exportModelToOnnx(stump, { snapshotSha256: 'a'.repeat(64), keelVersion: 'test' });
    const threaded = await createOnnxScorer(bytes, { threadRows: 100 });
    const local = await createOnnxScorer(bytes);
    try {
      const rows = Array.from({ length: 300 }, (_, i) => ({ x: (i % 7) / 6, color: i % 3 === 0 ? null : i % 3 === 1 ? 'red' : 'blue' }));
      const expected = await local.score(rows);
      // The first large run starts the thread and runs here meanwhile; later ones go to the thread once it is ready.
      let scores = await threaded.score(rows);
      for (let attempt = 0; attempt < 200 && threaded.threadRuns() === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        scores = await threaded.score(rows);
      }
      expect(threaded.threadRuns()).toBeGreaterThan(0);
      expect(Array.from(scores.probability!)).toEqual(Array.from(expected.probability!));
      expect(Array.from(scores.label!)).toEqual(Array.from(expected.label!));
      const runs = threaded.threadRuns();
      const small = await threaded.score(rows.slice(0, 99));
      expect(threaded.threadRuns()).toBe(runs);
      expect(Array.from(small.probability!)).toEqual(Array.from(expected.probability!.subarray(0, 99)));
      // A bad row in a large run fails only its own caller, on the thread as here.
      const [bad, good] = await Promise.allSettled([
        threaded.score([...rows.slice(0, 150), { x: 'high' as unknown as number }]),
        threaded.score(rows),
      ]);
      expect(bad.status === 'rejected' && bad.reason).toBeInstanceOf(OnnxInputError);
      expect(good.status === 'fulfilled' && Array.from(good.value.probability!)).toEqual(Array.from(expected.probability!));
    } finally {
      await threaded.close();
      await local.close();
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
