// The monitoring policy ops set per model (stored as sent; monitoring/policy.ts fills in the defaults).
import { eq, sql } from 'drizzle-orm';
import { monitoringPolicies, type MonitoringPolicyRow } from '../schema.js';
import type { DbOrTx } from '../client.js';

export async function getMonitoringPolicy(db: DbOrTx, modelId: string): Promise<MonitoringPolicyRow | undefined> {
  const [row] = await db.select().from(monitoringPolicies).where(eq(monitoringPolicies.modelId, modelId)).limit(1);
  return row;
}

export async function putMonitoringPolicy(
  db: DbOrTx,
  input: { modelId: string; policy: unknown; updatedBy: string },
): Promise<MonitoringPolicyRow> {
  const [row] = await db
    .insert(monitoringPolicies)
    .values({ modelId: input.modelId, policy: input.policy, updatedBy: input.updatedBy })
    .onConflictDoUpdate({
      target: monitoringPolicies.modelId,
      // The transaction's time, as the audit row written beside it carries.
      set: { policy: input.policy, updatedBy: input.updatedBy, updatedAt: sql`now()` },
    })
    .returning();
  return row!;
}
