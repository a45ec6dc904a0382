// The drift reference of a version, built at registration from the training snapshot: every feature as the
// model reads it, and the scores the trained model gives those rows (the reference for prediction drift).
import { readSnapshotColumns } from '../data/read-snapshot-columns.js';
import { buildFeatureReference, buildNumericReference, type FeatureReference, type NumericReference } from '../ml/drift/index.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import { predictLinear } from '../ml/linear/index.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import { modelClasses, type Model } from '../ml/model.js';
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';

export interface MonitoringReference {
  snapshotSha256: string;
  rows: number;
  /** In the model's feature order. */
  features: { name: string; reference: FeatureReference }[];
  /**
   * The trained model's scores on the snapshot rows: probabilities (binary), the top class's probability
   * (multiclass: the same number serving logs as a prediction's score), or values (regression).
   */
  score: NumericReference;
}

export interface BuildReferenceInput {
  snapshotPath: string;
  snapshotSha256: string;
  featureSchema: readonly OnnxFeatureSchema[];
  /**
   * The trainer's own model (JSON artifact), which scores the rows without onnxruntime; or, for an external
   * trainer's model, which Keel cannot score itself, the version's ONNX graph as a scoring function.
   */
  model: Model | OnnxReferenceScorer;
}

/** Scores snapshot rows with a version's ONNX graph: probabilities (binary), rows × K (multiclass), values. */
export interface OnnxReferenceScorer {
  kind: 'onnx';
  classCount: number | null;
  score(data: ColumnarDataset): Promise<Float64Array>;
}

export async function buildMonitoringReference(input: BuildReferenceInput): Promise<MonitoringReference> {
  const data = await readSnapshotColumns(input.snapshotPath, {
    features: input.featureSchema.map((feature) => feature.name),
    categorical: input.featureSchema.filter((feature) => feature.kind === 'categorical').map((feature) => feature.name),
    duckdb: { threads: 1 },
  });
  const features = input.featureSchema.map((feature) => ({
    name: feature.name,
    reference: buildFeatureReference(data.columns[feature.name]!),
  }));
  const { model } = input;
  const predictions =
    model.kind === 'onnx' ? await model.score(data) : model.kind === 'gbdt' ? predictGbdt(model, data) : predictLinear(model, data);
  const classCount = model.kind === 'onnx' ? model.classCount : (modelClasses(model)?.length ?? null);
  const scores = classCount === null ? predictions : topClassProbabilities(predictions, classCount);
  return { snapshotSha256: input.snapshotSha256, rows: data.rowCount, features, score: buildNumericReference(scores) };
}

/**
 * Each row's largest class probability. Prediction drift of a multiclass model watches this one distribution (a model
 * growing unsure, or over-sure, on live rows), as serving logs it per prediction; a shift in the predicted class mix at
 * equal confidence shows in the features' drift instead.
 */
export function topClassProbabilities(probabilities: Float64Array, classCount: number): Float64Array {
  const rows = probabilities.length / classCount;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 0; k < classCount; k++) best = Math.max(best, probabilities[r * classCount + k]);
    out[r] = best;
  }
  return out;
}

/** Whether the model JSON artifact is an external trainer's (docs/training-contract.md), which only its ONNX scores. */
export function isExternalModelJson(bytes: Buffer): boolean {
  const parsed = JSON.parse(bytes.toString('utf8')) as { kind?: unknown };
  return parsed.kind === 'external';
}

/** The model JSON artifact, as the trainer wrote it (bare, or wrapped in `{ model }`). */
export function parseTrainerModel(bytes: Buffer): Model {
  const parsed = JSON.parse(bytes.toString('utf8')) as Model | { model?: Model };
  const model = 'kind' in parsed ? parsed : parsed.model;
  if (!model || (model.kind !== 'gbdt' && model.kind !== 'linear')) throw new Error('the model JSON artifact is not a Keel gbdt or linear model');
  return model;
}
