import { describe, expect, it } from 'vitest';
import { evaluateGates, holdoutMetrics, isChallengerNoWorse, metricDeltas } from './gates.js';

describe('evaluation gates', () => {
  it('passes min and max gates on the candidate and names the failing one', () => {
    const outcome = evaluateGates({ auc: { min: 0.75 }, logloss: { max: 0.5 } }, { auc: 0.8, logloss: 0.6 }, null);
    expect(outcome.passed).toBe(false);
    expect(outcome.checks.map((c) => [c.gate, c.passed])).toEqual([
      ['auc.min', true],
      ['logloss.max', false],
    ]);
    expect(outcome.failed).toEqual(['logloss 0.6000 > max 0.5000']);
  });

  it('when AUC drops more than allowed against the champion, then maxRegression fails', () => {
    const gates = { maxRegression: { auc: 0.005 } };
    expect(evaluateGates(gates, { auc: 0.8 }, { auc: 0.81 }).passed).toBe(false);
    expect(evaluateGates(gates, { auc: 0.806 }, { auc: 0.81 }).passed).toBe(true);
    expect(evaluateGates(gates, { auc: 0.9 }, { auc: 0.81 }).passed).toBe(true);
  });

  it('treats a rise of a loss metric as the regression', () => {
    const gates = { maxRegression: { rmse: 0.1, logloss: 0.01 } };
    expect(evaluateGates(gates, { rmse: 2.05, logloss: 0.3 }, { rmse: 2, logloss: 0.3 }).passed).toBe(true);
    const worse = evaluateGates(gates, { rmse: 2.2, logloss: 0.2 }, { rmse: 2, logloss: 0.3 });
    expect(worse.failed).toHaveLength(1);
    expect(worse.failed[0]).toMatch(/^rmse rose by 0.2000/);
  });

  it('skips maxRegression without a champion, and fails a gate on a metric that was not computed', () => {
    const outcome = evaluateGates({ aucc: { min: 0.5 }, maxRegression: { auc: 0 } }, { auc: 0.9 }, null);
    expect(outcome.checks.find((c) => c.gate === 'maxRegression.auc')).toMatchObject({ passed: true, skipped: true });
    expect(outcome.failed).toEqual(['aucc: not computed for this model, so its min gate cannot pass']);
  });

  it('passes with no gates at all', () => {
    expect(evaluateGates(undefined, { auc: 0.5 }, null)).toEqual({ passed: true, checks: [], failed: [] });
  });
});

describe('champion comparison', () => {
  it('ranks binary models by AUC and regression models by RMSE', () => {
    expect(isChallengerNoWorse('binary', { auc: 0.8 }, { auc: 0.8 })).toBe(true);
    expect(isChallengerNoWorse('binary', { auc: 0.79 }, { auc: 0.8 })).toBe(false);
    expect(isChallengerNoWorse('regression', { rmse: 1.9 }, { rmse: 2 })).toBe(true);
    expect(isChallengerNoWorse('regression', { rmse: 2.1 }, { rmse: 2 })).toBe(false);
    expect(isChallengerNoWorse('binary', { auc: 0.1 }, null)).toBe(true);
  });

  it('computes deltas as candidate minus champion over shared metrics', () => {
    expect(metricDeltas({ auc: 0.8, f1: 0.5 }, { auc: 0.75 })).toEqual({ auc: expect.closeTo(0.05, 12) });
    expect(metricDeltas({ auc: 0.8 }, null)).toEqual({});
  });
});

describe('holdout metrics', () => {
  it('computes the binary set from labels and probabilities (hand-checked values)', () => {
    // Scores rank every positive above every negative: AUC 1; threshold 0.5 misclassifies the 0.4 positive.
    const m = holdoutMetrics('binary', [0, 0, 1, 1], [0.1, 0.3, 0.4, 0.9]);
    expect(m.auc).toBe(1);
    expect(m.accuracy).toBe(0.75);
    expect(m.precision).toBe(1);
    expect(m.recall).toBe(0.5);
    expect(m.logloss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.7) + Math.log(0.4) + Math.log(0.9)) / 4, 12);
  });

  it('omits AUC when the holdout has a single class', () => {
    expect(holdoutMetrics('binary', [1, 1], [0.2, 0.9])).not.toHaveProperty('auc');
  });

  it('computes rmse, mae and r2 for regression', () => {
    expect(holdoutMetrics('regression', [1, 2, 3], [1, 2, 5])).toEqual({
      rmse: expect.closeTo(Math.sqrt(4 / 3), 12),
      mae: expect.closeTo(2 / 3, 12),
      r2: expect.closeTo(1 - 4 / 2, 12),
    });
  });
});
