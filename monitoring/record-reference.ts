// Called by the register step: the new version's drift reference, computed once and stored with the version.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { hasMonitoringReference, saveMonitoringReference } from '../db/repositories/monitoring-references.js';
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';
import { createOnnxScorer, type OnnxScores } from '../ml/onnx/index.js';
import { buildMonitoringReference, isExternalModelJson, parseTrainerModel, type OnnxReferenceScorer } from './reference.js';

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
  /** The version's ONNX model: scores the reference rows when the model JSON is an external trainer's. */
  artifactSha256?: string;
}

/**
 * Best effort: a version whose reference cannot be built (its snapshot or model JSON is gone) is still
 * registered, and its monitoring reports say "no reference" instead of guessing. Returns whether one is stored.
 */
export async function recordMonitoringReference(deps: { db: Db; artifacts: ArtifactStore; logger?: ReferenceLogger }, input: RecordReferenceInput): Promise<boolean> {
  if (await hasMonitoringReference(deps.db, input.modelVersionId)) return true;
  let onnx: Awaited<ReturnType<typeof createOnnxScorer>> | undefined;
  try {
    const modelJson = await deps.artifacts.read(input.modelJsonSha256);
    let model: OnnxReferenceScorer | ReturnType<typeof parseTrainerModel>;
    if (isExternalModelJson(modelJson) && input.artifactSha256 !== undefined) {
      const scorer = (onnx = await createOnnxScorer(await deps.artifacts.read(input.artifactSha256), { intraOpNumThreads: 1 }));
      model = { kind: 'onnx', classCount: scorer.classes?.length ?? null, score: async (data) => onnxScores(scorer.task, await scorer.score(data)) };
    } else {
      model = parseTrainerModel(modelJson);
    }
    const reference = await buildMonitoringReference({
      snapshotPath: await deps.artifacts.localPath(input.snapshotSha256),
      snapshotSha256: input.snapshotSha256,
      featureSchema: input.featureSchema as OnnxFeatureSchema[],
      model,
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
  } finally {
    await onnx?.close();
  }
}

function onnxScores(task: string, scores: OnnxScores): Float64Array {
  return (task === 'binary' ? scores.probability : task === 'multiclass' ? scores.probabilities : scores.value)!;
}
