// The `trainModel` activity (training task queue): a thin adapter over training/train-model.ts. It heartbeats the
// training's progress, hands a retried attempt the last heartbeat to resume from, stops on cancellation and maps
// errors to ApplicationFailure (TRAINING_FAILED is non-retryable; anything else is retried).
import { Context } from '@temporalio/activity';
import { withFailureMapping } from '../errors/to-application-failure.js';
import { trainModel, type TrainingDeps } from '../training/train-model.js';
import { previousProgress, type TrainingProgress } from '../training/training-progress.js';
import type { PipelineActivities, TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';

export type TrainingActivityDeps = TrainingDeps;

/** Heartbeat details of a running `trainModel`; a retried attempt reads the last ones back. */
export type TrainingHeartbeat = TrainingProgress;

/** The last progress is sent again this often while training reports nothing new. */
const REPEAT_HEARTBEAT_MS = 5_000;

export function createTrainingActivities(deps: TrainingActivityDeps) {
  return {
    async trainModel(input: TrainModelInput): Promise<TrainModelResult> {
      const context = Context.current();
      let last: TrainingHeartbeat | undefined;
      // A step with nothing new to report (the split, an artifact write) still shows the worker alive.
      const repeat = setInterval(() => last && context.heartbeat(last), REPEAT_HEARTBEAT_MS);
      repeat.unref();
      return withFailureMapping(() =>
        trainModel(deps, input, {
          onProgress: (progress: TrainingHeartbeat) => {
            last = progress;
            context.heartbeat(progress);
          },
          // The SDK aborts with a CancelledFailure as reason: that is what the training throws when it stops.
          signal: context.cancellationSignal,
          // Cancelled by the workflow (not a timeout or a shutdown): nothing will resume this run.
          abandoned: () => context.cancellationDetails?.cancelRequested === true,
          previous: previousProgress(context.info.heartbeatDetails),
          log: context.log,
        }),
      ).finally(() => clearInterval(repeat));
    },
  } satisfies Pick<PipelineActivities, 'trainModel'>;
}

export type TrainingActivities = ReturnType<typeof createTrainingActivities>;
