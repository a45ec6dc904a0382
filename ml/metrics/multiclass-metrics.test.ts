import { describe, expect, it } from 'vitest';
import { multiclassMetrics, predictedClasses } from './multiclass-metrics.js';

// Expected values: scikit-learn 1.x (accuracy_score, f1_score macro/weighted, log_loss,
// precision_recall_fscore_support, confusion_matrix) on the same labels and probabilities, predictions = argmax
// (numpy's, which takes the first of tied maxima, as row 5 needs).
const labels = [0, 1, 2, 2, 1, 0, 3, 2, 1, 0];
const probabilities = [
  [0.7, 0.1, 0.1, 0.1], [0.2, 0.5, 0.2, 0.1], [0.1, 0.2, 0.6, 0.1], [0.3, 0.3, 0.35, 0.05], [0.6, 0.2, 0.1, 0.1],
  [0.25, 0.25, 0.25, 0.25], [0.1, 0.1, 0.2, 0.6], [0.05, 0.05, 0.1, 0.8], [0.1, 0.8, 0.05, 0.05], [0.4, 0.3, 0.2, 0.1],
].flat();

describe('multiclass metrics', () => {
  it('when scored, then accuracy, F1s, log loss, per-class numbers and the confusion matrix are scikit-learn\'s', () => {
    expect(Array.from(predictedClasses(probabilities, 4))).toEqual([0, 1, 2, 2, 0, 0, 3, 3, 1, 0]);
    const m = multiclassMetrics(labels, probabilities, ['a', 'b', 'c', 'd']);
    expect(m.accuracy).toBeCloseTo(0.8, 15);
    expect(m.macroF1).toBeCloseTo(0.780952380952381, 15);
    expect(m.weightedF1).toBeCloseTo(0.8038095238095238, 15);
    expect(m.logLoss).toBeCloseTo(0.9559047146265739, 14);
    expect(m.perClass.map((c) => c.precision)).toEqual([0.75, 1, 1, 0.5]);
    m.perClass.map((c) => c.recall).forEach((r, k) => expect(r).toBeCloseTo([1, 2 / 3, 2 / 3, 1][k], 15));
    m.perClass.map((c) => c.f1).forEach((f, k) => expect(f).toBeCloseTo([0.8571428571428571, 0.8, 0.8, 0.6666666666666666][k], 15));
    expect(m.perClass.map((c) => [c.class, c.support])).toEqual([['a', 3], ['b', 3], ['c', 3], ['d', 1]]);
    expect(m.confusion).toEqual([[3, 0, 0, 0], [1, 2, 0, 0], [0, 0, 2, 1], [0, 0, 0, 1]]);
  });

  it('when a class is neither a label nor a prediction, then macro F1 averages over the others (as scikit-learn does)', () => {
    const m = multiclassMetrics([0, 1, 1], [0.9, 0.05, 0.05, 0.1, 0.8, 0.1, 0.6, 0.3, 0.1], ['a', 'b', 'c']);
    // a: precision 1/2, recall 1 → 2/3; b: precision 1, recall 1/2 → 2/3; c unseen.
    expect(m.macroF1).toBeCloseTo(2 / 3, 15);
    expect(m.perClass[2]).toMatchObject({ class: 'c', support: 0, f1: 0 });
  });

  it('when the probabilities do not match labels × classes, then it refuses', () => {
    expect(() => multiclassMetrics([0, 1], [0.5, 0.5, 0.5], ['a', 'b', 'c'])).toThrow(/2 labels × 3 classes/);
  });
});
