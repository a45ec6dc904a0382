// The pipeline: ingest → validate → train → evaluate → register → approve → deploy → monitor.
// Deterministic: the world is reached only through activities, time only through Temporal.
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ErrorCode } from '../errors/error-codes.js';
import type { PipelineActivities } from './contracts/pipeline-activities.js';
import type { PipelineInput } from './contracts/pipeline-input.js';
import { FAILURE_TYPES } from './failure-types.js';
import { PIPELINE_PATCHES } from './pipeline-patches.js';
import { statusQuery, type PipelineStatus } from './pipeline-messages.js';
import { DEFAULT_APPROVAL_TIMEOUT, openReviewGate } from './review-gate.js';
import type { RunStatus } from './run-status.js';
import { createStageTracker, trainStageParts } from './stage-tracker.js';
import { ExternalTrainerFailed, trainExternally } from './external-training.js';
import { TASK_QUEUES } from './task-queues.js';
import { runIdFromWorkflowId } from './workflow-ids.js';

const nonRetryableErrorTypes = Object.values(FAILURE_TYPES);

/** Before PIPELINE_PATCHES.transientRetries: five attempts (about 15 s), so a database restart failed the run. */
const legacyLight = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes },
});

// Transient failures (an outage of Postgres, the network, the artifact store) are retried for as long as a day; the
// failure types above are business outcomes and end the run at once.
const light = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes },
});

function trainingActivities(taskQueue: string, transientRetries: boolean) {
  return proxyActivities<Pick<PipelineActivities, 'trainModel'>>({
    taskQueue,
    startToCloseTimeout: '12 hours',
    // A killed training worker is noticed within this and the retry resumes from its last checkpoint.
    heartbeatTimeout: '30 seconds',
    ...(transientRetries
      ? {
          // Each retry resumes from the last checkpoint, so hours of waiting out an outage lose little work.
          scheduleToCloseTimeout: '48 hours',
          retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes },
        }
      : { retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes } }),
  });
}

type Bookkeeping = Pick<PipelineActivities, 'recordRunProgress' | 'registerScheduledRun'>;

/** Before PIPELINE_PATCHES.transientRetries: ten attempts, then the run's row could stay `running` for ever. */
const legacyBookkeeping = proxyLocalActivities<Bookkeeping>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

// The run's row must reach every state the workflow reaches: retried until the database answers.
const bookkeeping = proxyLocalActivities<Bookkeeping>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The reason a deployed run records when a cancel arrived while it deployed. */
export const LATE_CANCEL_REASON = 'cancel arrived too late: the run had deployed';
/** Appended to a failed deploy's reason when a cancel arrived while it ran. */
const LATE_CANCEL_OF_FAILED_DEPLOY = 'a cancel arrived while it deployed, too late to stop it';

