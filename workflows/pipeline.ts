// The pipeline: ingest → validate → train → evaluate → register → approve → deploy → monitor.
// Deterministic: the world is reached only through activities, time only through Temporal.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import {
  DEFAULT_APPROVAL_TIMEOUT,
  FAILURE_TYPES,
  SEARCH_ATTRIBUTES,
  TASK_QUEUES,
  reviewUpdate,
  runIdFromWorkflowId,
  statusQuery,
  type EvaluateModelResult,
  type PipelineActivities,
  type PipelineInput,
  type PipelineStage,
  type PipelineStatus,
  type ReviewInput,
  type ReviewResult,
  type RunStatus,
} from './definitions.js';

const nonRetryableErrorTypes = Object.values(FAILURE_TYPES);

const light = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
});

function trainingActivities(taskQueue: string) {
  return proxyActivities<Pick<PipelineActivities, 'trainModel'>>({
    taskQueue,
    startToCloseTimeout: '12 hours',
    // A killed training worker is noticed within this and the retry resumes from its last checkpoint.
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes },
  });
}

const bookkeeping = proxyLocalActivities<Pick<PipelineActivities, 'recordRunProgress' | 'registerScheduledRun'>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

/** Terminal statuses mapped from the failure type that ended the run. */
const FAILURE_STATUS: Record<string, RunStatus> = {
  [FAILURE_TYPES.dataRejected]: 'data_rejected',
  [FAILURE_TYPES.smokeTestFailed]: 'deploy_failed',
};

