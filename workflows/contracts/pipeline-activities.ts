// The activities the pipeline workflow calls, by name, with their inputs and results; each activity module
// implements its part. Types only: the workflow proxies these, the workers register the implementations.
import type { PipelineStage, RunStatus } from '../run-status.js';
import type { Actor } from './actor.js';
import type { ReviewResult } from './review.js';
import type { BuiltInTrainerSpec, DatasetSource, Expectations, Gates, RunSpec, Task } from './run-spec.js';
import type { ServingRecipe, ServingSource } from './serving-recipe.js';
import type { ChampionComparison, ModelSplit, SplitSpec } from './split.js';
import type { ExternalTrainingRows, PrepareExternalTrainingInput, VerifyExternalModelInput } from './training-contract.js';

export interface SnapshotDatasetInput {
  runId: string;
  source: DatasetSource;
  sources?: Record<string, DatasetSource>;
  transform?: string;
  requestedBy: Actor;
}
export interface SnapshotDatasetResult {
  snapshotId: string;
  sha256: string;
  uri: string;
  rowCount: number;
  columns: { name: string; type: string }[];
  /** Source schema before the transform and a source-row sample (absent in histories from before recipes). */
  servingSource?: ServingSource;
}

export interface ValidateDatasetInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  /** The spec's feature columns; absent = every column but the target. */
  features?: string[];
  expectations?: Expectations;
  /** The run spec's split (absent: the default hash split). */
  split?: SplitSpec;
}
/** A failing validation throws ApplicationFailure DATA_REJECTED with details [{ reportId, summary }]. */
export interface ValidateDatasetResult {
  reportId: string;
  passed: boolean;
  summary: string;
  referenceSha256: string | null;
  /** The run's split with the model's salt (absent in histories from before stable splits). */
  split?: ModelSplit;
}

export interface TrainModelInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  features?: string[];
  trainer: BuiltInTrainerSpec;
  seed: number;
  /** How rows are assigned to parts; absent (runs from before stable splits): `hash(seed, row index)`. */
  split?: ModelSplit;
}
export interface TrainModelResult {
  /** `external`: trained by a worker outside Keel (docs/training-contract.md), checked by verifyExternalModel. */
  trainer: 'gbdt' | 'linear' | 'external';
  /** ONNX file (with preprocessing) in the artifact store. */
  artifactSha256: string;
  artifactUri: string;
  /** The trainer's own model (JSON) in the artifact store, for the parity check. */
  modelJsonSha256: string;
  /** External trainers: their own predictions on the holdout rows (Parquet), the parity check's reference. */
  holdoutPredictionsSha256?: string;
  featureSchema: unknown;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  bestIteration: number;
  importance: Record<string, number>;
  trainRows: number;
  validRows: number;
  holdoutRows: number;
  resumedFromIteration: number | null;
  /** Features the trainer could not use (entirely missing or constant): still model inputs, never split on. */
  ignoredFeatures?: { name: string; reason: string }[];
  /** Milliseconds of the train stage's parts in this attempt (absent in histories from before they were measured). */
  stageTimings?: TrainStageTimings;
}
export interface TrainStageTimings {
  /** Reading the snapshot's columns (and checking the label and features). */
  loadMs: number;
  /** What the split added after the load (the two run side by side), with the copy of each part's rows. */
  splitMs: number;
  trainMs: number;
  /** Train and validation metrics (AUC needs every row's prediction). */
  metricsMs: number;
  exportMs: number;
  storeMs: number;
}

export interface EvaluateModelInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  features?: string[];
  seed: number;
  /** The same split training used; absent: `hash(seed, row index)`. */
  split?: ModelSplit;
  /** `holdoutPredictionsSha256` (external trainers): the parity reference instead of re-scoring the model JSON. */
  candidate: { artifactSha256: string; modelJsonSha256: string; holdoutPredictionsSha256?: string };
  gates?: Gates;
  /** From the snapshot: lets evaluation build the serving recipe and score holdout rows through it. */
  servingSource?: ServingSource;
}
export interface EvaluateModelResult {
  reportId: string;
  candidateMetrics: Record<string, number>;
  champion: { version: number; metrics: Record<string, number> } | null;
  deltas: Record<string, number>;
  parity: { passed: boolean; maxAbsDiff: number; rows: number };
  gatesPassed: boolean;
  failedGates: string[];
  /**
   * Challenger no worse than the champion on the primary metric (true when there is no champion); null when
   * the two are not comparable (the champion trained on holdout rows; see `comparison`).
   */
  challengerNoWorse: boolean | null;
  /** Whether the champion's metrics are fair (absent in results from before stable splits). */
  comparison?: ChampionComparison;
  /** The serving recipe evaluation proved (serving parity); registration stores it with the version. */
  servingRecipe?: ServingRecipe;
}

