import { describe, expect, it } from 'vitest';
import { countNumericLive } from './live-counts.js';
import {
  binaryPerformance,
  binaryPerformanceFromSummary,
  latencyPercentilesFromHistogram,
  latencyPercentilesFromSorted,
  multiclassPerformanceFromSummary,
  predictionDrift,
  regressionPerformance,
  regressionPerformanceFromSummary,
} from './model-drift.js';
import { buildNumericReference } from './reference-profile.js';
import { multiclassMetrics } from '../metrics/index.js';

describe('predictionDrift', () => {
  it('when the live scores move up, then the score PSI registers it', () => {
    const scores = Float64Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    const reference = buildNumericReference(scores);
    expect(predictionDrift(reference, countNumericLive(reference, Array.from(scores))).psi).toBe(0);
    const shifted = Array.from(scores, (s) => Math.min(1, s * 0.5 + 0.5));
    expect(predictionDrift(reference, countNumericLive(reference, shifted)).psi!).toBeGreaterThan(0.25);
  });
});

describe('latency percentiles', () => {
  it('when given a sorted sample, then they interpolate like numpy.percentile', () => {
    // numpy.percentile(np.arange(1, 101), [50, 95, 99]) → [50.5, 95.05, 99.01]
    const sample = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    const p = latencyPercentilesFromSorted(sample);
    expect(p.p50).toBeCloseTo(50.5, 12);
    expect(p.p95).toBeCloseTo(95.05, 12);
    expect(p.p99).toBeCloseTo(99.01, 12);
    expect(latencyPercentilesFromSorted([])).toEqual({ p50: null, p95: null, p99: null });
  });

  it('when given a histogram, then they interpolate inside the bucket like histogram_quantile', () => {
    // 100 requests: 50 in (0, 1] ms, 40 in (1, 5], 10 in (5, 10]. p50 is the top of the first bucket;
    // p95 is halfway through the last bucket; p99 is 90 % of the way.
    const p = latencyPercentilesFromHistogram([1, 5, 10], [50, 40, 10]);
    expect(p.p50).toBeCloseTo(1, 12);
    expect(p.p95).toBeCloseTo(7.5, 12);
    expect(p.p99).toBeCloseTo(9.5, 12);
  });

  it('when the quantile falls in an unbounded last bucket, then it is the last finite bound', () => {
    expect(latencyPercentilesFromHistogram([1, Number.POSITIVE_INFINITY], [90, 10]).p99).toBe(1);
  });
});

describe('live performance', () => {
  it('when the summary is aggregated from the same rows, then it agrees with the row-wise metrics', () => {
    const labels = [1, 0, 1, 1, 0, 0, 1, 0];
    const probabilities = [0.9, 0.2, 0.65, 0.4, 0.55, 0.1, 0.8, 0.3];
    const bins = 100;
    const positivesPerScoreBin = new Array<number>(bins).fill(0);
    const negativesPerScoreBin = new Array<number>(bins).fill(0);
    let sumNegativeLogLikelihood = 0;
    labels.forEach((y, i) => {
      const p = probabilities[i];
      (y === 1 ? positivesPerScoreBin : negativesPerScoreBin)[Math.min(bins - 1, Math.floor(p * bins))]++;
      sumNegativeLogLikelihood -= Math.log(y === 1 ? p : 1 - p);
    });
    const fromSummary = binaryPerformanceFromSummary({
      labelled: 8,
      confusion: { truePositives: 3, falsePositives: 1, trueNegatives: 3, falseNegatives: 1 },
      sumNegativeLogLikelihood,
      positivesPerScoreBin,
      negativesPerScoreBin,
    });
    const fromRows = binaryPerformance(labels, probabilities);
    expect(fromSummary.labelled).toBe(8);
    expect(fromSummary.auc).toBeCloseTo(fromRows.auc!, 12);
    expect(fromSummary.accuracy).toBeCloseTo(fromRows.accuracy!, 12);
    expect(fromSummary.f1).toBeCloseTo(fromRows.f1!, 12);
    expect(fromSummary.logLoss).toBeCloseTo(fromRows.logLoss!, 12);
  });

  it('when nothing is labelled, then every metric is null', () => {
    const empty = { labelled: 0, confusion: { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 }, sumNegativeLogLikelihood: 0, positivesPerScoreBin: [], negativesPerScoreBin: [] };
    expect(binaryPerformanceFromSummary(empty)).toEqual({ labelled: 0, auc: null, accuracy: null, f1: null, logLoss: null });
    expect(regressionPerformanceFromSummary({ labelled: 0, sumSquaredError: 0, sumAbsoluteError: 0 })).toEqual({ labelled: 0, rmse: null, mae: null });
  });

  it('when regression sums come from the rows, then RMSE and MAE match', () => {
    const summary = regressionPerformanceFromSummary({ labelled: 4, sumSquaredError: 1.5, sumAbsoluteError: 2 });
    expect(summary).toEqual(regressionPerformance([3, -0.5, 2, 7], [2.5, 0, 2, 8]));
  });
});

describe('multiclassPerformanceFromSummary', () => {
  it('when rows are summed per (true, predicted) class, then accuracy, macro F1 and log loss equal the row-level metrics', () => {
    const classes = ['a', 'b', 'c'];
    // Row-major probabilities; the predicted class is each row's largest.
    const probabilities = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8];
    const labels = [0, 1, 2, 1, 1, 0];
    const expected = multiclassMetrics(labels, probabilities, classes);
    const pairs = new Map<string, number>();
    let nll = 0;
    labels.forEach((y, r) => {
      const row = probabilities.slice(r * 3, r * 3 + 3);
      const predicted = classes[row.indexOf(Math.max(...row))]!;
      const key = `${classes[y]}|${predicted}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
      nll -= Math.log(row[y]!);
    });
    const summary = {
      labelled: labels.length,
      pairs: [...pairs].map(([key, count]) => ({ actual: key.split('|')[0]!, predicted: key.split('|')[1]!, count })),
      sumNegativeLogLikelihood: nll,
    };
    const live = multiclassPerformanceFromSummary(summary);
    expect(live.labelled).toBe(6);
    expect(live.accuracy).toBeCloseTo(expected.accuracy, 15);
    expect(live.macroF1).toBeCloseTo(expected.macroF1, 15);
    expect(live.logLoss).toBeCloseTo(expected.logLoss, 15);
  });

  it('when nothing is labelled, then every metric is null', () => {
    expect(multiclassPerformanceFromSummary({ labelled: 0, pairs: [], sumNegativeLogLikelihood: 0 })).toEqual({
      labelled: 0, accuracy: null, macroF1: null, logLoss: null,
    });
  });
});
