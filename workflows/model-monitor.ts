// monitor/<model>: long-running, one per model; learns of each deployment and keeps the model's serving history.
// Drift and performance reports (the wake-up interval's work) belong to the monitoring issue.
import { condition, continueAsNew, setHandler } from '@temporalio/workflow';
import type { NotifyMonitorInput } from './contracts/pipeline-activities.js';
import { monitorStateQuery, versionDeployedSignal, type MonitorInput, type MonitorState } from './monitor-messages.js';

/** Keep histories short: start afresh after this many deployments. */
const DEPLOYMENTS_PER_RUN = 100;
const HISTORY_KEPT = 20;

export async function modelMonitor(input: MonitorInput): Promise<void> {
  const state: MonitorState = input.state ?? { model: input.model, productionVersion: null, deployments: [] };
  const inbox: NotifyMonitorInput[] = [];
  let handled = 0;
  setHandler(monitorStateQuery, () => state);
  setHandler(versionDeployedSignal, (event) => void inbox.push(event));

  while (handled < DEPLOYMENTS_PER_RUN) {
    await condition(() => inbox.length > 0);
    const event = inbox.shift()!;
    state.productionVersion = event.version;
    state.deployments.push({ version: event.version, runId: event.runId, at: new Date().toISOString() });
    state.deployments = state.deployments.slice(-HISTORY_KEPT);
    handled++;
  }
  // Signals that arrived during the last iteration are carried over rather than dropped.
  for (const event of inbox) {
    state.productionVersion = event.version;
    state.deployments.push({ version: event.version, runId: event.runId, at: new Date().toISOString() });
  }
  await continueAsNew<typeof modelMonitor>({ model: input.model, state });
}
