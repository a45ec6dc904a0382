// Records a review (human or policy) once: the approvals row, the version's new status and the audit row.
import { recordApproval } from '../db/repositories/approvals.js';
import { writeAudit } from '../db/repositories/audit.js';
import type { Db } from '../db/client.js';
import { setModelVersionStatus, type ModelVersionStatus } from '../db/repositories/model-versions.js';
import type { RecordReviewDecisionInput } from '../workflows/contracts/pipeline-activities.js';
import type { ReviewResult } from '../workflows/contracts/review.js';
import { requireVersion } from './versions.js';

const STATUS_BY_DECISION: Record<ReviewResult['decision'], ModelVersionStatus> = {
  approve: 'approved',
  auto_approve: 'approved',
  reject: 'rejected',
  auto_reject: 'rejected',
  expire: 'expired',
};

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Idempotent per run: a second call finds the approvals row and changes nothing. */
export async function recordReviewDecision(db: Db, input: RecordReviewDecisionInput): Promise<void> {
  const { model, row } = await requireVersion(db, input.model, input.version);
  const { result } = input;
  // Only an API key id is a key; the workflow may carry another reviewer identity.
  const reviewerKeyId = input.reviewerKeyId && UUID_PATTERN.test(input.reviewerKeyId) ? input.reviewerKeyId : null;
  await db.transaction(async (tx) => {
    const { created } = await recordApproval(tx, {
      runId: input.runId,
      modelVersionId: row.id,
      decision: result.decision,
      reviewer: result.reviewer,
      reviewerKeyId,
      comment: result.comment ?? null,
      policyVersion: result.policyVersion ?? null,
      decidedAt: new Date(result.decidedAt),
    });
    if (!created) return;
    const status = STATUS_BY_DECISION[result.decision];
    await setModelVersionStatus(tx, model.id, input.version, status, ['pending_approval']);
    const human = result.decision === 'approve' || result.decision === 'reject';
    await writeAudit(tx, {
      actor: result.reviewer,
      actorKeyId: human ? reviewerKeyId : null,
      role: human ? 'reviewer' : null,
      action: `run.${result.decision}`,
      subject: `run:${input.runId}`,
      before: { status: row.status },
      after: {
        status,
        model: input.model,
        version: input.version,
        comment: result.comment ?? null,
        // The approval policy version that allowed (or refused) an automatic decision.
        ...(result.policyVersion !== undefined ? { policyVersion: result.policyVersion } : {}),
      },
    });
  });
}
