// Run progress as the pipeline workflow reports it (stage, status, reason), for GET /v1/runs.
import { eq, sql } from 'drizzle-orm';
import { runs } from '../schema.js';
import type { RecordRunProgressInput } from '../../workflows/contracts/pipeline-activities.js';
import type { RunStatus } from '../../workflows/run-status.js';
import type { DbOrTx } from './models.js';

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
