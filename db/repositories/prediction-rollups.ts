// Per-minute rollups of the prediction log (monitoring/prediction-rollup.ts counts them): written with the rows in
// one transaction, summed by the monitoring report, deleted with their day's partition.
import type pg from 'pg';
import { copyPredictionRecords, type PredictionRecord } from './predictions.js';

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** One (model, version, minute) rollup in its layout (monitoring/prediction-rollup.ts counts it). */
export interface PredictionRollup {
  modelId: string;
  version: number;
  minute: Date;
  layoutSha: string;
  rows: number;
  counts: number[];
  mins: (number | null)[];
  maxs: (number | null)[];
}

/**
 * Adds each rollup to its stored row (counts element by element, mins/maxs combined), creating it if absent.
 * The rollups must have distinct keys; sorted keys keep concurrent writers from deadlocking.
 */
export async function upsertPredictionRollups(client: Queryable, rollups: readonly PredictionRollup[]): Promise<void> {
  if (rollups.length === 0) return;
  const values: unknown[] = [];
  const tuples = rollups.map((rollup) => {
    const at = values.length;
    values.push(rollup.modelId, rollup.version, rollup.minute.toISOString(), rollup.layoutSha, rollup.rows, rollup.counts, rollup.mins, rollup.maxs);
    return `($${at + 1}::uuid, $${at + 2}::int, $${at + 3}::timestamptz, $${at + 4}::text, $${at + 5}::int8, $${at + 6}::int8[], $${at + 7}::float8[], $${at + 8}::float8[])`;
  });
  await client.query(
    `INSERT INTO prediction_rollups AS r (model_id, version, minute, layout_sha, rows, counts, mins, maxs)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (model_id, version, minute, layout_sha) DO UPDATE SET
       rows = r.rows + excluded.rows,
       counts = (SELECT array_agg(a + b ORDER BY i) FROM unnest(r.counts, excluded.counts) WITH ORDINALITY AS t(a, b, i)),
       mins = (SELECT array_agg(least(a, b) ORDER BY i) FROM unnest(r.mins, excluded.mins) WITH ORDINALITY AS t(a, b, i)),
       maxs = (SELECT array_agg(greatest(a, b) ORDER BY i) FROM unnest(r.maxs, excluded.maxs) WITH ORDINALITY AS t(a, b, i))`,
    values,
  );
}

/** COPYs the rows and adds their rollups in one transaction, so the stored rollups always count the stored rows. */
export async function copyPredictionsWithRollups(
  client: pg.PoolClient | pg.Client,
  records: readonly PredictionRecord[],
  rollups: readonly PredictionRollup[],
): Promise<void> {
  if (rollups.length === 0) {
    await copyPredictionRecords(client, records);
    return;
  }
  await client.query('BEGIN');
  try {
    await copyPredictionRecords(client, records);
    await upsertPredictionRollups(client, rollups);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export interface MinuteRange {
  modelId: string;
  version: number;
  /** Whole minutes: [from, to). */
  from: Date;
  to: Date;
}

export interface StoredRollup {
  minuteMs: number;
  rows: number;
  counts: number[];
  mins: (number | null)[];
  maxs: (number | null)[];
}

/** The rollups of one layout over whole minutes. */
export async function listPredictionRollups(client: Queryable, range: MinuteRange, layoutSha: string): Promise<StoredRollup[]> {
  const result = await client.query<{ minute: Date; rows: string; counts: string[]; mins: (number | null)[]; maxs: (number | null)[] }>(
    `SELECT minute, rows, counts, mins, maxs FROM prediction_rollups
      WHERE model_id = $1 AND version = $2 AND minute >= $3 AND minute < $4 AND layout_sha = $5`,
    [range.modelId, range.version, range.from.toISOString(), range.to.toISOString(), layoutSha],
  );
  return result.rows.map((row) => ({
    minuteMs: row.minute.getTime(),
    rows: Number(row.rows),
    counts: row.counts.map(Number),
    mins: row.mins,
    maxs: row.maxs,
  }));
}

/** Logged rows per minute (epoch ms of the minute → rows): what each minute's rollup must add up to. */
export async function countPredictionsPerMinute(client: Queryable, range: MinuteRange): Promise<Map<number, number>> {
  // date_bin is integer arithmetic on the timestamp (extract(epoch) would be numeric), and ignores the session's zone.
  const result = await client.query<{ minute: Date; n: string }>(
    `SELECT date_bin('1 minute', created_at, '2000-01-01 00:00:00+00') AS minute, sum(row_count) AS n FROM prediction_records
      WHERE model_id = $1 AND version = $2 AND created_at >= $3 AND created_at < $4
      GROUP BY 1`,
    [range.modelId, range.version, range.from.toISOString(), range.to.toISOString()],
  );
  return new Map(result.rows.map((row) => [row.minute.getTime(), Number(row.n)]));
}

/** Drops the rollups of minutes before `before` (retention: their rows' partitions are gone). */
export async function deletePredictionRollupsBefore(client: Queryable, before: Date): Promise<number> {
  const result = await client.query('DELETE FROM prediction_rollups WHERE minute < $1', [before.toISOString()]);
  return result.rowCount ?? 0;
}

/** A version's stored drift reference (JSON), or undefined: what the prediction log bins its rows against. */
export async function findMonitoringReferenceJson(client: Queryable, modelId: string, version: number): Promise<unknown> {
  const result = await client.query<{ reference: unknown }>(
    'SELECT reference FROM monitoring_references WHERE model_id = $1 AND version = $2 LIMIT 1',
    [modelId, version],
  );
  return result.rows[0]?.reference;
}
