// Review decisions: one row per run (human, policy or timeout).
import { eq } from 'drizzle-orm';
import { approvals, type ApprovalDecision, type ApprovalRow } from '../schema.js';
import type { DbOrTx } from '../client.js';
import { writeForRun } from './run-ownership.js';

export interface NewApproval {
  runId: string;
  modelVersionId: string | null;
  decision: ApprovalDecision;
  reviewer: string;
  reviewerKeyId: string | null;
  comment: string | null;
  /** The approval policy version that decided an automatic review. */
  policyVersion?: number | null;
  decidedAt?: Date;
}

/** Records the run's decision; a retry returns the row already there (`created: false`). */
export async function recordApproval(db: DbOrTx, input: NewApproval): Promise<{ approval: ApprovalRow; created: boolean }> {
  const { decidedAt, ...values } = input;
  const inserted = await writeForRun(input.runId, () =>
    db
      .insert(approvals)
      .values({ ...values, ...(decidedAt ? { createdAt: decidedAt } : {}) })
      .onConflictDoNothing({ target: approvals.runId })
      .returning(),
  );
  if (inserted[0]) return { approval: inserted[0], created: true };
  const existing = await getApprovalByRunId(db, input.runId);
  if (!existing) throw new Error(`approval of run ${input.runId} conflicted but cannot be read`);
  return { approval: existing, created: false };
}

export async function getApprovalByRunId(db: DbOrTx, runId: string): Promise<ApprovalRow | undefined> {
  const [row] = await db.select().from(approvals).where(eq(approvals.runId, runId)).limit(1);
  return row;
}
