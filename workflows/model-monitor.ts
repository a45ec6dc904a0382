// monitor/<model>: long-running, one per model. Learns of every production change (deploy, rollback, smoke
// revert), wakes every policy interval to report on the window's logged predictions and feedback, and starts a
// retraining run on a breach (never inside the cooldown). Continues as new before its history grows.
import {
  ActivityFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ModelMonitorActivities } from './contracts/monitor-activities.js';
import type { NotifyMonitorInput } from './contracts/pipeline-activities.js';
import {
  monitoringPolicyChangedSignal,
  monitorStateQuery,
  productionChangedSignal,
  versionDeployedSignal,
  type MonitorInput,
  type MonitorState,
  type ProductionChange,
} from './monitor-messages.js';

/** Keep histories short: start afresh after this many deployments (or production changes, for reporting monitors). */
const DEPLOYMENTS_PER_RUN = 100;
const HISTORY_KEPT = 20;
/** Reporting monitors continue as new after this many ticks (each tick is a timer and one or two activities). */
const TICKS_PER_RUN = 500;
/** Until the first report tells the policy's interval: the default (1 h). */
const DEFAULT_INTERVAL_MS = 60 * 60 * 1000;

const monitoring = proxyActivities<ModelMonitorActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5 },
});

export async function modelMonitor(input: MonitorInput): Promise<void> {
  // Monitors recorded before reports existed replay the deployment-only loop.
  if (patched('monitor-reports')) return reportingMonitor(input);
  return deploymentOnlyMonitor(input);
}

async function deploymentOnlyMonitor(input: MonitorInput): Promise<void> {
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
    // A monitor from before reports upgrades itself on its next deployment (a fresh run takes the reporting loop).
    if (patched('monitor-reports-upgrade')) break;
  }
  // Signals that arrived during the last iteration are carried over rather than dropped.
  for (const event of inbox) {
    state.productionVersion = event.version;
    state.deployments.push({ version: event.version, runId: event.runId, at: new Date().toISOString() });
  }
  await continueAsNew<typeof modelMonitor>({ model: input.model, state });
}

type ProductionEvent = { kind: 'deploy'; event: NotifyMonitorInput } | { kind: 'change'; event: ProductionChange };

async function reportingMonitor(input: MonitorInput): Promise<void> {
  const state: MonitorState = input.state ?? { model: input.model, productionVersion: null, deployments: [] };
  state.lastWindowEnd ??= null;
  state.lastRetrainAt ??= null;
  state.lastRetrain ??= null;
  state.lastReport ??= null;
  state.ticks ??= 0;
  const ticksPerRun = input.ticksPerRun ?? TICKS_PER_RUN;
  let woken = false;
  let intervalChanged = false;
  /** Production changes signalled to this run: a burst of them must not grow one history without bound either. */
  let changesThisRun = 0;

  // Production changes apply at once (the state query shows them even while a report runs).
  const apply = (item: ProductionEvent) => {
    const at = new Date().toISOString();
    state.productionVersion = item.event.version;
    state.deployments.push(
      item.kind === 'deploy'
        ? { version: item.event.version, runId: item.event.runId, at, action: 'deploy' }
        : { version: item.event.version, runId: item.event.runId, at, action: item.event.action },
    );
    state.deployments = state.deployments.slice(-HISTORY_KEPT);
    changesThisRun++;
    woken = true;
  };
  setHandler(monitorStateQuery, () => state);
  setHandler(versionDeployedSignal, (event) => apply({ kind: 'deploy', event }));
  setHandler(productionChangedSignal, (event) => apply({ kind: 'change', event }));
  setHandler(monitoringPolicyChangedSignal, (change) => {
    state.intervalMs = change.intervalMs;
    intervalChanged = true;
  });

  const nextTickAt = () => (state.lastWindowEnd == null ? workflowInfo().runStartTime.getTime() : Date.parse(state.lastWindowEnd)) + state.intervalMs!;

  if (state.intervalMs === undefined) {
    // A fresh monitor sleeps the interval ops already set, not the default.
    state.intervalMs = await monitoring.monitoringInterval({ model: input.model }).catch(() => DEFAULT_INTERVAL_MS);
  }
  let ticks = 0;
  while (ticks < ticksPerRun && changesThisRun < DEPLOYMENTS_PER_RUN && !workflowInfo().continueAsNewSuggested) {
    const wait = nextTickAt() - Date.now();
    if (wait > 0) {
      // A production change or a new interval wakes the monitor early; the window still ends on the tick.
      woken = false;
      await condition(() => woken || intervalChanged, wait);
      if (intervalChanged || Date.now() < nextTickAt()) {
        intervalChanged = false;
        continue;
      }
    }
    await tick();
    ticks++;
  }
  await continueAsNew<typeof modelMonitor>({ model: input.model, state, ...(input.ticksPerRun ? { ticksPerRun: input.ticksPerRun } : {}) });

  async function tick(): Promise<void> {
    const now = Date.now();
    const windowEnd = new Date(now).toISOString();
    const windowStart = state.lastWindowEnd ?? new Date(now - state.intervalMs!).toISOString();
    state.lastWindowEnd = windowEnd;
    state.ticks = (state.ticks ?? 0) + 1;
    if (state.productionVersion === null) return;
    try {
      const report = await monitoring.computeMonitoringReport({
        model: state.model,
        windowStart,
        windowEnd,
        lastRetrainAt: state.lastRetrainAt ?? null,
      });
      state.intervalMs = report.intervalMs;
      state.lastReport = {
        reportId: report.reportId,
        version: report.version,
        verdict: report.verdict,
        summary: report.summary,
        windowStart,
        windowEnd,
        rows: report.rows,
      };
      if (!report.retrainDue) return;
      const retrain = await monitoring.startRetrain({ model: state.model, windowEnd, reportId: report.reportId });
      if (retrain.started && retrain.runId && retrain.workflowId) {
        state.lastRetrainAt = windowEnd;
        state.lastRetrain = { runId: retrain.runId, workflowId: retrain.workflowId, at: windowEnd };
      }
    } catch (error) {
      // A window that cannot be reported must not stop the monitor: the next tick tries the next window.
      if (!(error instanceof ActivityFailure)) throw error;
      log.warn('monitoring tick failed', { model: state.model, windowEnd, error: error.message });
    }
  }
}
