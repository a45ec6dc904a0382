// Task queues the workers poll; training has its own so it scales (and fails) apart from the rest.
export const TASK_QUEUES = {
  pipeline: 'pipeline',
  training: 'training',
} as const;
export type TaskQueueName = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];
