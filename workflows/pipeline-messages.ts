// The pipeline's messages: the `review` update reviewers send through the API, and the `status` query.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ReviewInput, ReviewResult } from './contracts/review.js';
import type { PipelineStage, RunStatus, StageTiming } from './run-status.js';

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

export const reviewUpdate = defineUpdate<ReviewResult, [ReviewInput]>('review');
export const statusQuery = defineQuery<PipelineStatus>('status');
