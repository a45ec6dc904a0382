// Daily partitions of the prediction log: created ahead of time, and dropped whole once past retention.
import type pg from 'pg';

const PARENT = 'prediction_records';
const DEFAULT_PARTITION = 'prediction_records_default';
const PARTITION_NAME = /^prediction_records_p(\d{4})(\d{2})(\d{2})$/;
// Serialises partition DDL across API processes: CREATE … IF NOT EXISTS alone still races on the catalog.
const PARTITION_LOCK_KEY = 72732;
const DAY_MS = 24 * 60 * 60 * 1000;

/** UTC midnight of the day `at` falls in. */
export function dayStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

export function partitionNameFor(day: Date): string {
  return `${PARENT}_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/** The day a partition covers, from its name; undefined for the default partition and foreign tables. */
export function partitionDay(name: string): Date | undefined {
  const match = PARTITION_NAME.exec(name);
  return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
}

/**
 * Makes sure the partitions for the day of `from` and the `daysAhead` days after it exist. Idempotent and safe
 * under concurrent callers. Rows that already landed in the default partition for such a day are moved into it.
 * Returns the names it created.
 */
export async function ensurePredictionPartitions(pool: pg.Pool, from: Date, daysAhead: number): Promise<string[]> {
  const client = await pool.connect();
  const created: string[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
    const existing = new Set(await listPartitionNames(client));
    const first = dayStart(from);
    for (let offset = 0; offset <= daysAhead; offset += 1) {
      const day = new Date(first.getTime() + offset * DAY_MS);
      const name = partitionNameFor(day);
      if (existing.has(name)) continue;
      await createDayPartition(client, name, day);
      created.push(name);
    }
    await client.query('COMMIT');
    return created;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function createDayPartition(client: pg.PoolClient, name: string, day: Date): Promise<void> {
  const lower = day.toISOString();
  const upper = new Date(day.getTime() + DAY_MS).toISOString();
  const stray = await client.query(
    `SELECT 1 FROM ${DEFAULT_PARTITION} WHERE created_at >= $1 AND created_at < $2 LIMIT 1`,
    [lower, upper],
  );
  if (stray.rowCount === 0) {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${PARENT} FOR VALUES FROM ('${lower}') TO ('${upper}')`,
    );
    return;
  }
  // Postgres refuses a partition whose range already has rows in the default one: move them in, then attach.
  await client.query(`LOCK TABLE ${DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE`);
  await client.query(`CREATE TABLE ${name} (LIKE ${PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await client.query(
    `WITH moved AS (DELETE FROM ${DEFAULT_PARTITION} WHERE created_at >= $1 AND created_at < $2 RETURNING *)
     INSERT INTO ${name} SELECT * FROM moved`,
    [lower, upper],
  );
  await client.query(`ALTER TABLE ${PARENT} ATTACH PARTITION ${name} FOR VALUES FROM ('${lower}') TO ('${upper}')`);
}

/** Drops every daily partition whose whole day lies more than `retentionDays` days before `now`; returns their names. */
export async function dropExpiredPredictionPartitions(pool: pg.Pool, now: Date, retentionDays: number): Promise<string[]> {
  // The partition for day D holds rows up to D+1; it expires once D+1 is older than the retention window.
  const oldestKept = new Date(dayStart(now).getTime() - retentionDays * DAY_MS);
  const client = await pool.connect();
  const dropped: string[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
    for (const name of await listPartitionNames(client)) {
      const day = partitionDay(name);
      if (day === undefined || day.getTime() >= oldestKept.getTime()) continue;
      await client.query(`DROP TABLE IF EXISTS ${name}`);
      dropped.push(name);
    }
    await client.query('COMMIT');
    return dropped;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function listPartitionNames(client: pg.Pool | pg.PoolClient): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT child.relname AS name
       FROM pg_inherits
       JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
       JOIN pg_class child ON child.oid = pg_inherits.inhrelid
       JOIN pg_namespace ns ON ns.oid = parent.relnamespace
      WHERE parent.relname = $1 AND ns.nspname = current_schema()
      ORDER BY child.relname`,
    [PARENT],
  );
  return result.rows.map((row) => row.name);
}
