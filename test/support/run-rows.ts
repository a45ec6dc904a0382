// Rows that belong to a run (reports, versions, approvals, deployments) reference `runs.id`: tests that write such
// rows for a made-up run give it a runs row first, as POST /v1/runs or a schedule would.
import { runs } from '../../db/schema.js';
import type { DbOrTx } from '../../db/client.js';

/** The run's row, created once; calling it again for the same id changes nothing. */
export async function insertRunRow(db: DbOrTx, runId: string, model = 'test-model'): Promise<void> {
  await db
    .insert(runs)
    .values({ id: runId, workflowId: `pipeline/${model}/${runId}`, model, spec: {}, specHash: 'test' })
    .onConflictDoNothing({ target: runs.id });
}
