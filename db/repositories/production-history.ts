// "What was serving then": the alias history row in force at a moment, from Postgres alone.
import { and, desc, eq, lte } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { deployments, type DeploymentRow } from '../schema.js';

/** The last move of `alias` at or before `at` (ties broken by id, so the answer is stable); undefined if none yet. */
export async function aliasMoveInForceAt(db: DbOrTx, modelId: string, alias: string, at: Date): Promise<DeploymentRow | undefined> {
  const [row] = await db
    .select()
    .from(deployments)
    .where(and(eq(deployments.modelId, modelId), eq(deployments.alias, alias), lte(deployments.createdAt, at)))
    .orderBy(desc(deployments.createdAt), desc(deployments.id))
    .limit(1);
  return row;
}
