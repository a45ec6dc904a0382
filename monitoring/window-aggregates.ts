// The window's logged predictions aggregated where they live: one pass over the prediction log counts every
// feature, the score and the latency in the reference's bins (width_bucket / array_position, see
// ml/drift/bin-layout.ts), and one pass over the window's feedback sums what live performance needs.
import type pg from 'pg';
import {
  binLayout,
  type BinaryFeedbackSummary,
  type FeatureReference,
  type LiveCounts,
  type NumericLiveCounts,
  type RegressionFeedbackSummary,
} from '../ml/drift/index.js';
import type { MonitoringReference } from './reference.js';

/** Latency histogram bounds (ms): geometric, 5 % apart from 10 µs to 10 minutes, so percentiles are within ±2.5 %. */
export const LATENCY_BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let bound = 0.01; bound < 600_000; bound *= 1.05) bounds.push(Number(bound.toPrecision(6)));
  return bounds;
})();

/** Score bins for live AUC (ties inside a bin count half, as in the AUC of binned scores). */
export const AUC_SCORE_BINS = 1000;

export interface WindowQuery {
  modelId: string;
  version: number;
  windowStart: Date;
  windowEnd: Date;
}

export interface WindowAggregates {
  rows: number;
  /** Logged rows whose score is not a finite number. */
  errorRows: number;
  features: { name: string; live: LiveCounts }[];
  score: NumericLiveCounts;
  /** Counts per latency bucket: bucket k holds [LATENCY_BOUNDS_MS[k−1], LATENCY_BOUNDS_MS[k]); the last is unbounded. */
  latencyCounts: number[];
}

interface GroupRow {
  f: number;
  b: number;
  flag: number;
  n: string;
  lo: number | null;
  hi: number | null;
}

const FLAG_BELOW_MIN = 1;
const FLAG_ABOVE_MAX = 2;
const FLAG_UNSEEN = 4;

class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

/** SQL for (bucket, flag) of a double `x` on a numeric reference's layout; missing (NULL, NaN, ±∞) is bucket −1. */
function numericBucketSql(params: Params, reference: FeatureReference & { kind: 'numeric' }, x: string): { bucket: string; flag: string } {
  const layout = binLayout(reference);
  if (layout.kind !== 'numeric') throw new Error('unreachable');
  const finite = `(${x} > '-Infinity'::float8 AND ${x} < 'Infinity'::float8)`;
  const bucket = layout.cuts.length === 0 ? '0' : `width_bucket(${x}, ${params.add(layout.cuts, '::float8[]')})`;
  const flags: string[] = [];
  if (layout.min !== null) flags.push(`CASE WHEN ${x} < ${params.add(layout.min, '::float8')} THEN ${FLAG_BELOW_MIN} ELSE 0 END`);
  if (layout.max !== null) flags.push(`CASE WHEN ${x} > ${params.add(layout.max, '::float8')} THEN ${FLAG_ABOVE_MAX} ELSE 0 END`);
  if (layout.values !== null) flags.push(`CASE WHEN ${x} <> ALL(${params.add(layout.values, '::float8[]')}) THEN ${FLAG_UNSEEN} ELSE 0 END`);
  return {
    bucket: `CASE WHEN ${finite} THEN ${bucket} ELSE -1 END`,
    flag: flags.length === 0 ? '0' : `CASE WHEN ${finite} THEN ${flags.join(' + ')} ELSE 0 END`,
  };
}

function categoricalBucketSql(params: Params, reference: FeatureReference & { kind: 'categorical' }, c: string): { bucket: string; flag: string } {
  const layout = binLayout(reference);
  if (layout.kind !== 'categorical') throw new Error('unreachable');
  const categories = params.add(layout.categories, '::text[]');
  return {
    bucket: `CASE WHEN ${c} IS NULL THEN -1 ELSE coalesce(array_position(${categories}, ${c}) - 1, ${layout.categories.length}) END`,
    flag: `CASE WHEN ${c} IS NOT NULL AND ${c} <> ALL(${params.add(layout.known, '::text[]')}) THEN ${FLAG_UNSEEN} ELSE 0 END`,
  };
}

function windowFilter(params: Params, query: WindowQuery, alias: string): string {
  return [
    `${alias}.model_id = ${params.add(query.modelId, '::uuid')}`,
    `${alias}.version = ${params.add(query.version, '::int')}`,
    `${alias}.created_at >= ${params.add(query.windowStart, '::timestamptz')}`,
    `${alias}.created_at < ${params.add(query.windowEnd, '::timestamptz')}`,
  ].join(' AND ');
}