class RunEnded extends Error {
  constructor(
    readonly status: RunStatus,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A stable seed from the run id, so a re-run of the same history trains the same model. */
export function seedFromRunId(runId: string): number {
  let hash = 2166136261;
  for (let i = 0; i < runId.length; i++) hash = Math.imul(hash ^ runId.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

function failureReason(error: unknown): { type?: string; message: string } {
  let current: unknown = error;
  // Activity failures wrap the ApplicationFailure that says what went wrong.
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) return { type: current.type ?? undefined, message: current.message };
    current = (current as Error & { cause?: unknown }).cause;
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

export async function pipeline(input: PipelineInput): Promise<PipelineStatus> {
  const { spec } = input;
  const runId = input.runId ?? runIdFromWorkflowId(workflowInfo().workflowId);
  const training = trainingActivities(input.trainingTaskQueue ?? TASK_QUEUES.training);
  const state: PipelineStatus = { runId, model: spec.model, stage: 'ingest', status: 'running', timings: [] };
  let pendingReview: ReviewResult | undefined;
  let reviewerKeyId: string | null = null;

  setHandler(statusQuery, () => state);
  setHandler(
    reviewUpdate,
    (review: ReviewInput): ReviewResult => {
      pendingReview = {
        decision: review.decision,
        reviewer: review.reviewer.name,
        comment: review.comment,
        decidedAt: new Date().toISOString(),
      };
      reviewerKeyId = review.reviewer.keyId;
      return pendingReview;
    },
    {
      // Rejected updates leave no trace in history.
      validator: (review: ReviewInput) => {
        if (state.stage !== 'awaiting_review' || state.status !== 'awaiting_review' || pendingReview !== undefined) {
          throw ApplicationFailure.create({
            type: FAILURE_TYPES.notAwaitingReview,
            message: `run ${runId} is not awaiting review (stage ${state.stage}, status ${state.status})`,
          });
        }
        if (review.reviewer.keyId !== null && review.reviewer.keyId === input.requestedBy.keyId) {
          throw ApplicationFailure.create({
            type: FAILURE_TYPES.requesterCannotReview,
            message: 'the key that started a run cannot review it (four eyes)',
          });
        }
        if (review.decision !== 'approve' && review.decision !== 'reject') {
          throw ApplicationFailure.create({ type: FAILURE_TYPES.invalidSpec, message: 'decision must be approve or reject' });
        }
      },
    },
  );

  const enterStage = async (stage: PipelineStage, status: RunStatus = 'running') => {
    const now = new Date();
    const open = state.timings[state.timings.length - 1];
    if (open && !open.finishedAt) {
      open.finishedAt = now.toISOString();
      open.durationMs = now.getTime() - Date.parse(open.startedAt);
    }
    state.stage = stage;
    state.status = status;
    state.timings.push({ stage, startedAt: now.toISOString() });
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.model]: [spec.model], [SEARCH_ATTRIBUTES.stage]: [stage] });
    await bookkeeping.recordRunProgress({
      runId,
      stage,
      status,
      snapshotSha256: state.snapshotSha256,
      modelVersion: state.modelVersion,
    });
  };

  const finish = async (status: RunStatus, reason?: string) => {
    const now = new Date();
    const open = state.timings[state.timings.length - 1];
    if (open && !open.finishedAt) {
      open.finishedAt = now.toISOString();
      open.durationMs = now.getTime() - Date.parse(open.startedAt);
    }
    state.stage = 'done';
    state.status = status;
    state.reason = reason;
    // KeelStage carries the outcome once a run is over, so ops can filter e.g. KeelStage = "deploy_failed".
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.stage]: [status] });
    await bookkeeping.recordRunProgress({
      runId,
      stage: 'done',
      status,
      reason,
      snapshotSha256: state.snapshotSha256,
      modelVersion: state.modelVersion,
    });
    return state;
  };

  const seed =
    typeof spec.trainer?.params?.seed === 'number' ? spec.trainer.params.seed : seedFromRunId(runId);

  try {
    if (input.runId === undefined) {
      // Started by a Schedule: no API request created the run's row.
      await bookkeeping.registerScheduledRun({
        runId,
        workflowId: workflowInfo().workflowId,
        spec,
        scheduleId: input.scheduleId ?? 'unknown',
        requestedBy: input.requestedBy,
      });
    }
    await enterStage('ingest');
    const snapshot = await light.snapshotDataset({
      runId,
      source: spec.dataset,
      // Only when present, so runs without joins keep the activity input they always had.
      ...(spec.sources ? { sources: spec.sources } : {}),
      transform: spec.transform,
      requestedBy: input.requestedBy,
    });
    state.snapshotSha256 = snapshot.sha256;

    await enterStage('validate');
    const validation = await light.validateDataset({
      runId,
      model: spec.model,
      snapshotSha256: snapshot.sha256,
      target: spec.target,
      task: spec.task,
      expectations: spec.expectations,
    });
    state.validationReportId = validation.reportId;

    await enterStage('train');
    const trained = await training.trainModel({
      runId,
      model: spec.model,
      snapshotSha256: snapshot.sha256,
      target: spec.target,
      task: spec.task,
      features: spec.features,
      trainer: spec.trainer ?? { kind: 'gbdt' },
      seed,
    });

    await enterStage('evaluate');
    const evaluation: EvaluateModelResult = await light.evaluateModel({
      runId,
      model: spec.model,
      snapshotSha256: snapshot.sha256,
      target: spec.target,
      task: spec.task,
      features: spec.features,
      seed,
      candidate: { artifactSha256: trained.artifactSha256, modelJsonSha256: trained.modelJsonSha256 },
      gates: spec.gates,
      // Only when present, so histories from before serving recipes keep the input they had.
      ...(snapshot.servingSource ? { servingSource: snapshot.servingSource } : {}),
    });
    state.evaluationReportId = evaluation.reportId;
    state.gatesPassed = evaluation.gatesPassed;
    if (!evaluation.parity.passed) {
      throw new RunEnded(
        'failed',
        `parity check failed: onnxruntime differs from the trainer by ${evaluation.parity.maxAbsDiff} on the holdout`,
      );
    }

    await enterStage('register');
    const registered = await light.registerModelVersion({
      runId,
      model: spec.model,
      task: spec.task,
      target: spec.target,
      snapshotSha256: snapshot.sha256,
      training: trained,
      evaluation,
    });
    state.modelVersion = registered.version;

    const decision = await decide(evaluation);
    state.review = decision;
    await light.recordReviewDecision({
      runId,
      model: spec.model,
      version: registered.version,
      result: decision,
      reviewerKeyId,
    });
    if (decision.decision === 'expire') {
      return await finish('expired', `no review within ${String(spec.policy?.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT)}`);
    }
    if (decision.decision === 'reject' || decision.decision === 'auto_reject') {
      return await finish('rejected', decision.comment ?? `rejected by ${decision.reviewer}`);
    }

    await enterStage('deploy');
    await light.deployModelVersion({
      runId,
      model: spec.model,
      version: registered.version,
      actor: decision.reviewer,
      reason: `run ${runId} approved by ${decision.reviewer}`,
    });

    await enterStage('monitor');
    await light.notifyMonitor({ model: spec.model, version: registered.version, runId });
    return await finish('deployed');
  } catch (error) {
    if (isCancellation(error)) {
      // Record the outcome even though the workflow itself was cancelled, then let Temporal mark it Canceled.
      await CancellationScope.nonCancellable(() => finish('cancelled', 'cancelled on request'));
      throw error;
    }
    if (error instanceof RunEnded) return await finish(error.status, error.reason);
    const { type, message } = failureReason(error);
    return await finish((type && FAILURE_STATUS[type]) || 'failed', message);
  }

  async function decide(evaluation: EvaluateModelResult): Promise<ReviewResult> {
    if (spec.policy?.autoApprove) {
      await enterStage('awaiting_review');
      const reasons = [...evaluation.failedGates];
      if (!evaluation.challengerNoWorse) reasons.push('challenger is worse than the champion');
      return {
        decision: reasons.length === 0 ? 'auto_approve' : 'auto_reject',
        reviewer: 'policy:autoApprove',
        comment: reasons.length === 0 ? 'every gate passed and the challenger is no worse than the champion' : `auto-approval refused: ${reasons.join('; ')}`,
        decidedAt: new Date().toISOString(),
      };
    }
    await enterStage('awaiting_review', 'awaiting_review');
    const timeout = spec.policy?.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT;
    const decided = await condition(() => pendingReview !== undefined, timeout as Duration);
    if (!decided || !pendingReview) {
      return { decision: 'expire', reviewer: 'system', comment: 'approval timed out', decidedAt: new Date().toISOString() };
    }
    return pendingReview;
  }
}