export interface RegisterModelVersionInput {
  runId: string;
  model: string;
  task: Task;
  target: string;
  snapshotSha256: string;
  training: TrainModelResult;
  evaluation: EvaluateModelResult;
}
export interface RegisterModelVersionResult {
  modelVersionId: string;
  version: number;
}

export interface RecordReviewDecisionInput {
  runId: string;
  model: string;
  version: number;
  result: ReviewResult;
  reviewerKeyId: string | null;
}

/** What the model's approval policy needs of the evaluation to decide without a person. */
export interface DecideAutoApprovalInput {
  runId: string;
  model: string;
  evaluation: Pick<EvaluateModelResult, 'candidateMetrics' | 'champion' | 'failedGates' | 'challengerNoWorse'> & {
    comparison?: Pick<ChampionComparison, 'status' | 'reason'>;
  };
}
/** `review`: a person decides (no policy, auto-approval off, or refused); otherwise the policy decided. */
export interface DecideAutoApprovalResult {
  decision: 'auto_approve' | 'auto_reject' | 'review';
  /** The policy version that decided (or was consulted); null when the model has no approval policy. */
  policyVersion: number | null;
  comment: string;
}

/** The version a cancelled run registered, withdrawn from review (no-op when it was reviewed or never registered). */
export interface WithdrawPendingVersionInput {
  runId: string;
  model: string;
  reason: string;
}

export interface DeployModelVersionInput {
  runId: string;
  model: string;
  version: number;
  actor: string;
  reason: string;
}
/**
 * The candidate is smoke-tested before production moves; a failed smoke prediction moves nothing and throws
 * ApplicationFailure SMOKE_TEST_FAILED. Production that moved since the evaluation's champion throws PRODUCTION_MOVED.
 */
export interface DeployModelVersionResult {
  previousVersion: number | null;
  smoke: { prediction: unknown; latencyMs: number };
}

export interface RecordRunProgressInput {
  runId: string;
  stage: PipelineStage;
  status: RunStatus;
  reason?: string;
  snapshotSha256?: string;
  modelVersion?: number;
}

export interface NotifyMonitorInput {
  model: string;
  version: number;
  runId: string;
}

export interface RegisterScheduledRunInput {
  runId: string;
  workflowId: string;
  spec: RunSpec;
  scheduleId: string;
  requestedBy: Actor;
}

/** Every activity the pipeline workflow calls, by name; implemented across the activity modules. */
export interface PipelineActivities {
  snapshotDataset(input: SnapshotDatasetInput): Promise<SnapshotDatasetResult>;
  validateDataset(input: ValidateDatasetInput): Promise<ValidateDatasetResult>;
  trainModel(input: TrainModelInput): Promise<TrainModelResult>;
  /** External trainers only: the run's split and labels written for the trainer (docs/training-contract.md). */
  prepareExternalTraining(input: PrepareExternalTrainingInput): Promise<ExternalTrainingRows>;
  /** External trainers only: the trainer's answer checked (schema, sha256, ONNX loads and fits) and made a TrainModelResult. */
  verifyExternalModel(input: VerifyExternalModelInput): Promise<TrainModelResult>;
  evaluateModel(input: EvaluateModelInput): Promise<EvaluateModelResult>;
  registerModelVersion(input: RegisterModelVersionInput): Promise<RegisterModelVersionResult>;
  decideAutoApproval(input: DecideAutoApprovalInput): Promise<DecideAutoApprovalResult>;
  recordReviewDecision(input: RecordReviewDecisionInput): Promise<void>;
  deployModelVersion(input: DeployModelVersionInput): Promise<DeployModelVersionResult>;
  withdrawPendingVersion(input: WithdrawPendingVersionInput): Promise<void>;
  notifyMonitor(input: NotifyMonitorInput): Promise<void>;
  recordRunProgress(input: RecordRunProgressInput): Promise<void>;
  registerScheduledRun(input: RegisterScheduledRunInput): Promise<void>;
}
