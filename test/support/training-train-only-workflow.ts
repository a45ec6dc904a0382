// Test-only workflow: just the pipeline's train step, with a short heartbeat timeout so a killed worker is
// noticed in seconds rather than the pipeline's 30.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type {
  PipelineActivities,
  TrainModelInput,
  TrainModelResult,
} from '../../workflows/contracts/pipeline-activities.js';
import { FAILURE_TYPES } from '../../workflows/failure-types.js';

export interface TrainOnlyInput {
  training: TrainModelInput;
  trainingTaskQueue: string;
  heartbeatTimeout: string;
}

export async function trainOnly(input: TrainOnlyInput): Promise<TrainModelResult> {
  const { trainModel } = proxyActivities<Pick<PipelineActivities, 'trainModel'>>({
    taskQueue: input.trainingTaskQueue,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: input.heartbeatTimeout,
    retry: { initialInterval: '100 milliseconds', maximumAttempts: 5, nonRetryableErrorTypes: [FAILURE_TYPES.trainingFailed] },
    // A cancelled run ends only once the activity has acknowledged it, so its history shows that it stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return trainModel(input.training);
}
