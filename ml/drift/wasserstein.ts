// Wasserstein-1 (earth mover's) distance between two distributions known only through binned summaries.

/** `mass` spread uniformly over [from, to]; a point mass when from === to. */
export interface MassSegment {
  from: number;
  to: number;
  mass: number;
}

/** CDF of a segment mixture at x, either the right limit (F(x), point masses at x included) or the left limit. */
function cdfAt(segments: readonly MassSegment[], x: number, side: 'left' | 'right'): number {
  let sum = 0;
  for (const { from, to, mass } of segments) {
    if (x > to || (x === to && (from < to || side === 'right'))) sum += mass;
    else if (x > from) sum += (mass * (x - from)) / (to - from);
  }
  return sum;
}

/** ∫ over an interval of width w of |d(t)| where d is linear from d0 to d1. */
function integralOfAbsoluteLinear(d0: number, d1: number, width: number): number {
  if ((d0 >= 0 && d1 >= 0) || (d0 <= 0 && d1 <= 0)) return (width * (Math.abs(d0) + Math.abs(d1))) / 2;
  // The sign changes inside: two triangles.
  return (width * (d0 * d0 + d1 * d1)) / (2 * (Math.abs(d0) + Math.abs(d1)));
}

function normalised(segments: readonly MassSegment[]): MassSegment[] {
  const total = segments.reduce((sum, segment) => sum + segment.mass, 0);
  if (!(total > 0)) throw new RangeError('a distribution needs positive total mass');
  return segments.filter((segment) => segment.mass > 0).map((segment) => ({ ...segment, mass: segment.mass / total }));
}

/**
 * W1 = ∫ |F(x) − G(x)| dx between two mixtures of uniform segments and point masses (masses are normalised).
 * Between consecutive segment end points both CDFs are linear, so the integral is exact for such mixtures.
 */
export function wassersteinBetweenSegments(first: readonly MassSegment[], second: readonly MassSegment[]): number {
  const a = normalised(first);
  const b = normalised(second);
  const points = [...new Set([...a, ...b].flatMap((segment) => [segment.from, segment.to]))].sort((x, y) => x - y);
  let distance = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const left = points[i];
    const right = points[i + 1];
    const d0 = cdfAt(a, left, 'right') - cdfAt(b, left, 'right');
    const d1 = cdfAt(a, right, 'left') - cdfAt(b, right, 'left');
    distance += integralOfAbsoluteLinear(d0, d1, right - left);
  }
  return distance;
}

/** A reference quantile function at evenly spaced levels 0, 1/k, …, 1 as k segments of mass 1/k each. */
export function segmentsFromQuantiles(quantiles: readonly number[]): MassSegment[] {
  const k = quantiles.length - 1;
  if (k < 1) throw new RangeError('need quantiles at two levels at least');
  return Array.from({ length: k }, (_, i) => ({ from: quantiles[i], to: quantiles[i + 1], mass: 1 / k }));
}

/**
 * Counts in left-closed buckets (bucket i = [cuts[i−1], cuts[i])) as uniform segments, the open end buckets closed
 * by the sample's min and max, every bucket clipped to [min, max] (a bucket's values lie within both).
 */
export function segmentsFromBucketCounts(cuts: readonly number[], counts: readonly number[], min: number, max: number): MassSegment[] {
  if (counts.length !== cuts.length + 1) throw new RangeError(`${cuts.length} cuts need ${cuts.length + 1} counts, got ${counts.length}`);
  const segments: MassSegment[] = [];
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    const from = Math.max(min, i === 0 ? min : cuts[i - 1]);
    const to = Math.min(max, i === cuts.length ? max : cuts[i]);
    segments.push({ from: Math.min(from, to), to: Math.max(from, to), mass: counts[i] });
  }
  return segments;
}

/** Counts of point values (one bucket per value) as point masses. */
export function segmentsFromValueCounts(values: readonly number[], counts: readonly number[]): MassSegment[] {
  if (values.length !== counts.length) throw new RangeError(`${values.length} values but ${counts.length} counts`);
  return values.map((value, i) => ({ from: value, to: value, mass: counts[i] }));
}
