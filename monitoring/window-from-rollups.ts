// The window's aggregates from the per-minute rollups the prediction log wrote with its rows, exact: a whole
// minute is summed from its rollup only when the rollup counts exactly the rows the log holds for that minute
// (checked in the same snapshot); the partial minutes at the window's edges and every other minute (rows logged
// before their version had a reference, before rollups existed, or by another writer) are binned from the raw
// rows by the reference SQL (window-aggregates.ts).
import type pg from 'pg';
import type { LiveCounts, NumericLiveCounts } from '../ml/drift/index.js';
import { countPredictionsPerMinute, listPredictionRollups, type MinuteRange, type StoredRollup } from '../db/repositories/prediction-rollups.js';
import { addRollup, emptyRollupSum, rollupLayout, windowAggregatesFromRollups } from './prediction-rollup.js';
import type { MonitoringReference } from './reference.js';
import { aggregateWindow, type WindowAggregates, type WindowQuery } from './window-aggregates.js';

const MINUTE_MS = 60_000;
/** Beyond this many separate raw ranges one raw pass over the whole window is cheaper than many small ones. */
const MAX_RAW_RANGES = 16;

export interface WindowAggregatesWithSource extends WindowAggregates {
  /** Rows counted from rollups and from raw rows (for the bench and the tests). */
  source: { rollupRows: number; rawRows: number; rawRanges: number };
}

function addLive(into: LiveCounts, from: LiveCounts): void {
  into.rows += from.rows;
  into.missing += from.missing;
  into.unseen += from.unseen;
  for (let i = 0; i < into.counts.length; i++) into.counts[i]! += from.counts[i]!;
  if (into.kind === 'numeric' && from.kind === 'numeric') {
    into.belowMin += from.belowMin;
    into.aboveMax += from.aboveMax;
    if (from.min !== null && (into.min === null || from.min < into.min)) into.min = from.min;
    if (from.max !== null && (into.max === null || from.max > into.max)) into.max = from.max;
  }
}

/** Adds `from` into `into` (both counted in the same reference's bins). */
export function addWindowAggregates(into: WindowAggregates, from: WindowAggregates): void {
  into.rows += from.rows;
  into.errorRows += from.errorRows;
  into.features.forEach((feature, index) => addLive(feature.live, from.features[index]!.live));
  addLive(into.score, from.score as NumericLiveCounts);
  for (let i = 0; i < into.latencyCounts.length; i++) into.latencyCounts[i]! += from.latencyCounts[i]!;
}

async function readMinutes(pool: pg.Pool, range: MinuteRange, layoutSha: string): Promise<{ counts: Map<number, number>; rollups: StoredRollup[] }> {
  const client = await pool.connect();
  try {
    // One snapshot for both, so a batch committed in between cannot make a rollup look complete or stale.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const counts = await countPredictionsPerMinute(client, range);
    const rollups = await listPredictionRollups(client, range, layoutSha);
    await client.query('COMMIT');
    return { counts, rollups };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The same aggregates as `aggregateWindow(pool, reference, query)`, from rollups where they are complete. */
export async function aggregateWindowWithRollups(pool: pg.Pool, reference: MonitoringReference, query: WindowQuery): Promise<WindowAggregatesWithSource> {
  const start = query.windowStart.getTime();
  const end = query.windowEnd.getTime();
  const firstWhole = Math.ceil(start / MINUTE_MS) * MINUTE_MS;
  const endWhole = Math.floor(end / MINUTE_MS) * MINUTE_MS;
  if (!(firstWhole < endWhole)) {
    const raw = await aggregateWindow(pool, reference, query);
    return { ...raw, source: { rollupRows: 0, rawRows: raw.rows, rawRanges: 1 } };
  }
  const layout = rollupLayout(reference);
  const range = { modelId: query.modelId, version: query.version, from: new Date(firstWhole), to: new Date(endWhole) };
  const { counts, rollups } = await readMinutes(pool, range, layout.sha);

  const sum = emptyRollupSum(layout);
  const summed = new Set<number>();
  for (const rollup of rollups) {
    if (counts.get(rollup.minuteMs) !== rollup.rows) continue;
    addRollup(sum, rollup);
    summed.add(rollup.minuteMs);
  }
  // Raw ranges: the edges, and runs of minutes with rows but no complete rollup.
  const rawMinutes = [...counts.keys()].filter((minute) => !summed.has(minute)).sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  if (start < firstWhole) ranges.push([start, firstWhole]);
  for (const minute of rawMinutes) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === minute) last[1] = minute + MINUTE_MS;
    else ranges.push([minute, minute + MINUTE_MS]);
  }
  if (endWhole < end) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === endWhole) last[1] = end;
    else ranges.push([endWhole, end]);
  }

  if (ranges.length > MAX_RAW_RANGES) {
    const raw = await aggregateWindow(pool, reference, query);
    return { ...raw, source: { rollupRows: 0, rawRows: raw.rows, rawRanges: 1 } };
  }
  const result = windowAggregatesFromRollups(reference, layout, sum);
  const rollupRows = result.rows;
  const raws = await Promise.all(
    ranges.map(([from, to]) => aggregateWindow(pool, reference, { ...query, windowStart: new Date(from), windowEnd: new Date(to) })),
  );
  for (const raw of raws) addWindowAggregates(result, raw);
  return { ...result, source: { rollupRows, rawRows: result.rows - rollupRows, rawRanges: ranges.length } };
}
