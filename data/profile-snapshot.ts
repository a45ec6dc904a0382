// Profiles every column of a Parquet snapshot in DuckDB in two scans whatever the number of columns (more only
// for numeric columns with over 20,000 distinct values or text with over 1,000): counts and moments first, then
// exact value counts of every low-cardinality column, from which quantiles and histograms follow.
import type { DuckDBConnection } from '@duckdb/node-api';
import { MAX_VALUE_BINS } from '../ml/drift/reference-profile.js';
import { openDuckDb, type DuckDbOptions } from './duckdb-session.js';
import { binIndex } from './psi.js';
import { quoteIdentifier, quoteString } from './sql-literal.js';

export type ColumnKind = 'numeric' | 'boolean' | 'categorical' | 'temporal' | 'other';

export const QUANTILE_LEVELS = { p1: 0.01, p5: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;
export type QuantileName = keyof typeof QUANTILE_LEVELS;
/** Deciles: the default histogram cut points, so each reference bin holds about a tenth of the rows. */
const DECILE_LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
/** Columns with at most this many distinct values keep every category and its count. */
export const MAX_TRACKED_CATEGORIES = 1000;
const TOP_VALUES_WHEN_UNTRACKED = 20;

export interface Histogram {
  /** Strictly increasing; `edges.length - 1` bins, right-closed (see psi.ts `binIndex`). */
  edges: number[];
  counts: number[];
}

export interface ColumnProfile {
  name: string;
  /** DuckDB type, e.g. DOUBLE, BIGINT, VARCHAR, DATE. */
  type: string;
  kind: ColumnKind;
  /** Non-null values (NaN and ±Infinity count as non-null). */
  count: number;
  nullCount: number;
  nullRate: number;
  distinctCount: number | null;
  /** Numeric: over finite values. Temporal: ISO text. Otherwise null. */
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  std: number | null;
  quantiles: Record<QuantileName, number> | null;
  nanCount: number;
  infinityCount: number;
  /** Numeric columns: finite values on decile edges; the edges are what drift monitoring bins live data on. */
  histogram: Histogram | null;
  /** Categorical and boolean columns: values by descending count. */
  topValues: { value: string; count: number }[] | null;
  /** True when `topValues` lists every distinct value (≤ MAX_TRACKED_CATEGORIES). */
  categoriesComplete: boolean;
  /** Present when profiled against a reference: this column's finite values counted on the reference's edges. */
  onReferenceEdges?: Histogram;
  /**
   * Numeric columns with at most MAX_VALUE_BINS distinct finite values: every value and its count, ascending.
   * Decile edges collapse on such columns (a 0/1 flag has one edge pair), so PSI compares these counts instead.
   */
  valueCounts?: { values: number[]; counts: number[] };
  /** Present when profiled against a reference with `valueCounts`: counts of its values here, the rest in `other`. */
  onReferenceValues?: { values: number[]; counts: number[]; other: number };
  /** DATE and TIMESTAMP columns: the finite range in seconds since the epoch (`histogram` is on this scale too). */
  epochRange?: { min: number; max: number };
}

export interface DatasetProfile {
  version: 1;
  rowCount: number;
  columns: ColumnProfile[];
}

export interface ProfileOptions {
  /** Also count numeric columns on this profile's histogram edges (for PSI against it). */
  reference?: DatasetProfile;
  duckdb?: DuckDbOptions;
  /** Aborting interrupts the running DuckDB query; the profile then throws the signal's reason (a cancelled run). */
  signal?: AbortSignal;
}

const NUMERIC_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const FLOATING_TYPES = /^(FLOAT|DOUBLE)$/;
/** Aggregated in their own type: sorting integers for quantiles is much faster than sorting them as doubles. */
const NATIVE_AGGREGATE_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|FLOAT|DOUBLE)$/;
const TEMPORAL_TYPES = /^(DATE|TIME|TIMESTAMP.*|TIME WITH TIME ZONE|TIMESTAMP WITH TIME ZONE)$/;

export function columnKind(type: string): ColumnKind {
  const upper = type.toUpperCase();
  if (NUMERIC_TYPES.test(upper)) return 'numeric';
  if (upper === 'BOOLEAN') return 'boolean';
  if (upper === 'VARCHAR' || upper.startsWith('ENUM')) return 'categorical';
  if (TEMPORAL_TYPES.test(upper)) return 'temporal';
  return 'other';
}

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}

function mapEntries(value: unknown): { key: unknown; value: unknown }[] {
  if (value === null || value === undefined) return [];
  return value as { key: unknown; value: unknown }[];
}