/** Terminal statuses mapped from the failure type that ended the run. */
const FAILURE_STATUS: Record<string, RunStatus> = {
  [FAILURE_TYPES.dataRejected]: 'data_rejected',
  [FAILURE_TYPES.smokeTestFailed]: 'deploy_failed',
  // A late approval refused by the deploy's compare-and-set. Not added to FAILURE_TYPES, whose list is part of
  // recorded retry policies: the deploy activity marks it non-retryable itself.
  ['PRODUCTION_MOVED' satisfies ErrorCode]: 'deploy_failed',
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
  const transientRetries = patched(PIPELINE_PATCHES.transientRetries);
  const activities = transientRetries ? light : legacyLight;
  const records = transientRetries ? bookkeeping : legacyBookkeeping;
  const training = trainingActivities(input.trainingTaskQueue ?? TASK_QUEUES.training, transientRetries);
  const stages = createStageTracker({ runId, model: spec.model, recordRunProgress: records.recordRunProgress });
  const { state } = stages;
  setHandler(statusQuery, () => state);
  const reviews = openReviewGate({
    runId,
    model: spec.model,
    requestedBy: input.requestedBy,
    policy: spec.policy,
    stages,
    decideAutoApproval: (request) => activities.decideAutoApproval(request),
  });

  const seed =
    typeof spec.trainer?.params?.seed === 'number' ? spec.trainer.params.seed : seedFromRunId(runId);

  /** Set once deploy runs in a non-cancellable scope, so a failure can say a cancel came too late to stop it. */
  let deployingPastCancel = false;
  try {
    if (input.runId === undefined) {
      // Started by a Schedule: no API request created the run's row.
      await records.registerScheduledRun({
        runId,
        workflowId: workflowInfo().workflowId,
        spec,
        scheduleId: input.scheduleId ?? 'unknown',
        requestedBy: input.requestedBy,
      });
    }
    await stages.enter('ingest');
    const snapshot = await activities.snapshotDataset({
      runId,
      source: spec.dataset,
      // Only when present, so runs without joins keep the activity input they always had.
      ...(spec.sources ? { sources: spec.sources } : {}),
      transform: spec.transform,
      requestedBy: input.requestedBy,
    });
    state.snapshotSha256 = snapshot.sha256;

    await stages.enter('validate');
    const validation = await activities.validateDataset({
      runId,
      model: spec.model,
      snapshotSha256: snapshot.sha256,
      target: spec.target,
      task: spec.task,
      ...(spec.features ? { features: spec.features } : {}),
      expectations: spec.expectations,
      ...(spec.split ? { split: spec.split } : {}),
    });
    state.validationReportId = validation.reportId;

    await stages.enter('train');
    // Only runs whose spec names an external trainer take this branch; no history recorded before it does.
    const trained =
      spec.trainer?.kind === 'external'
        ? await trainExternally(
            spec.trainer,
            {
              runId,
              model: spec.model,
              snapshotSha256: snapshot.sha256,
              snapshotUri: snapshot.uri,
              snapshotRows: snapshot.rowCount,
              target: spec.target,
              task: spec.task,
              ...(spec.features ? { features: spec.features } : {}),
              seed,
              ...(validation.split ? { split: validation.split } : {}),
            },
            activities,
          )
        : await training.trainModel({
            runId,
            model: spec.model,
            snapshotSha256: snapshot.sha256,
            target: spec.target,
            task: spec.task,
            features: spec.features,
            trainer: spec.trainer ?? { kind: 'gbdt' },
            seed,
            // The model's stable split; histories from before it have none and keep the row-index split.
            ...(validation.split ? { split: validation.split } : {}),
          });
    // Shown in the status query's timings; only state changes, so histories replay unchanged.
    if (trained.stageTimings) stages.noteParts(trainStageParts(trained.stageTimings));

    await stages.enter('evaluate');
    const evaluation = await activities.evaluateModel({
      runId,
      model: spec.model,
      snapshotSha256: snapshot.sha256,
      target: spec.target,
      task: spec.task,
      features: spec.features,
      seed,
      ...(validation.split ? { split: validation.split } : {}),
      candidate: {
        artifactSha256: trained.artifactSha256,
        modelJsonSha256: trained.modelJsonSha256,
        ...(trained.holdoutPredictionsSha256 ? { holdoutPredictionsSha256: trained.holdoutPredictionsSha256 } : {}),
      },
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

    await stages.enter('register');
    const registered = await activities.registerModelVersion({
      runId,
      model: spec.model,
      task: spec.task,
      target: spec.target,
      snapshotSha256: snapshot.sha256,
      training: trained,
      evaluation,
    });
    state.modelVersion = registered.version;

    const decision = await reviews.decide(evaluation);
    state.review = decision;
    await activities.recordReviewDecision({
      runId,
      model: spec.model,
      version: registered.version,
      result: decision,
      reviewerKeyId: reviews.reviewerKeyId(),
    });
    if (decision.decision === 'expire') {
      return await stages.finish('expired', `no review within ${String(spec.policy?.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT)}`);
    }
    if (decision.decision === 'reject' || decision.decision === 'auto_reject') {
      return await stages.finish('rejected', decision.comment ?? `rejected by ${decision.reviewer}`);
    }

    await stages.enter('deploy');
    const deployAndTellMonitor = async () => {
      await activities.deployModelVersion({
        runId,
        model: spec.model,
        version: registered.version,
        actor: decision.reviewer,
        reason: `run ${runId} approved by ${decision.reviewer}`,
      });
      await stages.enter('monitor');
      await activities.notifyMonitor({ model: spec.model, version: registered.version, runId });
    };
    if (!patched(PIPELINE_PATCHES.deployNotCancellable)) {
      await deployAndTellMonitor();
      return await stages.finish('deployed');
    }
    // Production moves all or nothing: a cancel arriving now is reported beside the real outcome, not obeyed.
    deployingPastCancel = true;
    await CancellationScope.nonCancellable(deployAndTellMonitor);
    return await stages.finish('deployed', cancelRequested() ? LATE_CANCEL_REASON : undefined);
  } catch (error) {
    if (isCancellation(error)) {
      // Record the outcome even though the workflow itself was cancelled, then let Temporal mark it Canceled.
      await CancellationScope.nonCancellable(async () => {
        if ((state.modelVersion !== undefined || state.stage === 'register') && patched(PIPELINE_PATCHES.withdrawOnCancel)) {
          await withdrawPendingVersion(runId, spec.model, state.stage);
        }
        await stages.finish('cancelled', 'cancelled on request');
      });
      throw error;
    }
    if (error instanceof RunEnded) return await stages.finish(error.status, error.reason);
    if (error instanceof ExternalTrainerFailed) return await stages.finish('failed', error.message);
    const { type, message } = failureReason(error);
    const lateCancel = deployingPastCancel && cancelRequested() ? `; ${LATE_CANCEL_OF_FAILED_DEPLOY}` : '';
    return await stages.finish((type && FAILURE_STATUS[type]) || 'failed', message + lateCancel);
  }
}

/** Whether a cancel was requested for this run (the workflow's root scope); outside any non-cancellable scope. */
function cancelRequested(): boolean {
  return CancellationScope.current().consideredCancelled;
}

/** A cancelled run leaves no version waiting for a review nobody can give any more. */
async function withdrawPendingVersion(runId: string, model: string, stage: string): Promise<void> {
  try {
    await light.withdrawPendingVersion({
      runId,
      model,
      reason: stage === 'awaiting_review' ? 'the run was cancelled while awaiting review' : 'the run was cancelled before review',
    });
  } catch (error) {
    // The run is cancelled either way; the version is left as it is and the reason is in the worker's log.
    log.warn('could not withdraw the version of a cancelled run', { runId, error: failureReason(error).message });
  }
}
