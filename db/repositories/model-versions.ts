// Model versions, numbered 1, 2, … per model. Registration is idempotent per run id.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { modelVersions, type ModelVersionRow, type ModelVersionStatus } from '../schema.js';
import type { DbOrTx } from '../client.js';
import { writeForRun } from './run-ownership.js';

export { MODEL_VERSION_STATUSES, type ModelVersionStatus } from '../schema.js';

/** Statuses from which a version may (again) become production: a human or policy approved it once. */
export const DEPLOYABLE_STATUSES: readonly ModelVersionStatus[] = ['approved', 'deployed', 'retired'];

export interface NewModelVersion {
  modelId: string;
  runId: string;
  artifactUri: string;
  artifactSha256: string;
  trainer: string;
  metrics: Record<string, unknown>;
  params: Record<string, unknown>;
  featureSchema: unknown;
  snapshotSha256: string;
  parentVersion: number | null;
  evaluationReportId: string | null;
  /** serving/serving-recipe.ts ServingRecipe; absent for versions whose evaluation built none. */
  servingRecipe?: unknown;
}

/**
 * Creates the next version of the model, or returns the version this run already registered.
 * The model row is locked for the transaction, so concurrent registrations get distinct numbers.
 */
export async function registerModelVersion(
  db: Db,
  input: NewModelVersion,
  /** Runs in the same transaction right after a new version is inserted (e.g. its audit row). */
  afterCreate?: (tx: DbOrTx, version: ModelVersionRow) => Promise<void>,
): Promise<{ version: ModelVersionRow; created: boolean }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT id FROM models WHERE id = ${input.modelId} FOR UPDATE`);
    // Checked under the lock: a concurrent retry of the same run waits here and then finds the row.
    const existing = await getModelVersionByRunId(tx, input.runId);
    if (existing) return { version: existing, created: false };
    const [{ next }] = await tx
      .select({ next: sql<number>`coalesce(max(${modelVersions.version}), 0) + 1` })
      .from(modelVersions)
      .where(eq(modelVersions.modelId, input.modelId));
    const [row] = await writeForRun(input.runId, () =>
      tx.insert(modelVersions).values({ ...input, version: Number(next), status: 'pending_approval' }).returning(),
    );
    await afterCreate?.(tx, row!);
    return { version: row!, created: true };
  });
}

export async function getModelVersionByRunId(db: DbOrTx, runId: string): Promise<ModelVersionRow | undefined> {
  const [row] = await db.select().from(modelVersions).where(eq(modelVersions.runId, runId)).limit(1);
  return row;
}

export async function getModelVersion(db: DbOrTx, modelId: string, version: number): Promise<ModelVersionRow | undefined> {
  const [row] = await db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)))
    .limit(1);
  return row;
}

export async function listModelVersions(db: DbOrTx, modelId: string): Promise<ModelVersionRow[]> {
  return db.select().from(modelVersions).where(eq(modelVersions.modelId, modelId)).orderBy(asc(modelVersions.version));
}

export async function setModelVersionStatus(
  db: DbOrTx,
  modelId: string,
  version: number,
  status: ModelVersionStatus,
  onlyFrom?: readonly ModelVersionStatus[],
): Promise<boolean> {
  const conditions = [eq(modelVersions.modelId, modelId), eq(modelVersions.version, version)];
  if (onlyFrom) conditions.push(inArray(modelVersions.status, [...onlyFrom]));
  const updated = await db
    .update(modelVersions)
    .set({ status })
    .where(and(...conditions))
    .returning({ id: modelVersions.id });
  return updated.length > 0;
}
