// Small, hand-built Keel models (exported through the real ONNX exporter) and registry rows for tests.
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import type { Db } from '../../db/client.js';
import { moveAlias, notifyModelChanged, PRODUCTION_ALIAS } from '../../db/repositories/model-aliases.js';
import { registerModelVersion, setModelVersionStatus } from '../../db/repositories/model-versions.js';
import { getOrCreateModel } from '../../db/repositories/models.js';
import type { ModelVersionRow } from '../../db/schema.js';
import type { GbdtModel, Task } from '../../ml/model.js';
import { exportModelToOnnx, featureSchemaOf } from '../../ml/onnx/index.js';
import { insertRunRow } from './run-rows.js';

/**
 * One tree over `x` (numeric) and `color` (categorical red/blue): x <= 0.5 → -1, else color red → +1, other → +0.5,
 * all shifted by `shift`. Binary probabilities are sigmoid of that; regression values are it.
 */
export function stumpModel(task: Task, shift = 0): GbdtModel {
  return {
    kind: 'gbdt',
    task,
    features: [
      { name: 'x', kind: 'numeric' },
      { name: 'color', kind: 'categorical', categories: ['red', 'blue'] },
    ],
    baseScore: shift,
    trees: [
      {
        feature: [0, -1, 1, -1, -1],
        threshold: [0.5, 0, 0, 0, 0],
        categorySets: [null, null, [0], null, null],
        missingLeft: [true, false, false, false, false],
        left: [1, -1, 3, -1, -1],
        right: [2, -1, 4, -1, -1],
        value: [0, -1, 0, 1, 0.5],
        gain: [1, 0, 1, 0, 0],
      },
    ],
  };
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function onnxBytesOf(model: GbdtModel): Uint8Array {
  return exportModelToOnnx(model, { snapshotSha256: 'f'.repeat(64), keelVersion: 'test' });
}

export interface FixtureVersion {
  model: string;
  runId: string;
  task?: Task;
  shift?: number;
  /** Bytes to store instead of the exported model (e.g. garbage, to make loading fail). */
  bytes?: Uint8Array;
  status?: 'pending_approval' | 'approved';
  /** The version's params (e.g. the `split` it was trained with); default none. */
  params?: Record<string, unknown>;
  /** The snapshot it was trained on; default a made-up one. */
  snapshotSha256?: string;
}

/** Stores the artifact and registers a version (status `approved` unless told otherwise). */
export async function registerFixtureVersion(db: Db, artifacts: ArtifactStore, spec: FixtureVersion): Promise<ModelVersionRow> {
  const task = spec.task ?? 'binary';
  const gbdt = stumpModel(task, spec.shift ?? 0);
  const stored = await artifacts.putBytes(spec.bytes ?? onnxBytesOf(gbdt), { extension: '.onnx' });
  const model = await getOrCreateModel(db, { name: spec.model, task, target: 'y', featureSchema: featureSchemaOf(gbdt.features) });
  await insertRunRow(db, spec.runId, spec.model);
  const { version } = await registerModelVersion(db, {
    modelId: model.id,
    runId: spec.runId,
    artifactUri: stored.uri,
    artifactSha256: stored.sha256,
    trainer: 'gbdt',
    metrics: {},
    params: spec.params ?? {},
    featureSchema: featureSchemaOf(gbdt.features),
    snapshotSha256: spec.snapshotSha256 ?? 'f'.repeat(64),
    parentVersion: null,
    evaluationReportId: null,
  });
  const status = spec.status ?? 'approved';
  if (status !== 'pending_approval') await setModelVersionStatus(db, model.id, version.version, status);
  return { ...version, status };
}

/** Points production at the version (history row, NOTIFY on commit), as a deploy does. */
export async function setProduction(db: Db, version: ModelVersionRow, modelName: string): Promise<void> {
  await db.transaction(async (tx) => {
    await moveAlias(tx, {
      modelId: version.modelId,
      alias: PRODUCTION_ALIAS,
      toVersion: version.version,
      action: 'deploy',
      actor: 'test',
      reason: null,
      runId: version.runId,
    });
    await notifyModelChanged(tx, modelName);
  });
}
