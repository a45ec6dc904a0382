import { describe, expect, it } from 'vitest';
import { multiclassMetrics } from '../ml/metrics/index.js';
import { evaluateGates, holdoutMetrics, isChallengerNoWorse, metricDeltas, perClassGateMetrics, primaryMetric } from './gates.js';

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

  it('when the champion comparison is biased, then maxRegression and challenger-no-worse say not comparable instead of passing or failing', () => {
    const outcome = evaluateGates({ maxRegression: { auc: 0 } }, { auc: 0.7 }, { auc: 0.9 }, 'champion v1 trained on 80 of the 100 holdout rows');
    expect(outcome.failed).toEqual([]);
    expect(outcome.checks).toEqual([
      { gate: 'maxRegression.auc', passed: true, skipped: true, notComparable: true, detail: 'auc: not comparable with the champion: champion v1 trained on 80 of the 100 holdout rows' },
    ]);
    expect(isChallengerNoWorse('binary', { auc: 0.7 }, { auc: 0.9 }, false)).toBeNull();
  });
});

describe('multiclass evaluation', () => {
  // 3 rows × 3 classes: rows predicted 0, 1, 0; labels 0, 1, 2 (see ml/metrics/multiclass-metrics.test.ts for the formulas).
  const labels = [0, 1, 2];
  const probabilities = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.5, 0.1, 0.4];

  it('when a multiclass holdout is scored, then every scalar metric is there, gateable by name', () => {
    const metrics = holdoutMetrics('multiclass', labels, probabilities);
    expect(Object.keys(metrics).sort()).toEqual(['accuracy', 'logloss', 'macro_f1', 'macro_precision', 'macro_recall', 'weighted_f1']);
    expect(metrics.accuracy).toBeCloseTo(2 / 3, 15);
    expect(metrics.logloss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.8) + Math.log(0.4)) / 3, 15);
    // Class 2 is never predicted: precision 0 by convention, recall 0.
    expect(metrics.macro_precision).toBeCloseTo((0.5 + 1 + 0) / 3, 15);
    expect(metrics.macro_recall).toBeCloseTo((1 + 1 + 0) / 3, 15);
    expect(metrics.macro_f1).toBeCloseTo((2 / 3 + 1 + 0) / 3, 15);
    const outcome = evaluateGates({ macro_f1: { min: 0.5 }, logloss: { max: 0.45 } }, metrics, null);
    expect(outcome.checks.map((c) => [c.gate, c.passed])).toEqual([
      ['macro_f1.min', true],
      ['logloss.max', false],
    ]);
  });

  it('when a gate names one class (precision_class_<k>, recall_class_<k>, f1_class_<k>), then it checks that class', () => {
    const perClass = perClassGateMetrics(multiclassMetrics(labels, probabilities, ['a', 'b', 'c']).perClass);
    expect(perClass).toMatchObject({ precision_class_0: 0.5, recall_class_0: 1, recall_class_1: 1, recall_class_2: 0, f1_class_2: 0 });
    const outcome = evaluateGates({ recall_class_2: { min: 0.5 }, precision_class_1: { min: 0.9 }, recall_class_7: { min: 0 } }, perClass, null);
    expect(outcome.checks.map((c) => [c.gate, c.passed])).toEqual([
      ['recall_class_2.min', false],
      ['precision_class_1.min', true],
      // A class the model does not have is a typo: it fails rather than passing silently.
      ['recall_class_7.min', false],
    ]);
  });

  it('when compared with a champion, then multiclass log loss decides and lower is better', () => {
    expect(primaryMetric('multiclass')).toBe('logloss');
    expect(isChallengerNoWorse('multiclass', { logloss: 0.5 }, { logloss: 0.6 })).toBe(true);
    expect(isChallengerNoWorse('multiclass', { logloss: 0.7 }, { logloss: 0.6 })).toBe(false);
    expect(evaluateGates({ maxRegression: { macro_f1: 0.01 } }, { macro_f1: 0.7 }, { macro_f1: 0.75 }).passed).toBe(false);
  });
});
