// The metadata Keel stores in an exported ONNX model (ModelProto.metadata_props), and a reader for it.
import type { Task } from '../model.js';
import { decodeModelProto } from './onnx-proto.js';

export const METADATA_KEYS = {
  features: 'keel.features',
  task: 'keel.task',
  modelKind: 'keel.model_kind',
  snapshotSha256: 'keel.snapshot_sha256',
  version: 'keel.version',
  /** Multiclass only: the class labels as a JSON array, in the order of the `probabilities` output's columns. */
  classes: 'keel.classes',
  /** External models only: the trainer that wrote the model (e.g. `lightgbm`). */
  trainer: 'keel.trainer',
} as const;

/** One raw feature as the ONNX graph expects it; `input` is the graph input's name. */
export type OnnxFeatureSchema =
  | { name: string; kind: 'numeric'; input: string }
  | { name: string; kind: 'categorical'; categories: string[]; input: string };

export interface OnnxModelMetadata {
  features: OnnxFeatureSchema[];
  task: Task;
  /** Multiclass only: the class labels, in the order of the `probabilities` columns. */
  classes?: string[];
  /** `external`: exported by a trainer outside Keel (docs/training-contract.md), named by `keel.trainer`. */
  modelKind: 'gbdt' | 'linear' | 'external';
  snapshotSha256: string;
  keelVersion: string;
  /** Every metadata property, including the keel.* ones above and the exporter's extras. */
  properties: Record<string, string>;
}

function required(properties: Record<string, string>, key: string): string {
  const value = properties[key];
  if (value === undefined) throw new Error(`ONNX model has no "${key}" metadata; was it exported by Keel?`);
  return value;
}

export function readOnnxMetadata(bytes: Uint8Array): OnnxModelMetadata {
  const decoded = decodeModelProto(bytes) as { metadataProps?: { key?: string; value?: string }[] };
  const properties: Record<string, string> = {};
  for (const entry of decoded.metadataProps ?? []) {
    if (entry.key !== undefined) properties[entry.key] = entry.value ?? '';
  }
  const task = required(properties, METADATA_KEYS.task);
  if (task !== 'binary' && task !== 'regression' && task !== 'multiclass') throw new Error(`unknown keel.task "${task}"`);
  const classes = task === 'multiclass' ? (JSON.parse(required(properties, METADATA_KEYS.classes)) as string[]) : undefined;
  const modelKind = required(properties, METADATA_KEYS.modelKind);
  if (modelKind !== 'gbdt' && modelKind !== 'linear' && modelKind !== 'external') throw new Error(`unknown keel.model_kind "${modelKind}"`);
  return {
    features: JSON.parse(required(properties, METADATA_KEYS.features)) as OnnxFeatureSchema[],
    task,
    ...(classes === undefined ? {} : { classes }),
    modelKind,
    snapshotSha256: required(properties, METADATA_KEYS.snapshotSha256),
    keelVersion: required(properties, METADATA_KEYS.version),
    properties,
  };
}
