import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binaryMetrics,
  calibrationBins,
  confusionMatrix,
  logLoss,
  mae,
  r2,
  regressionMetrics,
  rmse,
  rocAuc,
} from './index.js';

/** O(n²) pair counting: the definition the fast AUC must agree with. */
function pairwiseAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) wins++;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

const labelledScores = fc
  // Scores on a coarse grid, so ties are common and transforms below stay strictly monotone in floating point.
  .array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: -1000, max: 1000 }).map((k) => k / 10)), { minLength: 2, maxLength: 60 })
  .filter((rows) => rows.some(([y]) => y === 1) && rows.some(([y]) => y === 0))
  .map((rows) => ({ labels: rows.map(([y]) => y), scores: rows.map(([, s]) => s) }));

describe('rocAuc', () => {
  it('when given scikit-learn documented example, then it is 0.75', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
  });

  it('when a positive and a negative tie, then the pair counts one half', () => {
    // Pairs: (0.5 vs 0.5) tie = 0.5, (0.5 vs 0.2) = 1, (0.9 vs 0.5) = 1, (0.9 vs 0.2) = 1 → 3.5 / 4.
    expect(rocAuc([1, 1, 0, 0], [0.5, 0.9, 0.5, 0.2])).toBe(0.875);
    expect(rocAuc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });

  it('when only one class is present, then it is NaN and binaryMetrics reports null', () => {
    expect(rocAuc([1, 1], [0.2, 0.4])).toBeNaN();
    expect(binaryMetrics([0, 0], [0.2, 0.4]).auc).toBeNull();
  });

  it('rejects labels other than 0 and 1', () => {
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(/0 or 1/);
  });

  it('agrees with pair counting on any data', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels, scores }) => {
        expect(rocAuc(labels, scores)).toBeCloseTo(pairwiseAuc(labels, scores), 12);
      }),
    );
  });

  it('when scores rank every positive above every negative, then it is 1, and reversed it is 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), (pos, neg) => {
        const labels = [...Array<number>(neg).fill(0), ...Array<number>(pos).fill(1)];
        const scores = labels.map((_, i) => i);
        expect(rocAuc(labels, scores)).toBe(1);
        expect(rocAuc(labels, scores.map((s) => -s))).toBe(0);
      }),
    );
  });

  it('is unchanged by a strictly increasing transform of the scores', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels, scores }) => {
        const squashed = scores.map((s) => Math.exp(s / 40) * 7 + 3);
        expect(rocAuc(labels, squashed)).toBe(rocAuc(labels, scores));
      }),
    );
  });

  it('of 1 - p is 1 - AUC(p)', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels, scores }) => {
        const p = scores.map((s) => 1 / (1 + Math.exp(-s / 50)));
        expect(rocAuc(labels, p.map((v) => 1 - v))).toBeCloseTo(1 - rocAuc(labels, p), 12);
      }),
    );
  });
});

describe('logLoss', () => {
  it('when computed by hand, then it matches', () => {
    // -(ln 0.9 + ln 0.8 + ln 0.7) / 3
    const expected = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.7)) / 3;
    expect(logLoss([1, 0, 1], [0.9, 0.2, 0.7])).toBeCloseTo(expected, 14);
  });

  it('when a prediction is certain and wrong, then it is large but finite (clipped)', () => {
    const loss = logLoss([1, 0], [0, 1]);
    expect(Number.isFinite(loss)).toBe(true);
    // Both rows cost -ln(eps) up to the rounding of 1 - eps.
    expect(loss).toBeCloseTo(-(Math.log(1e-15) + Math.log(1 - (1 - 1e-15))) / 2, 10);
  });

  it('is never negative', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 50 }),
        (rows) => {
          expect(logLoss(rows.map(([y]) => y), rows.map(([, p]) => p))).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});

