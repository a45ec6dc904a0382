// The monitor's history stays bounded: on the real Temporal dev server (no time-skipping binary here), a monitor
// ticking every millisecond for 1,000 ticks continues as new every `ticksPerRun` ticks, each run's history stays
// small, and its state (production version, the last retrain, the tick count) carries over from run to run.
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../workers/workflow-bundle.js';
import type {
  ComputeMonitoringReportInput,
  ComputeMonitoringReportResult,
  ModelMonitorActivities,
  StartRetrainInput,
  StartRetrainResult,
} from '../workflows/contracts/monitor-activities.js';
import { monitorStateQuery, versionDeployedSignal, type MonitorState } from '../workflows/monitor-messages.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { keepHistory } from './support/keep-history.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [temporal, bundle] = await Promise.all([connectTestTemporal(), bundleWorkflowCode({ workflowsPath })]);
});

afterAll(async () => {
  await temporal?.close();
});

const TICKS = 1_000;
const TICKS_PER_RUN = 50;
const RETRAIN_AT_TICK = 480;
/** Temporal's own warning threshold is 10,240 events; a monitor run must stay far below it. */
const MAX_EVENTS_PER_RUN = 10_000;

/**
 * The monitor's activity contract with in-memory results: this test is about the workflow's history, so each
 * report is instant and says "no drift" (interval 1 ms), except one breach that starts a retrain. The activities
 * themselves are tested on Postgres in model-monitor-drift.test.ts.
 */
function instantMonitoringActivities() {
  const calls: ComputeMonitoringReportInput[] = [];
  const retrains: StartRetrainInput[] = [];
  const activities: ModelMonitorActivities = {
    async monitoringInterval() {
      return 1;
    },
    async computeMonitoringReport(input): Promise<ComputeMonitoringReportResult> {
      calls.push(input);
      const breach = calls.length === RETRAIN_AT_TICK;
      return {
        reportId: null,
        version: 3,
        verdict: breach ? 'drift' : 'no_drift',
        summary: breach ? 'drift on x' : 'no drift',
        rows: 1000,
        intervalMs: 1,
        cooldownMs: 24 * 60 * 60 * 1000,
        retrainDue: breach,
      };
    },
    async startRetrain(input): Promise<StartRetrainResult> {
      retrains.push(input);
      return { started: true, runId: `retrain-run-${retrains.length}`, workflowId: `retrain/${input.model}/${retrains.length}`, reason: 'drift' };
    },
  };
  return { activities, calls, retrains };
}

type WorkflowHistory = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

interface RunSummary {
  runId: string;
  events: number;
  reports: number;
  retrains: number;
  continuedAsNew: boolean;
}

/** Follows the chain of runs from the first one, through each continue-as-new, to the run that is still open. */
async function runChain(workflowId: string, firstRunId: string): Promise<RunSummary[]> {
  const chain: RunSummary[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: WorkflowHistory = await temporal.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = (type: string) => events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
    const reports = scheduled('computeMonitoringReport');
    const retrains = scheduled('startRetrain');
    const next: string | null | undefined = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    chain.push({ runId, events: events.length, reports, retrains, continuedAsNew: Boolean(next) });
    runId = next ?? undefined;
  }
  return chain;
}

describe('model monitor history', () => {
  it(
    `when a monitor ticks ${TICKS} times, then it continues as new every ${TICKS_PER_RUN} ticks, no run's history passes ${MAX_EVENTS_PER_RUN} events, and its state carries over`,
    async () => {
      const model = uniqueName('bounded');
      const workflowId = monitorWorkflowId(model);
      const taskQueue = uniqueName('monitor-history');
      const { activities, calls, retrains } = instantMonitoringActivities();
      const worker = await Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities });

      const { chain, state } = await worker.runUntil(async () => {
        const handle = await temporal.client.workflow.signalWithStart('modelMonitor', {
          workflowId,
          taskQueue,
          args: [{ model, ticksPerRun: TICKS_PER_RUN }],
          signal: versionDeployedSignal,
          signalArgs: [{ model, version: 3, runId: 'run-3' }],
        });
        const monitor = temporal.client.workflow.getHandle(workflowId);
        try {
          let state: MonitorState = await monitor.query(monitorStateQuery);
          while ((state.ticks ?? 0) < TICKS) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            state = await monitor.query(monitorStateQuery);
          }
          await monitor.terminate('test done');
          return { chain: await runChain(workflowId, handle.signaledRunId), state };
        } finally {
          await monitor.terminate('test cleanup').catch(() => undefined);
        }
      });

      // Bounded: many short runs, each far below Temporal's limit.
      expect(chain.length).toBeGreaterThanOrEqual(TICKS / TICKS_PER_RUN);
      for (const run of chain) expect(run.events).toBeLessThan(MAX_EVENTS_PER_RUN);
      for (const run of chain.slice(0, -1)) {
        expect(run.continuedAsNew).toBe(true);
        expect(run.reports).toBeLessThanOrEqual(TICKS_PER_RUN);
      }
      // Every report the activities made is in exactly one run's history; the terminate may leave the last one
      // scheduled but never run.
      const scheduled = chain.reduce((sum, run) => sum + run.reports, 0);
      expect(scheduled - calls.length).toBeGreaterThanOrEqual(0);
      expect(scheduled - calls.length).toBeLessThanOrEqual(1);

      // State carried over: the version deployed in the first run, the retrain started in a middle run, the tick count.
      expect(state.productionVersion).toBe(3);
      expect(state.deployments).toHaveLength(1);
      expect(retrains).toHaveLength(1);
      expect(state.lastRetrain).toEqual({ runId: 'retrain-run-1', workflowId: `retrain/${model}/1`, at: retrains[0]!.windowEnd });
      expect(state.ticks).toBeGreaterThanOrEqual(TICKS);
      // Windows abut across runs, and the cooldown's start reaches every later report.
      for (let i = 1; i < calls.length; i++) expect(calls[i]!.windowStart).toBe(calls[i - 1]!.windowEnd);
      expect(calls.slice(RETRAIN_AT_TICK).every((call) => call.lastRetrainAt === retrains[0]!.windowEnd)).toBe(true);
      // `KEEL_RECORD_HISTORIES=1` records the run that started the retrain as a replay fixture of the reporting monitor.
      const retrainRun = chain.find((run) => run.retrains > 0)!;
      expect(retrainRun.continuedAsNew).toBe(true);
      await keepHistory('monitor-reports-retrain', temporal.client.workflow.getHandle(workflowId, retrainRun.runId));
      console.info(`monitor history: ${calls.length} ticks in ${chain.length} runs, at most ${Math.max(...chain.map((run) => run.events))} events per run`);
    },
    180_000,
  );
});