/**
 * The single-pass aggregation over the window's predictions. Each row's feature values are read from its JSON once
 * (the inner subquery, kept from being inlined by OFFSET 0), then one set-returning step turns the row into one
 * (f, bucket, flag, x) per feature, score and latency, and one hash aggregate counts them. (A LATERAL VALUES list
 * here re-built its expressions for every row: 50× slower on 1M rows.)
 */
export function windowAggregatesSql(reference: MonitoringReference, query: WindowQuery): { text: string; values: unknown[] } {
  const params = new Params();
  const columns: string[] = [];
  const entries: { bucket: string; flag: string; x: string }[] = [];
  reference.features.forEach(({ name, reference: feature }, index) => {
    const key = params.add(name, '::text');
    if (feature.kind === 'numeric') {
      // Anything but a JSON number (a string, true/false, null) is a missing value, never a cast error.
      columns.push(`CASE WHEN jsonb_typeof(p.features -> ${key}) = 'number' THEN (p.features ->> ${key})::float8 END AS v${index}`);
      const { bucket, flag } = numericBucketSql(params, feature, `c.v${index}`);
      entries.push({ bucket, flag, x: `c.v${index}` });
    } else {
      columns.push(`p.features ->> ${key} AS v${index}`);
      const { bucket, flag } = categoricalBucketSql(params, feature, `c.v${index}`);
      entries.push({ bucket, flag, x: 'NULL::float8' });
    }
  });
  const score = numericBucketSql(params, reference.score, 'c.score');
  entries.push({ bucket: score.bucket, flag: score.flag, x: 'c.score' });
  const latencyBounds = params.add(LATENCY_BOUNDS_MS, '::float8[]');
  entries.push({
    bucket: `width_bucket(coalesce(c.latency_ms, 0), ${latencyBounds})`,
    flag: `CASE WHEN c.score > '-Infinity'::float8 AND c.score < 'Infinity'::float8 THEN 0 ELSE 1 END`,
    x: 'NULL::float8',
  });
  const list = (part: (entry: (typeof entries)[number]) => string, type: string) => `unnest(ARRAY[${entries.map(part).join(', ')}]::${type}[])`;
  const text = `SELECT u.f, u.b, u.flag, count(*) AS n, min(u.x) AS lo, max(u.x) AS hi
FROM (
  SELECT unnest(ARRAY[${entries.map((_, index) => index).join(', ')}]::int[]) AS f, ${list((entry) => entry.bucket, 'int')} AS b,
    ${list((entry) => entry.flag, 'int')} AS flag, ${list((entry) => entry.x, 'float8')} AS x
  FROM (
    SELECT p.score, p.latency_ms${columns.map((column) => `, ${column}`).join('')}
    FROM predictions p
    WHERE ${windowFilter(params, query, 'p')}
    OFFSET 0
  ) AS c
) AS u
GROUP BY u.f, u.b, u.flag`;
  return { text, values: params.values };
}

function emptyLive(reference: FeatureReference): LiveCounts {
  const counts = new Array<number>(reference.counts.length).fill(0);
  return reference.kind === 'numeric'
    ? { kind: 'numeric', rows: 0, missing: 0, counts, belowMin: 0, aboveMax: 0, unseen: 0, min: null, max: null }
    : { kind: 'categorical', rows: 0, missing: 0, counts, unseen: 0 };
}

function addGroup(live: LiveCounts, row: GroupRow): void {
  const n = Number(row.n);
  live.rows += n;
  if (row.b < 0) {
    live.missing += n;
    return;
  }
  live.counts[row.b]! += n;
  if (row.flag & FLAG_UNSEEN) live.unseen += n;
  if (live.kind === 'numeric') {
    const numeric: NumericLiveCounts = live;
    if (row.flag & FLAG_BELOW_MIN) numeric.belowMin += n;
    if (row.flag & FLAG_ABOVE_MAX) numeric.aboveMax += n;
    if (row.lo !== null && (numeric.min === null || row.lo < numeric.min)) numeric.min = row.lo;
    if (row.hi !== null && (numeric.max === null || row.hi > numeric.max)) numeric.max = row.hi;
  }
}

