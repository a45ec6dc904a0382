// Looking up a model's version for the registry's use-cases: a missing one is a spec the pipeline cannot carry out.
import type { DbOrTx } from '../db/client.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import type { ModelRow, ModelVersionRow } from '../db/schema.js';
import { KeelError } from '../errors/keel-error.js';

/** The pipeline as an audit actor: no key, no role. */
export const PIPELINE_ACTOR = { actor: 'pipeline', actorKeyId: null, role: null } as const;

export async function requireVersion(db: DbOrTx, modelName: string, version: number): Promise<{ model: ModelRow; row: ModelVersionRow }> {
  const model = await getModelByName(db, modelName);
  const row = model ? await getModelVersion(db, model.id, version) : undefined;
  if (!model || !row) throw new KeelError('INVALID_SPEC', `model "${modelName}" has no version ${version}`);
  return { model, row };
}
