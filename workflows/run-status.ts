// A run's statuses and the pipeline's stages: the tables the code, the API and the database checks share.
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
  /**
   * The train stage's parts (load, split, train, metrics, export, store) in wall milliseconds, as the training
   * activity measured them; absent for other stages, external trainers and trainings from before they were measured.
   */
  parts?: StagePart[];
}

export interface StagePart {
  part: string;
  durationMs: number;
}
