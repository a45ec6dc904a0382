// A cancelled run's version leaves review: `rejected`, with the reason in the audit trail, so no version waits
// for ever for a review nobody can give any more.
import type { Db } from '../db/client.js';
import { writeAudit } from '../db/repositories/audit.js';
import { getModelVersionByRunId, setModelVersionStatus } from '../db/repositories/model-versions.js';
import type { WithdrawPendingVersionInput } from '../workflows/contracts/pipeline-activities.js';
import { PIPELINE_ACTOR } from './versions.js';

/**
 * Rejects the run's version only while it is `pending_approval`; returns whether it did. Idempotent: a retry, a
 * version already reviewed, or a run that never registered one changes nothing.
 */
export async function withdrawPendingVersion(db: Db, input: WithdrawPendingVersionInput): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = await getModelVersionByRunId(tx, input.runId);
    if (!row || row.status !== 'pending_approval') return false;
    const changed = await setModelVersionStatus(tx, row.modelId, row.version, 'rejected', ['pending_approval']);
    if (!changed) return false;
    await writeAudit(tx, {
      ...PIPELINE_ACTOR,
      action: 'version.withdraw',
      subject: `run:${input.runId}`,
      before: { status: 'pending_approval' },
      after: { status: 'rejected', model: input.model, version: row.version, reason: input.reason },
    });
    return true;
  });
}
