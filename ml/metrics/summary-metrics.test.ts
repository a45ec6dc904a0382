import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logLoss, mae, rmse, rocAuc } from './index.js';
import { aucFromBinnedCounts, logLossFromSum, maeFromSums, rmseFromSums } from './summary-metrics.js';

describe('aucFromBinnedCounts', () => {
  it('when each bin holds one distinct score, then it equals rocAuc', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 20 })), { minLength: 2, maxLength: 80 })
          .filter((rows) => rows.some(([y]) => y === 1) && rows.some(([y]) => y === 0)),
        (rows) => {
          const positives = new Array<number>(21).fill(0);
          const negatives = new Array<number>(21).fill(0);
          for (const [y, bin] of rows) (y === 1 ? positives : negatives)[bin]++;
          const exact = rocAuc(rows.map(([y]) => y), rows.map(([, bin]) => bin));
          expect(aucFromBinnedCounts(positives, negatives)).toBeCloseTo(exact, 12);
        },
      ),
    );
  });

  it('when a class is absent, then it is NaN', () => {
    expect(aucFromBinnedCounts([0, 0], [1, 2])).toBeNaN();
  });
});

describe('metrics from sums', () => {
  it('when the sums come from the rows, then RMSE, MAE and log loss match the row-wise metrics', () => {
    const y = [3, -0.5, 2, 7];
    const yhat = [2.5, 0, 2, 8];
    expect(rmseFromSums(0.25 + 0.25 + 0 + 1, 4)).toBeCloseTo(rmse(y, yhat), 14);
    expect(maeFromSums(0.5 + 0.5 + 0 + 1, 4)).toBeCloseTo(mae(y, yhat), 14);
    expect(logLossFromSum(-(Math.log(0.9) + Math.log(0.8) + Math.log(0.7)), 3)).toBeCloseTo(logLoss([1, 0, 1], [0.9, 0.2, 0.7]), 14);
    expect(rmseFromSums(0, 0)).toBeNaN();
  });
});
