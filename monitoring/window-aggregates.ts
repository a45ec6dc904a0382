// The window's logged predictions aggregated where they live: one pass over the prediction log counts every
// feature, the score and the latency in the reference's bins (width_bucket / array_position, see
// ml/drift/bin-layout.ts), and one pass over the window's feedback sums what live performance needs.
import type pg from 'pg';
import {
  binLayout,
  type BinaryFeedbackSummary,
  type CategoricalLiveCounts,
  type FeatureReference,
  type LiveCounts,
  type MulticlassFeedbackSummary,
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

/** work_mem for the window statement: its materialised keys (~100 bytes a row) stay in memory up to this. */
const WINDOW_WORK_MEM = '256MB';

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

/** How one part's grouping key (an int per row) decodes into a bucket and flags. */
type PartDecoder =
  | { kind: 'numeric'; thresholds: number; decode: readonly { bucket: number; belowMin: boolean; aboveMax: boolean }[] }
  | { kind: 'categorical'; categories: number }
  | { kind: 'latency' };

class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

/** The smallest double above `x` (x finite). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const bits = new Float64Array([x]);
  const integer = new BigInt64Array(bits.buffer);
  integer[0] = integer[0]! + (x > 0 ? 1n : -1n);
  return bits[0]!;
}

/**
 * One `width_bucket` per value tells its bucket and its range flags at once: the reference's cuts, merged with the
 * training min (x ≥ min) and the double after the training max (x > max), between −MAX_VALUE and +Infinity (so
 * −Infinity gives 0 and +Infinity or NaN the last index: missing). The decoder maps each index back.
 */
function numericKeySql(params: Params, reference: FeatureReference & { kind: 'numeric' }, x: string): { key: string; decoder: PartDecoder } {
  const layout = binLayout(reference);
  if (layout.kind !== 'numeric') throw new Error('unreachable');
  type Threshold = { at: number; tag: 'cut' | 'min' | 'above' };
  const tagged: Threshold[] = layout.cuts.map((at) => ({ at, tag: 'cut' as const }));
  if (layout.min !== null) tagged.push({ at: layout.min, tag: 'min' });
  if (layout.max !== null) tagged.push({ at: nextUp(layout.max), tag: 'above' });
  tagged.sort((a, b) => a.at - b.at);
  const thresholds = [-Number.MAX_VALUE, ...tagged.map((threshold) => threshold.at), Number.POSITIVE_INFINITY];
  // Index r (1…tagged.length + 1) means tagged[0…r−2] are ≤ x: count the cuts among them, and which flags they set.
  const decode = [{ bucket: -1, belowMin: false, aboveMax: false }];
  let bucket = 0;
  let reachedMin = false;
  let aboveMax = false;
  for (let r = 1; r <= tagged.length + 1; r++) {
    if (r >= 2) {
      const passed = tagged[r - 2]!;
      if (passed.tag === 'cut') bucket++;
      else if (passed.tag === 'min') reachedMin = true;
      else aboveMax = true;
    }
    decode.push({ bucket, belowMin: layout.min !== null && !reachedMin, aboveMax });
  }
  const index = `coalesce(width_bucket(${x}, ${params.add(thresholds, '::float8[]')}), 0)`;
  // Value binning: a value the training data never had is sent negative (−2 − index), so unseen needs no second key.
  const key = layout.values === null ? index : `CASE WHEN ${x} = ANY(${params.add(layout.values, '::float8[]')}) THEN ${index} ELSE -2 - ${index} END`;
  return { key, decoder: { kind: 'numeric', thresholds: thresholds.length, decode } };
}

/** 1…categories for a listed category, 0 for "other" seen in training, −2 for unseen, −1 for missing. */
function categoricalKeySql(params: Params, reference: FeatureReference & { kind: 'categorical' }, c: string): { key: string; decoder: PartDecoder } {
  const layout = binLayout(reference);
  if (layout.kind !== 'categorical') throw new Error('unreachable');
  const key = `CASE WHEN ${c} IS NULL THEN -1 WHEN ${c} = ANY(${params.add(layout.known, '::text[]')})
    THEN coalesce(array_position(${params.add(layout.categories, '::text[]')}, ${c}), 0) ELSE -2 END`;
  return { key, decoder: { kind: 'categorical', categories: layout.categories.length } };
}

function windowFilter(params: Params, query: WindowQuery, alias: string): string {
  return [
    `${alias}.model_id = ${params.add(query.modelId, '::uuid')}`,
    `${alias}.version = ${params.add(query.version, '::int')}`,
    `${alias}.created_at >= ${params.add(query.windowStart, '::timestamptz')}`,
    `${alias}.created_at < ${params.add(query.windowEnd, '::timestamptz')}`,
  ].join(' AND ');
}

export interface WindowAggregatesSql {
  text: string;
  values: unknown[];
  /** Per part (the features in order, then the score, then the latency): how its key decodes. */
  decoders: PartDecoder[];
}

/**
 * The aggregation over the window's predictions, in one statement. Each record's rows are unnested once with their
 * feature columns (the innermost subquery, kept from being inlined by OFFSET 0) and turned into one small-int key per part (feature,
 * score, latency) by one `width_bucket` or one array lookup; the keys and the numeric values are materialised once
 * (the CTE), then hashed GROUPING SETS count every part's keys in one pass without expanding rows, and one plain
 * aggregate takes the numeric minima and maxima. (Measured on 1M rows: the cost is per-row expression work — JSON
 * numbers, bucket expressions — not the shape of the aggregation; see bench/drift/README.md.)
 */
export function windowAggregatesSql(reference: MonitoringReference, query: WindowQuery): WindowAggregatesSql {
  const params = new Params();
  const columns: string[] = [];
  const keys: string[] = [];
  const decoders: PartDecoder[] = [];
  const numericValues: { part: number; x: string }[] = [];
  // Each feature's column of a record: its row of the 2-D array as a slice (read once per record, not per row);
  // a record without the feature (or with it as the other kind) gives NULLs, i.e. missing.
  reference.features.forEach(({ name, reference: feature }, index) => {
    const key = params.add(name, '::text');
    if (feature.kind === 'numeric') {
      columns.push(`r.num_values[array_position(r.num_names, ${key}):array_position(r.num_names, ${key})][:]`);
      const { key: numericKey, decoder } = numericKeySql(params, feature, `c.v${index}`);
      keys.push(numericKey);
      decoders.push(decoder);
      numericValues.push({ part: index, x: `c.v${index}` });
    } else {
      columns.push(`r.cat_values[array_position(r.cat_names, ${key}):array_position(r.cat_names, ${key})][:]`);
      const { key: categoricalKey, decoder } = categoricalKeySql(params, feature, `c.v${index}`);
      keys.push(categoricalKey);
      decoders.push(decoder);
    }
  });
  const scorePart = reference.features.length;
  const score = numericKeySql(params, reference.score, 'c.score');
  keys.push(score.key);
  decoders.push(score.decoder);
  numericValues.push({ part: scorePart, x: `CASE WHEN c.score > '-Infinity'::float8 AND c.score < 'Infinity'::float8 THEN c.score END` });
  keys.push(`width_bucket(coalesce(c.latency_ms, 0), ${params.add(LATENCY_BOUNDS_MS, '::float8[]')})`);
  decoders.push({ kind: 'latency' });
  const parts = keys.map((_, part) => part);
  const text = `WITH k AS MATERIALIZED (
  SELECT ${keys.map((key, part) => `${key} AS k${part}`).join(',\n    ')}${numericValues.map(({ part, x }) => `,\n    ${x} AS x${part}`).join('')}
  FROM (
    SELECT u.score, r.latency_ms${columns.map((_, index) => `, u.v${index}`).join('')}
    FROM prediction_records r
    CROSS JOIN LATERAL unnest(r.scores${columns.map((column) => `, ${column}`).join('')}) AS u(score${columns.map((_, index) => `, v${index}`).join('')})
    WHERE ${windowFilter(params, query, 'r')}
    OFFSET 0
  ) AS c
)
SELECT ${parts.map((part) => `k.k${part}`).join(', ')}, count(*) AS n, NULL::int AS part, NULL::float8 AS lo, NULL::float8 AS hi
FROM k
GROUP BY GROUPING SETS (${parts.map((part) => `(k.k${part})`).join(', ')})
UNION ALL
SELECT ${parts.map(() => 'NULL').join(', ')}, NULL, e.part, e.lo, e.hi
FROM (SELECT ${numericValues.map(({ part }) => `min(k.x${part}) AS lo${part}, max(k.x${part}) AS hi${part}`).join(', ')} FROM k) AS m
CROSS JOIN LATERAL (VALUES ${numericValues.map(({ part }) => `(${part}, m.lo${part}, m.hi${part})`).join(', ')}) AS e(part, lo, hi)`;
  return { text, values: params.values, decoders };
}

function emptyLive(reference: FeatureReference): LiveCounts {
  const counts = new Array<number>(reference.counts.length).fill(0);
  return reference.kind === 'numeric'
    ? { kind: 'numeric', rows: 0, missing: 0, counts, belowMin: 0, aboveMax: 0, unseen: 0, min: null, max: null }
    : { kind: 'categorical', rows: 0, missing: 0, counts, unseen: 0 };
}

/** Adds `n` rows whose key on `decoder` is `key` to `live`. */
function addKey(live: LiveCounts, decoder: PartDecoder, key: number, n: number): void {
  live.rows += n;
  if (decoder.kind === 'categorical') {
    const categorical = live as CategoricalLiveCounts;
    if (key === -1) categorical.missing += n;
    else if (key === -2 || key === 0) {
      categorical.counts[decoder.categories]! += n;
      if (key === -2) categorical.unseen += n;
    } else categorical.counts[key - 1]! += n;
    return;
  }
  if (decoder.kind !== 'numeric') throw new Error('unreachable');
  const numeric = live as NumericLiveCounts;
  const unseen = key <= -2;
  const index = unseen ? -2 - key : key;
  if (index <= 0 || index >= decoder.thresholds) {
    numeric.missing += n;
    return;
  }
  const { bucket, belowMin, aboveMax } = decoder.decode[index]!;
  numeric.counts[bucket]! += n;
  if (unseen) numeric.unseen += n;
  if (belowMin) numeric.belowMin += n;
  if (aboveMax) numeric.aboveMax += n;
}

type ResultRow = Record<string, number | string | null> & { n: string | null; part: number | null; lo: number | null; hi: number | null };

/** Runs the window's aggregation; work_mem is raised for this statement only, so its hash tables never sort. */
export async function aggregateWindow(pool: pg.Pool, reference: MonitoringReference, query: WindowQuery): Promise<WindowAggregates> {
  const { text, values, decoders } = windowAggregatesSql(reference, query);
  const client = await pool.connect();
  let result: pg.QueryResult<ResultRow>;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL work_mem = '${WINDOW_WORK_MEM}'`);
    result = await client.query<ResultRow>({ text, values });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const features = reference.features.map(({ name, reference: feature }) => ({ name, live: emptyLive(feature) }));
  const score = emptyLive(reference.score) as NumericLiveCounts;
  const latencyCounts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  const scorePart = reference.features.length;
  const liveOf = (part: number): LiveCounts => (part === scorePart ? score : features[part]!.live);
  let rows = 0;
  for (const row of result.rows) {
    if (row.n === null) {
      if (row.part === null) continue;
      const live = liveOf(row.part) as NumericLiveCounts;
      live.min = row.lo;
      live.max = row.hi;
      continue;
    }
    // Each grouping set's row has its own key column set, every other one NULL.
    const part = decoders.findIndex((_, index) => row[`k${index}`] !== null);
    const key = Number(row[`k${part}`]);
    const n = Number(row.n);
    const decoder = decoders[part]!;
    if (decoder.kind === 'latency') {
      latencyCounts[key]! += n;
      rows += n;
    } else addKey(liveOf(part), decoder, key, n);
  }
  // A non-finite score is an error row; the score's missing count is exactly those rows.
  return { rows, errorRows: score.missing, features, score, latencyCounts };
}

/** A label's prediction: its record (r) by the id's base, and its 1-based row x.i, which must lie inside the record. */
const FEEDBACK_RECORD_JOIN = `JOIN prediction_records r ON r.base_id = prediction_base_id(f.prediction_id) AND r.model_id = f.model_id
JOIN LATERAL (SELECT prediction_row_index(f.prediction_id) - r.first_index + 1 AS i) AS x
  ON x.i BETWEEN 1 AND r.row_count`;

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
  /** numeric (text): a float8 square overflowed, and Postgres failed the report, for a regression score of 1e200. */
  sse: string | null;
  sae: number | null;
}

/** Labels that arrived in the window for the version's predictions, summed per score bin in one pass. */
export async function aggregateFeedback(pool: pg.Pool, task: 'binary', query: WindowQuery): Promise<BinaryFeedbackSummary>;
export async function aggregateFeedback(pool: pg.Pool, task: 'regression', query: WindowQuery): Promise<RegressionFeedbackSummary>;
export async function aggregateFeedback(pool: pg.Pool, task: 'multiclass', query: WindowQuery): Promise<MulticlassFeedbackSummary>;
export async function aggregateFeedback(
  pool: pg.Pool,
  task: 'binary' | 'regression' | 'multiclass',
  query: WindowQuery,
): Promise<BinaryFeedbackSummary | RegressionFeedbackSummary | MulticlassFeedbackSummary> {
  if (task === 'multiclass') return aggregateMulticlassFeedback(pool, query);
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
  sum(((p.score - f.label)::numeric) ^ 2) AS sse,
  sum(abs(p.score - f.label)) AS sae
FROM feedback f
${FEEDBACK_RECORD_JOIN}
CROSS JOIN LATERAL (SELECT r.scores[x.i] AS score) AS p
WHERE f.model_id = ${model} AND r.version = ${params.add(query.version, '::int')}
  AND f.updated_at >= ${params.add(query.windowStart, '::timestamptz')} AND f.updated_at < ${params.add(query.windowEnd, '::timestamptz')}
GROUP BY 1`;
  const result = await pool.query<FeedbackRow>({ text, values: params.values });
  let labelled = 0;
  if (task === 'regression') {
    let sumSquaredError = 0;
    let sumAbsoluteError = 0;
    for (const row of result.rows) {
      labelled += Number(row.n);
      sumSquaredError += row.sse === null ? 0 : Number(row.sse);
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

/** Multiclass labels in the window: counts per (true class, predicted class) and the log loss sum, in one pass. */
async function aggregateMulticlassFeedback(pool: pg.Pool, query: WindowQuery): Promise<MulticlassFeedbackSummary> {
  const params = new Params();
  const model = params.add(query.modelId, '::uuid');
  const text = `SELECT f.label_class AS actual, p.output->>'label' AS predicted, count(*) AS n,
  sum(-ln(greatest(least(coalesce((p.output->'probabilities'->>f.label_class)::float8, 0), 1 - 1e-15), 1e-15))) AS nll
FROM feedback f
${FEEDBACK_RECORD_JOIN}
CROSS JOIN LATERAL (SELECT r.outputs -> (x.i - 1) AS output) AS p
WHERE f.model_id = ${model} AND r.version = ${params.add(query.version, '::int')} AND f.label_class IS NOT NULL
  AND f.updated_at >= ${params.add(query.windowStart, '::timestamptz')} AND f.updated_at < ${params.add(query.windowEnd, '::timestamptz')}
GROUP BY 1, 2`;
  const result = await pool.query<{ actual: string; predicted: string | null; n: string; nll: number | null }>({ text, values: params.values });
  let labelled = 0;
  let sumNegativeLogLikelihood = 0;
  const pairs = result.rows.map((row) => {
    labelled += Number(row.n);
    sumNegativeLogLikelihood += row.nll ?? 0;
    return { actual: row.actual, predicted: row.predicted ?? '', count: Number(row.n) };
  });
  return { labelled, pairs, sumNegativeLogLikelihood };
}
