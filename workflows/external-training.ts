// The train stage with an external trainer (docs/training-contract.md): Keel writes the run's split and labels,
// the trainer's own worker trains on its task queue, and Keel checks its answer before evaluation reads it.
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { PipelineActivities, TrainModelResult } from './contracts/pipeline-activities.js';
import type { ExternalTrainerSpec, Task } from './contracts/run-spec.js';
import type { ModelSplit } from './contracts/split.js';
import { TRAINING_CONTRACT_VERSION, type ExternalTrainModelInput } from './contracts/training-contract.js';
import { FAILURE_TYPES } from './failure-types.js';
import { PIPELINE_PATCHES } from './pipeline-patches.js';

export const DEFAULT_EXTERNAL_TIMEOUT = '2 hours';
export const DEFAULT_EXTERNAL_HEARTBEAT_TIMEOUT = '1 minute';
/** How long an attempt waits for a worker on the trainer's task queue to take it before the run ends failed. */
export const DEFAULT_EXTERNAL_SCHEDULE_TO_START_TIMEOUT = '10 minutes';
/** A trainer that crashes (or goes silent) this many times in a row ends the run. */
export const EXTERNAL_TRAINER_ATTEMPTS = 3;

/** The external worker's activity; its answer is `unknown` until verifyExternalModel checked it. */
interface ExternalTrainer {
  trainModel(input: ExternalTrainModelInput): Promise<unknown>;
}

export interface ExternalTrainingRun {
  runId: string;
  model: string;
  snapshotSha256: string;
  snapshotUri: string;
  snapshotRows: number;
  target: string;
  task: Task;
  features?: string[];
  seed: number;
  split?: ModelSplit;
}

/** Thrown when the trainer itself failed (crash, timeout, refusal): the run ends `failed` with the reason. */
export class ExternalTrainerFailed extends Error {}

export async function trainExternally(
  trainer: ExternalTrainerSpec,
  run: ExternalTrainingRun,
  activities: Pick<PipelineActivities, 'prepareExternalTraining' | 'verifyExternalModel'>,
): Promise<TrainModelResult> {
  const prepared = await activities.prepareExternalTraining({
    runId: run.runId,
    model: run.model,
    snapshotSha256: run.snapshotSha256,
    target: run.target,
    task: run.task,
    ...(run.features ? { features: run.features } : {}),
    seed: run.seed,
    ...(run.split ? { split: run.split } : {}),
  });
  // Runs recorded before the patch scheduled without it (and waited for ever while no worker polled the queue).
  const waitsForAWorkerAtMost = patched(PIPELINE_PATCHES.externalScheduleToStart);
  const external = proxyActivities<ExternalTrainer>({
    taskQueue: trainer.taskQueue,
    ...(waitsForAWorkerAtMost
      ? { scheduleToStartTimeout: trainer.scheduleToStartTimeout ?? DEFAULT_EXTERNAL_SCHEDULE_TO_START_TIMEOUT }
      : {}),
    startToCloseTimeout: trainer.timeout ?? DEFAULT_EXTERNAL_TIMEOUT,
    heartbeatTimeout: trainer.heartbeatTimeout ?? DEFAULT_EXTERNAL_HEARTBEAT_TIMEOUT,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: EXTERNAL_TRAINER_ATTEMPTS,
      nonRetryableErrorTypes: Object.values(FAILURE_TYPES),
    },
  });
  let answer: unknown;
  try {
    answer = await external.trainModel({
      contractVersion: TRAINING_CONTRACT_VERSION,
      runId: run.runId,
      model: run.model,
      task: run.task,
      target: run.target,
      trainer: { name: trainer.name, params: trainer.params ?? {} },
      seed: run.seed,
      snapshot: { sha256: run.snapshotSha256, uri: run.snapshotUri, rowCount: run.snapshotRows },
      features: prepared.features,
      labelClasses: prepared.labelClasses,
      rows: prepared.rows,
    });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    throw new ExternalTrainerFailed(externalFailureReason(trainer, error));
  }
  return await activities.verifyExternalModel({
    runId: run.runId,
    model: run.model,
    task: run.task,
    snapshotSha256: run.snapshotSha256,
    trainerName: trainer.name,
    taskQueue: trainer.taskQueue,
    prepared,
    answer,
  });
}

/** What the run's reason says about a trainer that crashed, timed out or refused. */
function externalFailureReason(trainer: ExternalTrainerSpec, failure: ActivityFailure): string {
  const who = `external trainer "${trainer.name}" on task queue "${trainer.taskQueue}"`;
  const cause = failure.cause;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'HEARTBEAT') {
      return `${who} timed out: no heartbeat within ${trainer.heartbeatTimeout ?? DEFAULT_EXTERNAL_HEARTBEAT_TIMEOUT} (the worker crashed or hung)`;
    }
    if (cause.timeoutType === 'SCHEDULE_TO_START') {
      const waited = trainer.scheduleToStartTimeout ?? DEFAULT_EXTERNAL_SCHEDULE_TO_START_TIMEOUT;
      return `${who} timed out: no worker polled task queue "${trainer.taskQueue}" within ${waited} (start the trainer's worker on that queue, or fix trainer.taskQueue)`;
    }
    if (cause.timeoutType === 'START_TO_CLOSE') {
      return `${who} timed out: an attempt did not finish within ${trainer.timeout ?? DEFAULT_EXTERNAL_TIMEOUT}`;
    }
    return `${who} timed out (${cause.timeoutType})`;
  }
  if (cause instanceof ApplicationFailure) {
    const kind = cause.type ? `${cause.type}: ` : '';
    return `${who} failed: ${kind}${cause.message}`;
  }
  return `${who} failed: ${cause?.message ?? failure.message}`;
}
