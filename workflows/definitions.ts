// Shared names and message definitions: the API, workers and tests import these, never workflow bodies.
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
