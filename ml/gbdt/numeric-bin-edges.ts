// Numeric bin edges as LightGBM finds them (src/io/bin.cpp: FindBinWithZeroAsOneBin, GreedyFindBin), so that
// Keel's trees see the same candidate thresholds as LightGBM's: zero gets a bin of its own, negative and positive
// values share the remaining bins in proportion to their counts, a bin holds at least `minDataInBin` sampled
// values, and values that fill a bin on their own are kept apart. On small data this matters: with one bin per
// distinct value (what Keel did before), cars.json's RMSE was 3.8 % above LightGBM's; LightGBM itself with
// min_data_in_bin = 1 lands 4.9 % above its defaults.

/** LightGBM's kZeroThreshold: |x| below it counts as zero. */
const ZERO_THRESHOLD = 1e-35;

export interface DistinctValues {
  /** Ascending distinct values. */
  values: number[];
  /** How many sampled rows hold each value. */
  counts: number[];
}

/** Sorted distinct values and their counts; NaN (missing) values are skipped. */
export function distinctValues(sample: Iterable<number>): DistinctValues {
  const sorted = Float64Array.from([...sample].filter((v) => !Number.isNaN(v))).sort();
  const values: number[] = [];
  const counts: number[] = [];
  for (const v of sorted) {
    if (values.length > 0 && v === values[values.length - 1]) counts[counts.length - 1]++;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  return { values, counts };
}

/**
 * Ascending upper edges of at most `maxBins` bins (a value goes in the first bin whose edge is >= it); the last
 * edge is +Infinity. `edgeBetween(a, b)` picks the edge between neighbouring values a < b.
 */
export function lightgbmBinEdges(
  distinct: DistinctValues,
  maxBins: number,
  minDataInBin: number,
  edgeBetween: (a: number, b: number) => number,
): number[] {
  const { values, counts } = distinct;
  let leftCount = 0;
  let zeroCount = 0;
  let rightCount = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] <= -ZERO_THRESHOLD) leftCount += counts[i];
    else if (values[i] > ZERO_THRESHOLD) rightCount += counts[i];
    else zeroCount += counts[i];
  }
  let firstNonNegative = values.findIndex((v) => v > -ZERO_THRESHOLD);
  if (firstNonNegative < 0) firstNonNegative = values.length;

  let edges: number[] = [];
  if (firstNonNegative > 0 && maxBins > 1) {
    const total = leftCount + zeroCount + rightCount;
    const leftBins = Math.max(1, Math.trunc((leftCount / (total - zeroCount)) * (maxBins - 1)));
    edges = greedyBinEdges(values.slice(0, firstNonNegative), counts.slice(0, firstNonNegative), leftBins, leftCount, minDataInBin, edgeBetween);
    edges[edges.length - 1] = -ZERO_THRESHOLD;
  }
  let firstPositive = -1;
  for (let i = firstNonNegative; i < values.length; i++) {
    if (values[i] > ZERO_THRESHOLD) {
      firstPositive = i;
      break;
    }
  }
  const rightBins = maxBins - 1 - edges.length;
  if (firstPositive >= 0 && rightBins > 0) {
    edges.push(ZERO_THRESHOLD);
    edges.push(...greedyBinEdges(values.slice(firstPositive), counts.slice(firstPositive), rightBins, rightCount, minDataInBin, edgeBetween));
  } else {
    edges.push(Infinity);
  }
  return edges;
}

/** LightGBM's GreedyFindBin: equal-count bins that never split a value, with big-count values kept apart. */
function greedyBinEdges(
  values: number[],
  counts: number[],
  maxBinsIn: number,
  totalCount: number,
  minDataInBin: number,
  edgeBetween: (a: number, b: number) => number,
): number[] {
  const edges: number[] = [];
  const n = values.length;
  if (n <= maxBinsIn) {
    let inBin = 0;
    for (let i = 0; i < n - 1; i++) {
      inBin += counts[i];
      if (inBin >= minDataInBin) {
        edges.push(edgeBetween(values[i], values[i + 1]));
        inBin = 0;
      }
    }
    edges.push(Infinity);
    return edges;
  }
  let maxBins = maxBinsIn;
  if (minDataInBin > 0) maxBins = Math.max(1, Math.min(maxBins, Math.trunc(totalCount / minDataInBin)));
  let meanBinSize = totalCount / maxBins;
  let restBins = maxBins;
  let restCount = totalCount;
  const isBig = counts.map((c) => c >= meanBinSize);
  for (let i = 0; i < n; i++) {
    if (isBig[i]) {
      restBins--;
      restCount -= counts[i];
    }
  }
  meanBinSize = restCount / restBins;
  const upper: number[] = [];
  const lower: number[] = [values[0]];
  let inBin = 0;
  for (let i = 0; i < n - 1; i++) {
    if (!isBig[i]) restCount -= counts[i];
    inBin += counts[i];
    if (isBig[i] || inBin >= meanBinSize || (isBig[i + 1] && inBin >= Math.max(1, meanBinSize * 0.5))) {
      upper.push(values[i]);
      lower.push(values[i + 1]);
      if (upper.length >= maxBins - 1) break;
      inBin = 0;
      if (!isBig[i]) {
        restBins--;
        meanBinSize = restCount / restBins;
      }
    }
  }
  for (let i = 0; i < upper.length; i++) {
    const edge = edgeBetween(upper[i], lower[i + 1]);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  edges.push(Infinity);
  return edges;
}
