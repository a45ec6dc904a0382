// Drift references, one per model version, written once at registration.
import { and, eq } from 'drizzle-orm';
import { monitoringReferences, type MonitoringReferenceRow } from '../schema.js';
import type { DbOrTx } from '../client.js';

/** Idempotent: a retried registration keeps the reference already stored. */
export async function saveMonitoringReference(
  db: DbOrTx,
  input: { modelVersionId: string; modelId: string; version: number; reference: unknown },
): Promise<void> {
  await db.insert(monitoringReferences).values(input).onConflictDoNothing({ target: monitoringReferences.modelVersionId });
}

export async function getMonitoringReference(db: DbOrTx, modelId: string, version: number): Promise<MonitoringReferenceRow | undefined> {
  const [row] = await db
    .select()
    .from(monitoringReferences)
    .where(and(eq(monitoringReferences.modelId, modelId), eq(monitoringReferences.version, version)))
    .limit(1);
  return row;
}

export async function hasMonitoringReference(db: DbOrTx, modelVersionId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: monitoringReferences.modelVersionId })
    .from(monitoringReferences)
    .where(eq(monitoringReferences.modelVersionId, modelVersionId))
    .limit(1);
  return row !== undefined;
}
