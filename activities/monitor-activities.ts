// Starts the model's monitor workflow, or tells the running one about a new production version.
import type { Client } from '@temporalio/client';
import type { NotifyMonitorInput } from '../workflows/contracts/pipeline-activities.js';
import { versionDeployedSignal } from '../workflows/monitor-messages.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';

export function createMonitorActivities({ client, taskQueue = TASK_QUEUES.pipeline }: { client: Client; taskQueue?: string }) {
  return {
    async notifyMonitor(input: NotifyMonitorInput): Promise<void> {
      // Signal-with-start is atomic: exactly one monitor per model, started on its first deployment.
      await client.workflow.signalWithStart('modelMonitor', {
        workflowId: monitorWorkflowId(input.model),
        taskQueue,
        args: [{ model: input.model }],
        signal: versionDeployedSignal,
        signalArgs: [input],
      });
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
