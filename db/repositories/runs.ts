// Runs: one row per pipeline run (API request or schedule), with progress as the workflow reports it.
import { and, desc, eq, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { runs, type RunRow } from '../schema.js';
import type { RecordRunProgressInput } from '../../workflows/contracts/pipeline-activities.js';
import type { RunStatus } from '../../workflows/run-status.js';
import type { DbOrTx } from '../client.js';

const OPEN_STATUSES: readonly RunStatus[] = ['running', 'awaiting_review'];

/**
 * Updates the run's row; returns false when the run has no row (a workflow started without the API).
 * A terminal status stamps `finished_at` once.
 */
export async function updateRunProgress(db: DbOrTx, input: RecordRunProgressInput, now: Date): Promise<boolean> {
  const finished = !OPEN_STATUSES.includes(input.status);
  const updated = await db
    .update(runs)
    .set({
      stage: input.stage,
      status: input.status,
      reason: input.reason ?? null,
      ...(input.snapshotSha256 !== undefined ? { snapshotSha256: input.snapshotSha256 } : {}),
      ...(input.modelVersion !== undefined ? { modelVersion: input.modelVersion } : {}),
      updatedAt: now,
      finishedAt: finished ? sql`coalesce(${runs.finishedAt}, ${now.toISOString()}::timestamptz)` : null,
    })
    .where(eq(runs.id, input.runId))
    .returning({ id: runs.id });
  return updated.length > 0;
}

export type NewRun = typeof runs.$inferInsert;

export async function insertRun(db: DbOrTx, run: NewRun): Promise<RunRow> {
  const [row] = await db.insert(runs).values(run).returning();
  return row!;
}

/** Stamps that the run's workflow exists (started now or by an earlier attempt); a stamp already there stays. */
export async function markRunWorkflowStarted(db: DbOrTx, id: string, now: Date): Promise<RunRow | undefined> {
  const [row] = await db
    .update(runs)
    .set({ workflowStartedAt: sql`coalesce(${runs.workflowStartedAt}, ${now.toISOString()}::timestamptz)` })
    .where(eq(runs.id, id))
    .returning();
  return row;
}

/** Ends a run whose workflow never started (the start failed and no retry can find the row); a started one stays. */
export async function failUnstartedRun(db: DbOrTx, id: string, reason: string, now: Date): Promise<void> {
  await db
    .update(runs)
    .set({ status: 'failed', reason, updatedAt: now, finishedAt: now })
    .where(and(eq(runs.id, id), isNull(runs.workflowStartedAt)));
}

/** Runs recorded before `recordedBefore` whose workflow was never stamped started (the API died in between). */
export async function listUnstartedRuns(db: DbOrTx, recordedBefore: Date, limit: number): Promise<RunRow[]> {
  return db
    .select()
    .from(runs)
    .where(and(isNull(runs.workflowStartedAt), eq(runs.status, 'running'), lt(runs.createdAt, recordedBefore)))
    .orderBy(runs.createdAt)
    .limit(limit);
}

export async function getRun(db: DbOrTx, id: string): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id)).limit(1);
  return row;
}

export async function getRunByIdempotencyKey(db: DbOrTx, scopedKey: string): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.idempotencyKey, scopedKey)).limit(1);
  return row;
}

/** Newest first. */
export async function listRecentRuns(
  db: DbOrTx,
  filter: { model?: string; status?: RunStatus; limit: number },
): Promise<RunRow[]> {
  const conditions: SQL[] = [];
  if (filter.model) conditions.push(eq(runs.model, filter.model));
  if (filter.status) conditions.push(eq(runs.status, filter.status));
  return db
    .select()
    .from(runs)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(runs.createdAt))
    .limit(filter.limit);
}

/** The oldest run of the model that one requester started and that has not ended (e.g. the monitor's retrain). */
export async function findOpenRunOf(db: DbOrTx, model: string, requestedByName: string): Promise<RunRow | undefined> {
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.model, model), eq(runs.requestedByName, requestedByName), inArray(runs.status, [...OPEN_STATUSES])))
    .orderBy(runs.createdAt)
    .limit(1);
  return row;
}

/** Inserts the run unless a row with its id exists (a retried activity); returns whether this call inserted it. */
export async function insertRunOnce(db: DbOrTx, run: NewRun): Promise<boolean> {
  const inserted = await db.insert(runs).values(run).onConflictDoNothing({ target: runs.id }).returning({ id: runs.id });
  return inserted.length > 0;
}
