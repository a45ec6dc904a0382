// What serving needs to load a model version: the model's id and task and the version's artifact hash.
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { modelAliases, models, modelVersions, type Task } from '../schema.js';

export interface AliasedArtifact {
  modelId: string;
  task: Task;
  /** Null when the model exists but the alias is unset. */
  version: number | null;
  sha256: string | null;
  servingRecipe: unknown;
}

/** The model and the artifact its alias points at; undefined when the model does not exist. */
export async function getAliasedArtifact(db: DbOrTx, modelName: string, alias: string): Promise<AliasedArtifact | undefined> {
  const [row] = await db
    .select({ modelId: models.id, task: models.task, version: modelAliases.version, sha256: modelVersions.artifactSha256, servingRecipe: modelVersions.servingRecipe })
    .from(models)
    .leftJoin(modelAliases, and(eq(modelAliases.modelId, models.id), eq(modelAliases.alias, alias)))
    .leftJoin(modelVersions, and(eq(modelVersions.modelId, models.id), eq(modelVersions.version, modelAliases.version)))
    .where(eq(models.name, modelName))
    .limit(1);
  return row;
}

export interface VersionArtifact {
  modelId: string;
  task: Task;
  sha256: string;
  servingRecipe: unknown;
}

export async function getVersionArtifact(db: DbOrTx, modelName: string, version: number): Promise<VersionArtifact | undefined> {
  const [row] = await db
    .select({ modelId: models.id, task: models.task, sha256: modelVersions.artifactSha256, servingRecipe: modelVersions.servingRecipe })
    .from(models)
    .innerJoin(modelVersions, eq(modelVersions.modelId, models.id))
    .where(and(eq(models.name, modelName), eq(modelVersions.version, version)))
    .limit(1);
  return row;
}
