// Model approval policies: one row per model, its version raised by every change (ops only, audited by the caller).
import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { modelApprovalPolicies, type ModelApprovalPolicyRow } from '../schema.js';

export interface ApprovalPolicyValues {
  autoApprove: boolean;
  allowFirstDeployment: boolean;
  gates: Record<string, Record<string, number>>;
  updatedBy: string;
}

export async function getApprovalPolicy(db: DbOrTx, model: string): Promise<ModelApprovalPolicyRow | undefined> {
  const [row] = await db.select().from(modelApprovalPolicies).where(eq(modelApprovalPolicies.model, model)).limit(1);
  return row;
}

/** Locks the model's policy row (if any) for a change in this transaction. */
export async function lockApprovalPolicy(tx: DbOrTx, model: string): Promise<ModelApprovalPolicyRow | undefined> {
  const [row] = await tx.select().from(modelApprovalPolicies).where(eq(modelApprovalPolicies.model, model)).for('update');
  return row;
}

/** Creates the policy at version 1 or replaces it at the next version, in one statement (concurrent PUTs serialise). */
export async function putApprovalPolicy(db: DbOrTx, model: string, values: ApprovalPolicyValues): Promise<ModelApprovalPolicyRow> {
  const [row] = await db
    .insert(modelApprovalPolicies)
    .values({ model, version: 1, ...values })
    .onConflictDoUpdate({
      target: modelApprovalPolicies.model,
      set: { ...values, version: sql`${modelApprovalPolicies.version} + 1`, updatedAt: sql`now()` },
    })
    .returning();
  return row!;
}