/** Strictly increasing edges from min, the deciles and max (ties collapse, so a constant column has one bin). */
function histogramEdges(min: number, max: number, deciles: number[]): number[] {
  const edges = [min];
  // Interpolated deciles can land a rounding error past max (7.000000000000001 for a constant 7): keep them inside.
  for (const value of deciles) {
    if (value > edges[edges.length - 1]! && value < max) edges.push(value);
  }
  if (max > edges[edges.length - 1]!) edges.push(max);
  if (edges.length === 1) edges.push(min);
  return edges;
}

/**
 * SQL counting the finite values of `x` in the bins of `edges`: DuckDB's `histogram(x, boundaries)` on the interior
 * edges, which is right-closed with an overflow bucket, exactly psi.ts `binIndex`.
 */
function binnedHistogramSql(plan: ColumnPlan, edges: readonly number[]): string {
  const cuts = edges.slice(1, -1);
  const filter = ` FILTER (WHERE ${plan.finite})`;
  if (cuts.length === 0) return `count(${plan.sql})${filter}`;
  return `histogram(${plan.asDouble}, [${cuts.map(sqlDouble).join(', ')}])${filter}`;
}

/** Bin counts from the result of `binnedHistogramSql`: one key per boundary, then the overflow bucket. */
function countsFromHistogram(value: unknown, edges: readonly number[]): number[] {
  const bins = Math.max(1, edges.length - 1);
  if (bins === 1) return [toNumber(value) ?? 0];
  const counts = new Array<number>(bins).fill(0);
  const indexOfCut = new Map(edges.slice(1, -1).map((cut, index) => [cut, index]));
  for (const entry of mapEntries(value)) {
    // DuckDB names the overflow bucket null or +Infinity depending on the boundary type.
    const overflow = entry.key === null || Number(entry.key) === Number.POSITIVE_INFINITY;
    const index = overflow ? bins - 1 : indexOfCut.get(Number(entry.key));
    if (index === undefined) throw new Error(`unexpected histogram boundary ${String(entry.key)}`);
    counts[index]! += toNumber(entry.value) ?? 0;
  }
  return counts;
}

function sqlDouble(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`histogram edge ${value} is not finite`);
  return `${value.toPrecision(17)}::DOUBLE`;
}


interface ColumnPlan {
  name: string;
  type: string;
  kind: ColumnKind;
  sql: string;
  /** `sql` as a DOUBLE, for numeric columns. */
  asDouble: string;
  /** What min/max/avg/quantiles aggregate: the column itself when its type allows, else `asDouble`. */
  aggregated: string;
  /** Predicate for values that enter moments, quantiles and histograms. */
  finite: string;
  floating: boolean;
  /** DATE and TIMESTAMP columns: the same column as seconds since the epoch, binned like a number. */
  epoch: ColumnPlan | null;
}

const EPOCH_TYPES = /^(DATE|TIMESTAMP.*)$/;

function planColumn(name: string, type: string): ColumnPlan {
  const kind = columnKind(type);
  const sql = quoteIdentifier(name);
  const floating = FLOATING_TYPES.test(type.toUpperCase());
  const asDouble = `${sql}::DOUBLE`;
  const aggregated = NATIVE_AGGREGATE_TYPES.test(type.toUpperCase()) ? sql : asDouble;
  let epoch: ColumnPlan | null = null;
  if (kind === 'temporal' && EPOCH_TYPES.test(type.toUpperCase())) {
    const seconds = `epoch(${sql})::DOUBLE`;
    epoch = { name, type: 'DOUBLE', kind: 'numeric', sql: seconds, asDouble: seconds, aggregated: seconds, finite: `isfinite(${sql})`, floating: true, epoch: null };
  }
  return { name, type, kind, sql, asDouble, aggregated, finite: floating ? `isfinite(${sql})` : `${sql} IS NOT NULL`, floating, epoch };
}

async function readColumns(connection: DuckDBConnection, relation: string): Promise<ColumnPlan[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return reader.getRowsJS().map((row) => planColumn(String(row[0]), String(row[1])));
}

/** Profiles the Parquet file at `path` (normally an artifact store `localPath`). */
export async function profileSnapshot(path: string, options: ProfileOptions = {}): Promise<DatasetProfile> {
  const session = await openDuckDb(options.duckdb);
  const interrupt = () => session.connection.interrupt();
  options.signal?.addEventListener('abort', interrupt);
  try {
    options.signal?.throwIfAborted();
    return await profileRelation(session.connection, `read_parquet(${quoteString(path)})`, options.reference);
  } catch (error) {
    // The caller learns of the abort, not of the DuckDB INTERRUPT it caused.
    options.signal?.throwIfAborted();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', interrupt);
    session.close();
  }
}

