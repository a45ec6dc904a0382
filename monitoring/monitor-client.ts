// Telling a model's monitor about production changes and policy changes, from activities and the API.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { NotifyMonitorInput } from '../workflows/contracts/pipeline-activities.js';
import {
  monitoringPolicyChangedSignal,
  productionChangedSignal,
  versionDeployedSignal,
  type MonitoringPolicyChange,
  type ProductionChange,
} from '../workflows/monitor-messages.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';

/** A pipeline deployed a version. Signal-with-start is atomic: exactly one monitor per model, started on its first deployment. */
export async function signalVersionDeployed(client: Client, input: NotifyMonitorInput, taskQueue: string = TASK_QUEUES.pipeline): Promise<void> {
  await client.workflow.signalWithStart('modelMonitor', {
    workflowId: monitorWorkflowId(input.model),
    taskQueue,
    args: [{ model: input.model }],
    signal: versionDeployedSignal,
    signalArgs: [input],
  });
}

/** Production moved without a deploy (rollback, smoke revert): the monitor must follow it. */
export async function signalProductionChanged(client: Client, change: ProductionChange, taskQueue: string = TASK_QUEUES.pipeline): Promise<void> {
  await client.workflow.signalWithStart('modelMonitor', {
    workflowId: monitorWorkflowId(change.model),
    taskQueue,
    args: [{ model: change.model }],
    signal: productionChangedSignal,
    signalArgs: [change],
  });
}

/** A new policy interval takes effect now rather than after the current sleep; no monitor yet → nothing to tell. */
export async function signalMonitoringPolicyChanged(client: Client, change: MonitoringPolicyChange): Promise<boolean> {
  try {
    await client.workflow.getHandle(monitorWorkflowId(change.model)).signal(monitoringPolicyChangedSignal, change);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
