// Registers a trained, evaluated candidate as the model's next version (pending approval), with its lineage.
import { writeAudit } from '../db/repositories/audit.js';
import type { Db } from '../db/client.js';
import { registerModelVersion as insertModelVersion } from '../db/repositories/model-versions.js';
import { getOrCreateModel, updateModelFeatureSchema } from '../db/repositories/models.js';
import { RegistryError } from '../db/repositories/registry-errors.js';
import type { ModelRow, ModelVersionRow } from '../db/schema.js';
import { KeelError } from '../errors/keel-error.js';
import type { RegisterModelVersionInput, RegisterModelVersionResult } from '../workflows/contracts/pipeline-activities.js';
import { PIPELINE_ACTOR } from './versions.js';

/** Runs after the version row exists (also on a retry): the register step stores the version's drift reference here. */
export type AfterRegister = (registered: { model: ModelRow; version: ModelVersionRow }, input: RegisterModelVersionInput) => Promise<unknown>;

/** Idempotent per run: a retry returns the version the run already registered. */
export async function registerVersion(db: Db, input: RegisterModelVersionInput, afterRegister?: AfterRegister): Promise<RegisterModelVersionResult> {
  const model = await modelFor(db, input);
  const { version } = await insertModelVersion(
    db,
    {
      modelId: model.id,
      runId: input.runId,
      artifactUri: input.training.artifactUri,
      artifactSha256: input.training.artifactSha256,
      trainer: input.training.trainer,
      metrics: input.evaluation.candidateMetrics,
      params: {
        ...input.training.params,
        bestIteration: input.training.bestIteration,
        ...iterationCountsOf(input.training.metrics),
        trainRows: input.training.trainRows,
        validRows: input.training.validRows,
        holdoutRows: input.training.holdoutRows,
        modelJsonSha256: input.training.modelJsonSha256,
      },
      featureSchema: input.training.featureSchema,
      snapshotSha256: input.snapshotSha256,
      parentVersion: input.evaluation.champion?.version ?? null,
      evaluationReportId: input.evaluation.reportId || null,
      servingRecipe: input.evaluation.servingRecipe ?? null,
    },
    async (tx, created) => {
      await updateModelFeatureSchema(tx, model.id, input.training.featureSchema);
      await writeAudit(tx, {
        ...PIPELINE_ACTOR,
        action: 'model_version.register',
        subject: `model:${input.model}`,
        after: { version: created.version, runId: input.runId, artifactSha256: created.artifactSha256 },
      });
    },
  );
  await afterRegister?.({ model, version }, input);
  return { modelVersionId: version.id, version: version.version };
}

/** The model row, created on its first version; a run whose task differs from the model's is a spec error. */
async function modelFor(db: Db, input: RegisterModelVersionInput): Promise<ModelRow> {
  try {
    return await getOrCreateModel(db, {
      name: input.model,
      task: input.task,
      target: input.target,
      featureSchema: input.training.featureSchema,
      // A new model keeps the salt its first version was split with, so later runs split the same way.
      ...splitSaltOf(input.training.params),
    });
  } catch (error) {
    if (error instanceof RegistryError) throw new KeelError('INVALID_SPEC', error.message, error.details, { cause: error });
    throw error;
  }
}

/** Trees asked for and kept (fewer only under early stopping), for reviewers: the trainer reports them as metrics. */
function iterationCountsOf(metrics: Record<string, number>): { requestedIterations?: number; keptIterations?: number } {
  const { requestedIterations, keptIterations } = metrics;
  return {
    ...(requestedIterations === undefined ? {} : { requestedIterations }),
    ...(keptIterations === undefined ? {} : { keptIterations }),
  };
}

function splitSaltOf(params: Record<string, unknown>): { splitSalt?: string } {
  const salt = (params.split as { salt?: unknown } | undefined)?.salt;
  return typeof salt === 'string' ? { splitSalt: salt } : {};
}
