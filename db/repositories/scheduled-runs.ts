// Runs that a Temporal Schedule started: no API request created their row, so the workflow records it.
import type { DbOrTx } from '../client.js';
import { runs } from '../schema.js';

export interface NewScheduledRun {
  id: string;
  workflowId: string;
  model: string;
  spec: unknown;
  specHash: string;
  requestedBy: string | null;
  requestedByName: string;
  /** The schedule's owner (or whoever triggered it by hand); absent for schedules made before users. */
  requestedByUser?: string | null;
  scheduleId: string;
}

/** Idempotent: a second insert of the same run id changes nothing (and says so: `false`). */
export async function insertScheduledRun(db: DbOrTx, run: NewScheduledRun): Promise<boolean> {
  const inserted = await db
    .insert(runs)
    .values({ ...run, status: 'running', stage: 'queued' })
    .onConflictDoNothing({ target: runs.id })
    .returning({ id: runs.id });
  return inserted.length > 0;
}
