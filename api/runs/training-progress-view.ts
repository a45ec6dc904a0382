// A running training's progress for GET /v1/runs/:id, read from the trainModel activity's last heartbeat.
// The workflow cannot see its activities' heartbeat details (they go to the server, not into the history), so the
// API reads them from DescribeWorkflowExecution's pending activities: no workflow change, no extra writes.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { metricName } from '../../ml/gbdt/objective.js';
import type { TrainingProgress } from '../../training/training-progress.js';
import type { Task } from '../../workflows/contracts/run-spec.js';

export interface TrainingProgressView {
  stage: 'train';
  phase: TrainingProgress['phase'];
  /** Boosting rounds (GBDT) or Newton iterations (linear) done so far, and how many at most. */
  iteration: number;
  total: number;
  unit: 'trees' | 'iterations';
  rowsLoaded: number | null;
  /** The best validation loss so far (lower is better) and the iteration it was reached at. */
  validMetric: { name: string; best: number | null; bestIteration: number };
  resumedFromIteration: number | null;
  attempt: number;
  lastHeartbeatAt: string | null;
}

const DESCRIBE_DEADLINE_MS = 2_000;

/** The training's last heartbeat, or null when nothing trains now (or Temporal does not answer in time). */
export async function readTrainingProgress(
  client: Client,
  workflowId: string,
  run: { task: Task; trainerKind: string },
): Promise<TrainingProgressView | null> {
  const describe = client.workflow.getHandle(workflowId).describe();
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), DESCRIBE_DEADLINE_MS).unref());
  const description = await Promise.race([describe, timeout]).catch(() => null);
  const pending = description?.raw.pendingActivities?.find((activity) => activity.activityType?.name === 'trainModel');
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (!pending || !payload) return null;
  let details: Partial<TrainingProgress>;
  try {
    details = defaultPayloadConverter.fromPayload<Partial<TrainingProgress>>(payload);
  } catch {
    return null;
  }
  if (details === null || typeof details !== 'object' || typeof details.iteration !== 'number') return null;
  const heartbeat = pending.lastHeartbeatTime?.seconds;
  return {
    stage: 'train',
    phase: details.phase ?? 'training',
    iteration: details.iteration,
    total: details.numIterations ?? 0,
    unit: run.trainerKind === 'linear' ? 'iterations' : 'trees',
    rowsLoaded: details.rowsLoaded ?? null,
    validMetric: { name: metricName(run.task), best: details.bestValidMetric ?? null, bestIteration: details.bestIteration ?? 0 },
    resumedFromIteration: details.resumedFromIteration ?? null,
    attempt: pending.attempt ?? 1,
    lastHeartbeatAt: heartbeat != null ? new Date(Number(heartbeat) * 1000).toISOString() : null,
  };
}
