// Called by the register step: the new version's drift reference, computed once and stored with the version.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { hasMonitoringReference, saveMonitoringReference } from '../db/repositories/monitoring-references.js';
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';
import { buildMonitoringReference, parseTrainerModel } from './reference.js';

export interface ReferenceLogger {
  warn(fields: object, message: string): void;
}

export interface RecordReferenceInput {
  modelVersionId: string;
  modelId: string;
  version: number;
  snapshotSha256: string;
  featureSchema: unknown;
  modelJsonSha256: string;
}

/**
 * Best effort: a version whose reference cannot be built (its snapshot or model JSON is gone) is still
 * registered, and its monitoring reports say "no reference" instead of guessing. Returns whether one is stored.
 */
export async function recordMonitoringReference(deps: { db: Db; artifacts: ArtifactStore; logger?: ReferenceLogger }, input: RecordReferenceInput): Promise<boolean> {
  if (await hasMonitoringReference(deps.db, input.modelVersionId)) return true;
  try {
    const reference = await buildMonitoringReference({
      snapshotPath: await deps.artifacts.localPath(input.snapshotSha256),
      snapshotSha256: input.snapshotSha256,
      featureSchema: input.featureSchema as OnnxFeatureSchema[],
      model: parseTrainerModel(await deps.artifacts.read(input.modelJsonSha256)),
    });
    await saveMonitoringReference(deps.db, {
      modelVersionId: input.modelVersionId,
      modelId: input.modelId,
      version: input.version,
      reference,
    });
    return true;
  } catch (error) {
    deps.logger?.warn({ version: input.version, err: error }, 'no drift reference for this version; its reports will say "no reference"');
    return false;
  }
}