/** Numeric columns with at most this many distinct values are profiled from their exact value counts. */
const MAX_VALUE_COUNT_DISTINCT = 20_000;

/** A numeric column's finite values as sorted distinct values with counts. */
interface ValueCounts {
  values: number[];
  counts: number[];
  total: number;
}

/**
 * Quantiles with DuckDB's `quantile_cont` definition (linear interpolation at position (n − 1)·q between
 * order statistics), computed from value counts.
 */
export function quantilesFromCounts(data: ValueCounts, levels: readonly number[]): number[] {
  const cumulative: number[] = [];
  let running = 0;
  for (const count of data.counts) cumulative.push((running += count));
  const orderStatistic = (index: number): number => {
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid]! > index) high = mid;
      else low = mid + 1;
    }
    return data.values[low]!;
  };
  return levels.map((level) => {
    const position = (data.total - 1) * level;
    const lower = Math.floor(position);
    const below = orderStatistic(lower);
    const above = orderStatistic(Math.ceil(position));
    return below + (position - lower) * (above - below);
  });
}

/** Counts of exactly `values` (a reference's value list) in `data`; every other value is counted in `other`. */
function countsOnValues(data: ValueCounts, values: readonly number[]): { values: number[]; counts: number[]; other: number } {
  const index = new Map(values.map((value, i) => [value, i]));
  const counts = new Array<number>(values.length).fill(0);
  let other = 0;
  data.values.forEach((value, i) => {
    const at = index.get(value);
    if (at === undefined) other += data.counts[i]!;
    else counts[at]! += data.counts[i]!;
  });
  return { values: [...values], counts, other };
}

function countsOnEdges(data: ValueCounts, edges: readonly number[]): number[] {
  const counts = new Array<number>(Math.max(1, edges.length - 1)).fill(0);
  data.values.forEach((value, index) => {
    counts[binIndex(edges, value)]! += data.counts[index]!;
  });
  return counts;
}

