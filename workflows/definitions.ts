// Shared names and message definitions: the API, workers and tests import these, never workflow bodies.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DataExpectations as Expectations } from '../data/validate-profile.js';
export const TASK_QUEUES = {
  pipeline: 'pipeline',
  training: 'training',
} as const;
export type TaskQueueName = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];

export const SEARCH_ATTRIBUTES = {
  model: 'KeelModel',
  stage: 'KeelStage',
} as const;

export interface SystemCheckResult {
  worker: string;
  postgresVersion: string;
  checkedAt: string;
}

export function systemCheckWorkflowId(suffix: string): string {
  return `system-check/${suffix}`;
}

// ───────────────────────────── the pipeline ─────────────────────────────

export type Task = 'binary' | 'regression';

export type DatasetSource = { uri: string } | { connection: string; query: string };

// The data plane's own expectation types (type-only: workflows never import data/ code).
export type { ColumnExpectation, DataExpectations as Expectations } from '../data/validate-profile.js';

/** e.g. `{ auc: { min: 0.75 }, maxRegression: { auc: 0.005 } }` */
export interface Gates {
  [metric: string]: { min?: number; max?: number } | Record<string, number> | undefined;
  maxRegression?: Record<string, number>;
}

export interface Policy {
  autoApprove?: boolean;
  /** Temporal duration string ('72h', '10 minutes') or milliseconds. */
  approvalTimeout?: string | number;
}

export interface TrainerSpec {
  kind: 'gbdt' | 'linear';
  params?: Record<string, number | string | boolean>;
}

/** The body of POST /v1/runs, as validated by the API. */
export interface RunSpec {
  model: string;
  dataset: DatasetSource;
  /** DuckDB SELECT over the relation `source` (and the named `sources`). */
  transform?: string;
  /** Extra named inputs the transform can join, e.g. `{ airports: { uri } }`. */
  sources?: Record<string, DatasetSource>;
  target: string;
  task: Task;
  /** Feature columns; default: every column but the target. */
  features?: string[];
  trainer?: TrainerSpec;
  expectations?: Expectations;
  gates?: Gates;
  policy?: Policy;
}

export interface PipelineInput {
  /** Absent for runs started by a Temporal Schedule: derived from the workflow id Temporal makes unique. */
  runId?: string;
  spec: RunSpec;
  requestedBy: { keyId: string | null; name: string };
  scheduleId?: string;
  /** Task queue of the training activity (default `training`); tests and dedicated GPU pools set their own. */
  trainingTaskQueue?: string;
}

export const RUN_STATUSES = [
  'running',
  'awaiting_review',
  'deployed',
  'rejected',
  'expired',
  'data_rejected',
  'failed',
  'deploy_failed',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const PIPELINE_STAGES = [
  'ingest',
  'validate',
  'train',
  'evaluate',
  'register',
  'awaiting_review',
  'deploy',
  'monitor',
  'done',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

export interface StageTiming {
  stage: PipelineStage;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
}

export interface PipelineStatus {
  runId: string;
  model: string;
  stage: PipelineStage;
  status: RunStatus;
  reason?: string;
  timings: StageTiming[];
  snapshotSha256?: string;
  validationReportId?: string;
  evaluationReportId?: string;
  modelVersion?: number;
  gatesPassed?: boolean;
  review?: ReviewResult;
}

export interface ReviewInput {
  decision: 'approve' | 'reject';
  comment?: string;
  reviewer: { keyId: string | null; name: string };
}

export interface ReviewResult {
  decision: 'approve' | 'reject' | 'expire' | 'auto_approve' | 'auto_reject';
  reviewer: string;
  comment?: string;
  decidedAt: string;
}

export const reviewUpdate = defineUpdate<ReviewResult, [ReviewInput]>('review');
export const statusQuery = defineQuery<PipelineStatus>('status');

/** ApplicationFailure types shared by activities, workflows and the API's error mapping. */
export const FAILURE_TYPES = {
  dataRejected: 'DATA_REJECTED',
  sourceNotAllowed: 'SOURCE_NOT_ALLOWED',
  sourceNotFound: 'SOURCE_NOT_FOUND',
  sourceUnreadable: 'SOURCE_UNREADABLE',
  transformRejected: 'TRANSFORM_REJECTED',
  sourceQueryRejected: 'SOURCE_QUERY_REJECTED',
  invalidSpec: 'INVALID_SPEC',
  trainingFailed: 'TRAINING_FAILED',
  parityFailed: 'PARITY_FAILED',
  smokeTestFailed: 'SMOKE_TEST_FAILED',
  notAwaitingReview: 'NOT_AWAITING_REVIEW',
  requesterCannotReview: 'REQUESTER_CANNOT_REVIEW',
} as const;

export function pipelineWorkflowId(model: string, runId: string): string {
  return `pipeline/${model}/${runId}`;
}

export function monitorWorkflowId(model: string): string {
  return `monitor/${model}`;
}

export const DEFAULT_APPROVAL_TIMEOUT = '72h';

// ─────────────────────── pipeline activity contracts ───────────────────────
// The workflow proxies these by name; each activity module implements its part.

export interface Actor {
  keyId: string | null;
  name: string;
}

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
}

export interface ValidateDatasetInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  expectations?: Expectations;
}
/** A failing validation throws ApplicationFailure DATA_REJECTED with details [{ reportId, summary }]. */
export interface ValidateDatasetResult {
  reportId: string;
  passed: boolean;
  summary: string;
  referenceSha256: string | null;
}

