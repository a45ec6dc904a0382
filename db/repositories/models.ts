// Registered models: one row per model name, created on its first registered version.
import { and, asc, count, eq, max } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { modelAliases, models, modelVersions, type ModelRow, type Task } from '../schema.js';
import { RegistryError } from './registry-errors.js';

export interface NewModel {
  name: string;
  task: Task;
  target: string;
  featureSchema: unknown;
}

export async function getModelByName(db: DbOrTx, name: string): Promise<ModelRow | undefined> {
  const [row] = await db.select().from(models).where(eq(models.name, name)).limit(1);
  return row;
}

export async function listModels(db: DbOrTx): Promise<ModelRow[]> {
  return db.select().from(models).orderBy(asc(models.name));
}

export interface ModelOverview {
  model: ModelRow;
  /** Version the alias points at, null when unset. */
  aliasVersion: number | null;
  latestVersion: number | null;
  versionCount: number;
}

/** Every model with one alias and its version statistics, in one query (by name). */
export async function listModelOverviews(db: DbOrTx, alias: string): Promise<ModelOverview[]> {
  const versionStats = db
    .select({ modelId: modelVersions.modelId, latest: max(modelVersions.version).as('latest'), total: count().as('total') })
    .from(modelVersions)
    .groupBy(modelVersions.modelId)
    .as('version_stats');
  const rows = await db
    .select({ model: models, aliasVersion: modelAliases.version, latest: versionStats.latest, total: versionStats.total })
    .from(models)
    .leftJoin(modelAliases, and(eq(modelAliases.modelId, models.id), eq(modelAliases.alias, alias)))
    .leftJoin(versionStats, eq(versionStats.modelId, models.id))
    .orderBy(asc(models.name));
  return rows.map((row) => ({
    model: row.model,
    aliasVersion: row.aliasVersion,
    latestVersion: row.latest,
    versionCount: Number(row.total ?? 0),
  }));
}

/**
 * The model named `input.name`, created with the given task, target and feature schema if it is new.
 * A model's task never changes: registering a regression run into a binary model is refused.
 */
export async function getOrCreateModel(db: DbOrTx, input: NewModel): Promise<ModelRow> {
  await db
    .insert(models)
    .values({ name: input.name, task: input.task, target: input.target, featureSchema: input.featureSchema })
    .onConflictDoNothing({ target: models.name });
  const row = await getModelByName(db, input.name);
  if (!row) throw new Error(`model "${input.name}" vanished right after being created`);
  if (row.task !== input.task) {
    throw new RegistryError(
      'MODEL_TASK_MISMATCH',
      `model "${input.name}" is a ${row.task} model; a ${input.task} run cannot register a version of it`,
      { model: input.name, modelTask: row.task, runTask: input.task },
    );
  }
  return row;
}

/** Keeps the model's current feature schema (the latest version's) for listing and input help. */
export async function updateModelFeatureSchema(db: DbOrTx, modelId: string, featureSchema: unknown): Promise<void> {
  await db.update(models).set({ featureSchema }).where(eq(models.id, modelId));
}