/** Profiles any DuckDB relation expression (a table, a view, a `read_*` call). */
export async function profileRelation(
  connection: DuckDBConnection,
  relation: string,
  reference?: DatasetProfile,
): Promise<DatasetProfile> {
  const plans = await readColumns(connection, relation);
  const quantileNames = Object.keys(QUANTILE_LEVELS) as QuantileName[];
  const quantileLevels = [...Object.values(QUANTILE_LEVELS), ...DECILE_LEVELS];
  const referenceByName = new Map((reference?.columns ?? []).map((column) => [column.name, column]));
  const query = async (select: string[]) =>
    (await connection.runAndReadAll(`SELECT ${select.join(', ')} FROM ${relation}`)).getRowsJS()[0]!;

  // Scan 1: counts, distinct counts, moments, NaN/Infinity and temporal ranges for every column at once.
  const select: string[] = ['count(*)'];
  const firstPass = plans.map((plan) => {
    const at = select.length;
    select.push(`count(${plan.sql})`);
    select.push(plan.kind === 'other' ? 'NULL' : `count(DISTINCT ${plan.sql})`);
    if (plan.kind === 'numeric') {
      const filter = plan.floating ? ` FILTER (WHERE ${plan.finite})` : '';
      const x = plan.aggregated;
      select.push(
        `min(${x})${filter}`,
        `max(${x})${filter}`,
        `avg(${x})${filter}`,
        `stddev_samp(${x})${filter}`,
        plan.floating ? `count(*) FILTER (WHERE isnan(${plan.sql}))` : '0',
        plan.floating ? `count(*) FILTER (WHERE isinf(${plan.sql}))` : '0',
      );
    } else if (plan.kind === 'temporal') {
      select.push(`min(${plan.sql})::VARCHAR`, `max(${plan.sql})::VARCHAR`);
      if (plan.epoch !== null) select.push(`min(${plan.epoch.asDouble}) FILTER (WHERE ${plan.epoch.finite})`, `max(${plan.epoch.asDouble}) FILTER (WHERE ${plan.epoch.finite})`);
    }
    return at;
  });
  const first = await query(select);
  const rowCount = toNumber(first[0]) ?? 0;

  const profiles: ColumnProfile[] = plans.map((plan, index) => {
    const at = firstPass[index]!;
    const count = toNumber(first[at]) ?? 0;
    const nullCount = rowCount - count;
    const profile: ColumnProfile = {
      name: plan.name,
      type: plan.type,
      kind: plan.kind,
      count,
      nullCount,
      nullRate: rowCount === 0 ? 0 : nullCount / rowCount,
      distinctCount: toNumber(first[at + 1]),
      min: null,
      max: null,
      mean: null,
      std: null,
      quantiles: null,
      nanCount: 0,
      infinityCount: 0,
      histogram: null,
      topValues: null,
      categoriesComplete: false,
    };
    if (plan.kind === 'numeric') {
      profile.min = toNumber(first[at + 2]);
      profile.max = toNumber(first[at + 3]);
      profile.mean = toNumber(first[at + 4]);
      profile.std = toNumber(first[at + 5]);
      profile.nanCount = toNumber(first[at + 6]) ?? 0;
      profile.infinityCount = toNumber(first[at + 7]) ?? 0;
    } else if (plan.kind === 'temporal') {
      profile.min = (first[at + 2] as string | null) ?? null;
      profile.max = (first[at + 3] as string | null) ?? null;
      const epochMin = plan.epoch === null ? null : toNumber(first[at + 4]);
      const epochMax = plan.epoch === null ? null : toNumber(first[at + 5]);
      if (epochMin !== null && epochMax !== null) profile.epochRange = { min: epochMin, max: epochMax };
    }
    return profile;
  });

  const setQuantiles = (profile: ColumnProfile, levels: number[]) => {
    profile.quantiles = Object.fromEntries(quantileNames.map((name, i) => [name, levels[i]!])) as Record<QuantileName, number>;
    if (profile.min !== null && profile.max !== null) {
      const edges = histogramEdges(profile.min as number, profile.max as number, levels.slice(quantileNames.length));
      profile.histogram = { edges, counts: [] };
    }
  };

  // Scan 2: exact value counts of every low-cardinality column in one GROUPING SETS query (far cheaper than
  // DuckDB's map-building histogram()); quantiles and bins of numbers follow from the counts in JS.
  const grouped: { plan: ColumnPlan; profile: ColumnProfile; numeric: boolean }[] = [];
  const highCardinality: { plan: ColumnPlan; profile: ColumnProfile }[] = [];
  const untracked: { plan: ColumnPlan; profile: ColumnProfile }[] = [];
  plans.forEach((plan, index) => {
    const profile = profiles[index]!;
    if (plan.kind === 'numeric') {
      if (profile.count - profile.nanCount - profile.infinityCount === 0) return;
      if ((profile.distinctCount ?? Infinity) <= MAX_VALUE_COUNT_DISTINCT) grouped.push({ plan, profile, numeric: true });
      else highCardinality.push({ plan, profile });
    } else if (plan.kind === 'categorical' || plan.kind === 'boolean') {
      if ((profile.distinctCount ?? 0) <= MAX_TRACKED_CATEGORIES) grouped.push({ plan, profile, numeric: false });
      else untracked.push({ plan, profile });
    }
  });
  if (grouped.length > 0) {
    const keys = grouped.map((_, i) => `k${i}`);
    const inner = grouped.map((entry, i) => `${entry.numeric ? entry.plan.aggregated : `${entry.plan.sql}::VARCHAR`} AS k${i}`);
    const rows = (
      await connection.runAndReadAll(
        `SELECT ${keys.map((key) => `GROUPING(${key})`).join(', ')}, ${keys.join(', ')}, count(*) ` +
          `FROM (SELECT ${inner.join(', ')} FROM ${relation}) ` +
          `GROUP BY GROUPING SETS (${keys.map((key) => `(${key})`).join(', ')})`,
      )
    ).getRowsJS();
    const numericPairs = grouped.map(() => [] as [number, number][]);
    const categoryPairs = grouped.map(() => [] as { key: unknown; value: unknown }[]);
    const n = grouped.length;
    for (const row of rows) {
      const i = grouped.findIndex((_, column) => Number(row[column]) === 0);
      if (i < 0) continue;
      const key = row[n + i];
      if (key === null || key === undefined) continue; // nulls are already counted
      if (grouped[i]!.numeric) {
        const value = toNumber(key); // NaN and ±Infinity stay out of quantiles and bins
        if (value !== null) numericPairs[i]!.push([value, toNumber(row[2 * n]) ?? 0]);
      } else {
        categoryPairs[i]!.push({ key, value: row[2 * n] });
      }
    }
    grouped.forEach(({ plan, profile, numeric }, i) => {
      if (!numeric) {
        profile.topValues = sortedCounts(categoryPairs[i]!);
        profile.categoriesComplete = true;
        return;
      }
      const pairs = numericPairs[i]!.sort((a, b) => a[0] - b[0]);
      const data: ValueCounts = {
        values: pairs.map((pair) => pair[0]),
        counts: pairs.map((pair) => pair[1]),
        total: pairs.reduce((sum, pair) => sum + pair[1], 0),
      };
      if (data.total === 0) return;
      if (data.values.length <= MAX_VALUE_BINS) profile.valueCounts = { values: [...data.values], counts: [...data.counts] };
      const referenceValues = referenceByName.get(plan.name)?.valueCounts;
      if (referenceValues) profile.onReferenceValues = countsOnValues(data, referenceValues.values);
      setQuantiles(profile, quantilesFromCounts(data, quantileLevels));
      if (profile.histogram) profile.histogram.counts = countsOnEdges(data, profile.histogram.edges);
      const referenceEdges = referenceByName.get(plan.name)?.histogram?.edges;
      if (referenceEdges && referenceEdges.length >= 2) {
        profile.onReferenceEdges = { edges: [...referenceEdges], counts: countsOnEdges(data, referenceEdges) };
      }
    });
  }

  // High-cardinality numbers: DuckDB's exact quantiles, then (scan 3) counts on their edges and the reference's.
  const needBins: { plan: ColumnPlan; profile: ColumnProfile }[] = [];
  if (highCardinality.length > 0) {
    const row = await query(
      highCardinality.map(({ plan }) => {
        const filter = plan.floating ? ` FILTER (WHERE ${plan.finite})` : '';
        return `quantile_cont(${plan.aggregated}, [${quantileLevels.join(', ')}])${filter}`;
      }),
    );
    highCardinality.forEach((entry, i) => {
      const levels = (row[i] as unknown[] | null)?.map(toNumber) ?? null;
      if (levels && levels.every((value) => value !== null)) setQuantiles(entry.profile, levels as number[]);
      needBins.push(entry);
    });
  }

  // Dates and timestamps: deciles of their epoch seconds (histogram edges, for range and PSI checks).
  const temporal = plans.flatMap((plan, index) => {
    const profile = profiles[index]!;
    return plan.epoch !== null && profile.epochRange !== undefined ? [{ plan: plan.epoch, profile }] : [];
  });
  if (temporal.length > 0) {
    const row = await query(temporal.map(({ plan }) => `quantile_cont(${plan.aggregated}, [${DECILE_LEVELS.join(', ')}]) FILTER (WHERE ${plan.finite})`));
    temporal.forEach(({ plan, profile }, i) => {
      const deciles = (row[i] as unknown[] | null)?.map(toNumber) ?? null;
      if (!deciles || deciles.some((value) => value === null)) return;
      profile.histogram = { edges: histogramEdges(profile.epochRange!.min, profile.epochRange!.max, deciles as number[]), counts: [] };
      needBins.push({ plan, profile });
    });
  }

  // Scan 3, for high-cardinality numbers and dates: counts on their own edges and on the reference's.
  const third: string[] = [];
  const thirdReaders: ((row: unknown[]) => void)[] = [];
  for (const { plan, profile } of needBins) {
    const histogram = profile.histogram;
    if (histogram) {
      const at = third.length;
      third.push(binnedHistogramSql(plan, histogram.edges));
      thirdReaders.push((row) => {
        histogram.counts = countsFromHistogram(row[at], histogram.edges);
      });
    }
    const referenceEdges = referenceByName.get(plan.name)?.histogram?.edges;
    if (referenceEdges && referenceEdges.length >= 2) {
      const at = third.length;
      third.push(binnedHistogramSql(plan, referenceEdges));
      thirdReaders.push((row) => {
        profile.onReferenceEdges = { edges: [...referenceEdges], counts: countsFromHistogram(row[at], referenceEdges) };
      });
    }
  }
  if (third.length > 0) {
    const row = await query(third);
    for (const read of thirdReaders) read(row);
  }

  for (const { plan, profile } of untracked) {
    const reader = await connection.runAndReadAll(
      `SELECT ${plan.sql}::VARCHAR, count(*) AS n FROM ${relation} WHERE ${plan.sql} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT ${TOP_VALUES_WHEN_UNTRACKED}`,
    );
    profile.topValues = reader.getRowsJS().map((row) => ({ value: String(row[0]), count: toNumber(row[1]) ?? 0 }));
  }
  return { version: 1, rowCount, columns: profiles };
}

function sortedCounts(entries: { key: unknown; value: unknown }[]): { value: string; count: number }[] {
  return entries
    .map((entry) => ({ value: String(entry.key), count: toNumber(entry.value) ?? 0 }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