export interface TrainModelInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  features?: string[];
  trainer: TrainerSpec;
  seed: number;
}
export interface TrainModelResult {
  trainer: 'gbdt' | 'linear';
  /** ONNX file (with preprocessing) in the artifact store. */
  artifactSha256: string;
  artifactUri: string;
  /** The trainer's own model (JSON) in the artifact store, for the parity check. */
  modelJsonSha256: string;
  featureSchema: unknown;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  bestIteration: number;
  importance: Record<string, number>;
  trainRows: number;
  validRows: number;
  holdoutRows: number;
  resumedFromIteration: number | null;
}

export interface EvaluateModelInput {
  runId: string;
  model: string;
  snapshotSha256: string;
  target: string;
  task: Task;
  features?: string[];
  seed: number;
  candidate: { artifactSha256: string; modelJsonSha256: string };
  gates?: Gates;
}
export interface EvaluateModelResult {
  reportId: string;
  candidateMetrics: Record<string, number>;
  champion: { version: number; metrics: Record<string, number> } | null;
  deltas: Record<string, number>;
  parity: { passed: boolean; maxAbsDiff: number; rows: number };
  gatesPassed: boolean;
  failedGates: string[];
  /** Challenger no worse than the champion on the primary metric (true when there is no champion). */
  challengerNoWorse: boolean;
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

export interface DeployModelVersionInput {
  runId: string;
  model: string;
  version: number;
  actor: string;
  reason: string;
}
/** A failed smoke prediction reverts the alias and throws ApplicationFailure SMOKE_TEST_FAILED. */
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

/** Every activity the pipeline workflow calls, by name; implemented across the activity modules. */
export interface PipelineActivities {
  snapshotDataset(input: SnapshotDatasetInput): Promise<SnapshotDatasetResult>;
  validateDataset(input: ValidateDatasetInput): Promise<ValidateDatasetResult>;
  trainModel(input: TrainModelInput): Promise<TrainModelResult>;
  evaluateModel(input: EvaluateModelInput): Promise<EvaluateModelResult>;
  registerModelVersion(input: RegisterModelVersionInput): Promise<RegisterModelVersionResult>;
  recordReviewDecision(input: RecordReviewDecisionInput): Promise<void>;
  deployModelVersion(input: DeployModelVersionInput): Promise<DeployModelVersionResult>;
  notifyMonitor(input: NotifyMonitorInput): Promise<void>;
  recordRunProgress(input: RecordRunProgressInput): Promise<void>;
  registerScheduledRun(input: RegisterScheduledRunInput): Promise<void>;
}

export interface RegisterScheduledRunInput {
  runId: string;
  workflowId: string;
  spec: RunSpec;
  scheduleId: string;
  requestedBy: Actor;
}

export function scheduledWorkflowIdPrefix(model: string, scheduleId: string): string {
  return pipelineWorkflowId(model, `sched-${scheduleId}`);
}

/** `pipeline/<model>/<runId>` → `<runId>` (run ids may themselves contain `/`-free timestamps). */
export function runIdFromWorkflowId(workflowId: string): string {
  return workflowId.split('/').slice(2).join('/');
}

// ───────────────────────────── the model monitor ─────────────────────────────

export interface MonitorInput {
  model: string;
  /** Carried across continue-as-new. */
  state?: MonitorState;
  /** Ticks before continuing as new (default 500, or earlier when Temporal suggests it); tests set a small one. */
  ticksPerRun?: number;
}

export interface MonitorState {
  model: string;
  productionVersion: number | null;
  deployments: { version: number | null; runId: string | null; at: string; action?: 'deploy' | 'rollback' | 'revert' }[];
  /** Reporting monitors only (patch `monitor-reports`): the interval now in force (ms). */
  intervalMs?: number;
  /** End of the last reported window: the next window starts here. */
  lastWindowEnd?: string | null;
  /** When the monitor last started a retraining run (the cooldown counts from here). */
  lastRetrainAt?: string | null;
  lastRetrain?: { runId: string; workflowId: string; at: string } | null;
  lastReport?: MonitorReportSummary | null;
  /** Reports made over the monitor's whole life (across continue-as-new). */
  ticks?: number;
}

export const versionDeployedSignal = defineSignal<[NotifyMonitorInput]>('versionDeployed');
export const monitorStateQuery = defineQuery<MonitorState>('monitorState');

/** A change of the production alias that was not a pipeline deploy: an ops rollback or a failed-smoke revert. */
export interface ProductionChange {
  model: string;
  /** The version now in production; null when a revert left the model without one. */
  version: number | null;
  action: 'rollback' | 'revert';
  runId: string | null;
  actor: string;
}

export interface MonitoringPolicyChange {
  model: string;
  intervalMs: number;
}

export type MonitoringVerdict = 'drift' | 'no_drift' | 'not_enough_data' | 'no_reference' | 'no_production_version' | 'no_model';

export interface ComputeMonitoringReportInput {
  model: string;
  windowStart: string;
  windowEnd: string;
  /** When the monitor last started a retrain (for the cooldown); null if never. */
  lastRetrainAt: string | null;
}

export interface ComputeMonitoringReportResult {
  /** Null when nothing was reported (unknown model, no production version). */
  reportId: string | null;
  version: number | null;
  verdict: MonitoringVerdict;
  summary: string;
  rows: number;
  /** The policy now in force, so the monitor sleeps the interval ops set. */
  intervalMs: number;
  cooldownMs: number;
  /** A breach with retraining enabled and outside the cooldown: the monitor should start a retrain now. */
  retrainDue: boolean;
}

export interface StartRetrainInput {
  model: string;
  windowEnd: string;
  reportId: string | null;
}

export interface StartRetrainResult {
  started: boolean;
  runId: string | null;
  workflowId: string | null;
  reason: string;
}

/** The activities the monitor workflow calls (activities/monitor-activities.ts). */
export interface ModelMonitorActivities {
  /** The policy's interval (ms), read when a monitor starts fresh. */
  monitoringInterval(input: { model: string }): Promise<number>;
  computeMonitoringReport(input: ComputeMonitoringReportInput): Promise<ComputeMonitoringReportResult>;
  startRetrain(input: StartRetrainInput): Promise<StartRetrainResult>;
}

/** `2025-01-02T03:04:05.678Z` → `20250102T030405678Z`: a window end as a workflow-id and run-id segment. */
export function windowKey(windowEnd: string): string {
  return windowEnd.replace(/[-:.]/g, '');
}

export function retrainWorkflowId(model: string, windowEnd: string): string {
  return `retrain/${model}/${windowKey(windowEnd)}`;
}

/** Run ids are global (runs.id), so the model is part of a retrain's. */
export function retrainRunId(model: string, windowEnd: string): string {
  return `retrain-${model}-${windowKey(windowEnd)}`;
}

export interface MonitorReportSummary {
  reportId: string | null;
  version: number | null;
  verdict: MonitoringVerdict;
  summary: string;
  windowStart: string;
  windowEnd: string;
  rows: number;
}

export const productionChangedSignal = defineSignal<[ProductionChange]>('productionChanged');
export const monitoringPolicyChangedSignal = defineSignal<[MonitoringPolicyChange]>('monitoringPolicyChanged');