export async function aggregateWindow(pool: pg.Pool, reference: MonitoringReference, query: WindowQuery): Promise<WindowAggregates> {
  const { text, values } = windowAggregatesSql(reference, query);
  const result = await pool.query<GroupRow>({ text, values });
  const features = reference.features.map(({ name, reference: feature }) => ({ name, live: emptyLive(feature) }));
  const score = emptyLive(reference.score) as NumericLiveCounts;
  const latencyCounts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  let rows = 0;
  let errorRows = 0;
  const scoreIndex = reference.features.length;
  for (const row of result.rows) {
    if (row.f < scoreIndex) addGroup(features[row.f]!.live, row);
    else if (row.f === scoreIndex) addGroup(score, row);
    else {
      const n = Number(row.n);
      latencyCounts[row.b]! += n;
      rows += n;
      if (row.flag === 1) errorRows += n;
    }
  }
  return { rows, errorRows, features, score, latencyCounts };
}

interface FeedbackRow {
  bin: number | null;
  n: string;
  positives: string;
  negatives: string;
  tp: string;
  fp: string;
  tn: string;
  fn: string;
  nll: number | null;
  sse: number | null;
  sae: number | null;
}

/** Labels that arrived in the window for the version's predictions, summed per score bin in one pass. */
export async function aggregateFeedback(
  pool: pg.Pool,
  task: 'binary' | 'regression',
  query: WindowQuery,
): Promise<BinaryFeedbackSummary | RegressionFeedbackSummary> {
  const params = new Params();
  const model = params.add(query.modelId, '::uuid');
  const text = `SELECT ${task === 'binary' ? `width_bucket(p.score, 0, 1, ${AUC_SCORE_BINS})` : 'NULL::int'} AS bin,
  count(*) AS n,
  count(*) FILTER (WHERE f.label = 1) AS positives,
  count(*) FILTER (WHERE f.label = 0) AS negatives,
  count(*) FILTER (WHERE p.score >= 0.5 AND f.label = 1) AS tp,
  count(*) FILTER (WHERE p.score >= 0.5 AND f.label <> 1) AS fp,
  count(*) FILTER (WHERE p.score < 0.5 AND f.label <> 1) AS tn,
  count(*) FILTER (WHERE p.score < 0.5 AND f.label = 1) AS fn,
  sum(-ln(greatest(least(CASE WHEN f.label = 1 THEN p.score ELSE 1 - p.score END, 1 - 1e-15), 1e-15))) AS nll,
  sum((p.score - f.label) * (p.score - f.label)) AS sse,
  sum(abs(p.score - f.label)) AS sae
FROM feedback f
JOIN predictions p ON p.id = f.prediction_id AND p.model_id = f.model_id
WHERE f.model_id = ${model} AND p.version = ${params.add(query.version, '::int')}
  AND f.updated_at >= ${params.add(query.windowStart, '::timestamptz')} AND f.updated_at < ${params.add(query.windowEnd, '::timestamptz')}
GROUP BY 1`;
  const result = await pool.query<FeedbackRow>({ text, values: params.values });
  let labelled = 0;
  if (task === 'regression') {
    let sumSquaredError = 0;
    let sumAbsoluteError = 0;
    for (const row of result.rows) {
      labelled += Number(row.n);
      sumSquaredError += row.sse ?? 0;
      sumAbsoluteError += row.sae ?? 0;
    }
    return { labelled, sumSquaredError, sumAbsoluteError };
  }
  // width_bucket(p, 0, 1, B) is 1…B inside [0, 1) and B + 1 for p = 1: index 0…B.
  const positivesPerScoreBin = new Array<number>(AUC_SCORE_BINS + 2).fill(0);
  const negativesPerScoreBin = new Array<number>(AUC_SCORE_BINS + 2).fill(0);
  const confusion = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  let sumNegativeLogLikelihood = 0;
  for (const row of result.rows) {
    labelled += Number(row.n);
    const bin = Math.min(Math.max(row.bin ?? 0, 0), AUC_SCORE_BINS + 1);
    positivesPerScoreBin[bin]! += Number(row.positives);
    negativesPerScoreBin[bin]! += Number(row.negatives);
    confusion.truePositives += Number(row.tp);
    confusion.falsePositives += Number(row.fp);
    confusion.trueNegatives += Number(row.tn);
    confusion.falseNegatives += Number(row.fn);
    sumNegativeLogLikelihood += row.nll ?? 0;
  }
  return { labelled, confusion, sumNegativeLogLikelihood, positivesPerScoreBin, negativesPerScoreBin };
}