describe('threshold metrics', () => {
  const labels = [1, 1, 1, 0, 0, 0, 0, 1];
  const probs = [0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.5, 0.5];

  it('when probability equals the threshold, then the prediction is positive', () => {
    expect(confusionMatrix(labels, probs, 0.5)).toEqual({
      truePositives: 3, // 0.9, 0.6, 0.5
      falsePositives: 2, // 0.7, 0.5
      trueNegatives: 2,
      falseNegatives: 1, // 0.4
    });
  });

  it('when computed by hand, then accuracy, precision, recall and F1 match', () => {
    const m = binaryMetrics(labels, probs);
    expect(m.accuracy).toBeCloseTo(5 / 8, 14);
    expect(m.precision).toBeCloseTo(3 / 5, 14);
    expect(m.recall).toBeCloseTo(3 / 4, 14);
    expect(m.f1).toBeCloseTo((2 * (3 / 5) * (3 / 4)) / (3 / 5 + 3 / 4), 14);
    expect(m.count).toBe(8);
    expect(m.positives).toBe(4);
  });

  it('when nothing is predicted positive, then precision and F1 are 0 rather than NaN', () => {
    const m = binaryMetrics([1, 0], [0.1, 0.2], 0.5);
    expect(m.precision).toBe(0);
    expect(m.f1).toBe(0);
    expect(m.recall).toBe(0);
  });
});

describe('calibrationBins', () => {
  it('when binned by hand, then counts, mean prediction and observed rate match', () => {
    const bins = calibrationBins([0, 1, 1, 0, 1], [0.05, 0.15, 0.12, 0.95, 1], 10);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ lower: 0, upper: 0.1, count: 1, meanPredicted: 0.05, observedRate: 0 });
    expect(bins[1].count).toBe(2);
    expect(bins[1].meanPredicted).toBeCloseTo(0.135, 14);
    expect(bins[1].observedRate).toBe(1);
    expect(bins[5]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null });
    // 1.0 falls in the last bin with 0.95.
    expect(bins[9].count).toBe(2);
    expect(bins[9].observedRate).toBe(0.5);
  });
});

describe('regression metrics', () => {
  it('when computed by hand, then RMSE, MAE and R² match scikit-learn’s documented example', () => {
    // scikit-learn docs: y_true=[3,-0.5,2,7], y_pred=[2.5,0.0,2,8] → MAE 0.5, MSE 0.375, R² 0.9486081370449679.
    const y = [3, -0.5, 2, 7];
    const yhat = [2.5, 0.0, 2, 8];
    expect(mae(y, yhat)).toBeCloseTo(0.5, 14);
    expect(rmse(y, yhat)).toBeCloseTo(Math.sqrt(0.375), 14);
    expect(r2(y, yhat)).toBeCloseTo(0.9486081370449679, 14);
    expect(regressionMetrics(y, yhat)).toEqual({ count: 4, rmse: rmse(y, yhat), mae: 0.5, r2: r2(y, yhat) });
  });

  it('when y is constant, then R² is 1 for perfect predictions and 0 otherwise', () => {
    expect(r2([2, 2], [2, 2])).toBe(1);
    expect(r2([2, 2], [2, 3])).toBe(0);
  });

  const pairs = fc
    .array(fc.tuple(fc.integer({ min: -1e6, max: 1e6 }).map((k) => k / 64), fc.integer({ min: -1e6, max: 1e6 }).map((k) => k / 64)), { minLength: 1, maxLength: 50 })
    .map((rows) => ({ y: rows.map(([a]) => a), yhat: rows.map(([, b]) => b) }));

  it('RMSE is at least MAE', () => {
    fc.assert(fc.property(pairs, ({ y, yhat }) => {
      expect(rmse(y, yhat)).toBeGreaterThanOrEqual(mae(y, yhat) * (1 - 1e-12));
    }));
  });

  it('when predictions are perfect, then R² is 1 and the errors are 0', () => {
    fc.assert(fc.property(pairs, ({ y }) => {
      expect(regressionMetrics(y, Float64Array.from(y))).toEqual({ count: y.length, rmse: 0, mae: 0, r2: 1 });
    }));
  });
});
