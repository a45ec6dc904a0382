// Metrics from aggregates a SQL query can produce (counts and sums), for live performance over a prediction log
// without pulling every labelled row into JS.

/**
 * AUC from per-class counts in ordered score bins (bin 0 = lowest scores): a positive beats every negative in a
 * lower bin and ties, counting one half, with every negative in its own bin, the same rule rocAuc applies to tied
 * scores. Exact when each bin holds one distinct score; otherwise pairs inside a bin count one half, so the result
 * is within (Σ_b pos_b · neg_b) / (2 · P · N) of the exact AUC. NaN when a class is absent.
 */
export function aucFromBinnedCounts(positivesPerBin: readonly number[], negativesPerBin: readonly number[]): number {
  if (positivesPerBin.length !== negativesPerBin.length) {
    throw new RangeError(`aucFromBinnedCounts: ${positivesPerBin.length} positive bins but ${negativesPerBin.length} negative bins`);
  }
  let positives = 0;
  let negatives = 0;
  let wins = 0;
  for (let b = 0; b < positivesPerBin.length; b++) {
    const pos = positivesPerBin[b];
    const neg = negativesPerBin[b];
    if (!(pos >= 0) || !(neg >= 0)) throw new RangeError(`aucFromBinnedCounts: negative or NaN count in bin ${b}`);
    wins += pos * negatives + (pos * neg) / 2;
    positives += pos;
    negatives += neg;
  }
  if (positives === 0 || negatives === 0) return Number.NaN;
  return wins / (positives * negatives);
}

/** √(Σ (y − ŷ)² / n); NaN when n is 0. */
export function rmseFromSums(sumSquaredError: number, count: number): number {
  return count > 0 ? Math.sqrt(sumSquaredError / count) : Number.NaN;
}

/** Σ |y − ŷ| / n; NaN when n is 0. */
export function maeFromSums(sumAbsoluteError: number, count: number): number {
  return count > 0 ? sumAbsoluteError / count : Number.NaN;
}

/**
 * Mean log loss from Σ −ln(p clipped to [ε, 1 − ε]) of the true class (ε = LOG_LOSS_EPSILON, as logLoss clips);
 * NaN when n is 0.
 */
export function logLossFromSum(sumNegativeLogLikelihood: number, count: number): number {
  return count > 0 ? sumNegativeLogLikelihood / count : Number.NaN;
}
