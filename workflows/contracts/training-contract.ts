// The training contract: what the pipeline sends an external trainer's `trainModel` activity and what it must
// answer. docs/training-contract.md is the prose; this module is its types (and the schema Keel checks answers by).
// Types only plus pure TypeBox schemas: the workflow imports the types, the pipeline worker validates with the schema.
import { Type, type Static } from '@sinclair/typebox';
import type { ModelSplit, ResolvedSplit } from './split.js';
import type { Task } from './run-spec.js';

/** Bumped when a field changes meaning; a trainer refuses a version it does not know. */
export const TRAINING_CONTRACT_VERSION = 1;

/** The activity type an external trainer registers; the same name as Keel's own, on the trainer's task queue. */
export const EXTERNAL_TRAIN_ACTIVITY = 'trainModel';

/** A content-addressed file in the artifact store: `<root>/sha256/<sha256[0:2]>/<sha256><extension>`. */
export interface ArtifactReference {
  sha256: string;
  /** Where it lives (`file:///…` for the filesystem store); a trainer on another machine maps it to its own mount. */
  uri: string;
}

/** One feature as Keel reads it: booleans → 0/1, dates and timestamps → epoch seconds, numbers → double, text → string. */
export interface ContractFeature {
  name: string;
  kind: 'numeric' | 'categorical';
  /** The snapshot's DuckDB type, e.g. `DOUBLE`, `BIGINT`, `BOOLEAN`, `DATE`, `VARCHAR`. */
  sourceType: string;
}

/** `prepareExternalTraining` (pipeline queue): the run's rows assigned and its labels encoded, for the trainer. */
export interface PrepareExternalTrainingInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  features?: string[];
  seed: number;
  split?: ModelSplit;
}

export interface ExternalTrainingRows {
  /**
   * Parquet, one row per snapshot row in the snapshot's order: `part` (UTINYINT: 0 train, 1 valid, 2 holdout) and
   * `label` (DOUBLE: binary 0/1, multiclass the class index into `labelClasses`, regression the value).
   */
  rows: ArtifactReference;
  rowCount: number;
  trainRows: number;
  validRows: number;
  holdoutRows: number;
  features: ContractFeature[];
  /** Binary text targets: [negative, positive]; multiclass: every class, label k = labelClasses[k]; else null. */
  labelClasses: string[] | null;
  /** The split fully resolved; stored with the version so later runs know which rows it trained on. */
  split: ResolvedSplit;
  /** Features entirely missing or constant: still model inputs (the trainer must accept them), never informative. */
  ignoredFeatures: { name: string; reason: string }[];
}

/** What the external `trainModel` activity receives. */
export interface ExternalTrainModelInput {
  contractVersion: number;
  runId: string;
  model: string;
  task: Task;
  target: string;
  /** The trainer to run on the worker (`lightgbm`, `xgboost`, …) and its parameters, as the run spec gave them. */
  trainer: { name: string; params: Record<string, number | string | boolean> };
  seed: number;
  /** The immutable Parquet snapshot (every column as ingested). */
  snapshot: ArtifactReference & { rowCount: number };
  features: ContractFeature[];
  labelClasses: string[] | null;
  /** Which rows to train on, stop early with, and predict for the parity check; and the encoded labels. */
  rows: ArtifactReference;
}

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Artifact = Type.Object({ sha256: Sha256, uri: Type.Optional(Type.String({ maxLength: 4096 })) });

/**
 * What the external `trainModel` activity answers. Checked against this schema before anything else reads it: a
 * trainer is another program, so its answer is input, not trusted state.
 */
export const ExternalTrainModelResultSchema = Type.Object({
  contractVersion: Type.Literal(TRAINING_CONTRACT_VERSION),
  /** ONNX with Keel's inputs, outputs and `keel.*` metadata (docs/training-contract.md), preprocessing inside. */
  onnx: Artifact,
  /** JSON: `{ "kind": "external", "trainer": name, "framework": {…}, "model": <the trainer's own model> }`. */
  modelJson: Artifact,
  /** Parquet: `row` (BIGINT, snapshot row index) and `prediction` (DOUBLE; multiclass: LIST(DOUBLE) in class order). */
  holdoutPredictions: Artifact,
  /** The parameters the trainer actually used (its defaults filled in). */
  params: Type.Record(Type.String(), Type.Unknown()),
  /** Numbers the trainer measured on its train/valid parts (e.g. `validLogloss`); evaluation computes its own. */
  metrics: Type.Record(Type.String(), Type.Number()),
  /** Iterations (trees) kept; 0 for models without iterations. */
  bestIteration: Type.Integer({ minimum: 0 }),
  /** Feature name → importance (gain share or |coefficient|), any scale. */
  importance: Type.Record(Type.String(), Type.Number()),
  trainRows: Type.Integer({ minimum: 0 }),
  validRows: Type.Integer({ minimum: 0 }),
  holdoutRows: Type.Integer({ minimum: 0 }),
  /** e.g. `{ name: 'lightgbm', version: '4.6.0' }`: stored with the version's params. */
  framework: Type.Object({ name: Type.String({ maxLength: 200 }), version: Type.String({ maxLength: 200 }) }),
});
export type ExternalTrainModelResult = Static<typeof ExternalTrainModelResultSchema>;

/** `verifyExternalModel` (pipeline queue): the answer checked before evaluation touches it. */
export interface VerifyExternalModelInput {
  runId: string;
  model: string;
  task: Task;
  snapshotSha256: string;
  trainerName: string;
  taskQueue: string;
  prepared: ExternalTrainingRows;
  /** The trainer's answer, unchecked. */
  answer: unknown;
}
