// The monitor's activities: tell the monitor of a deployment (pipeline), report on a window, start a retrain.
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Db } from '../db/client.js';
import { computeMonitoringReport, monitoringIntervalOf } from '../monitoring/compute-report.js';
import { signalVersionDeployed } from '../monitoring/monitor-client.js';
import { startRetrain } from '../monitoring/retrain.js';
import type {
  ComputeMonitoringReportInput,
  ComputeMonitoringReportResult,
  ModelMonitorActivities,
  StartRetrainInput,
  StartRetrainResult,
} from '../workflows/contracts/monitor-activities.js';
import type { NotifyMonitorInput } from '../workflows/contracts/pipeline-activities.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';

export function createMonitorActivities({ client, taskQueue = TASK_QUEUES.pipeline }: { client: Client; taskQueue?: string }) {
  return {
    async notifyMonitor(input: NotifyMonitorInput): Promise<void> {
      await signalVersionDeployed(client, input, taskQueue);
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;

export interface MonitoringActivityDeps {
  db: Db;
  pool: pg.Pool;
  client: Client;
  /** Where retraining pipelines run (default `pipeline`). */
  taskQueue?: string;
  /** Training queue of retraining pipelines, when not the default. */
  trainingTaskQueue?: string;
}

export function createMonitoringActivities(deps: MonitoringActivityDeps) {
  return {
    async monitoringInterval(input: { model: string }): Promise<number> {
      return monitoringIntervalOf(deps.db, input.model);
    },
    async computeMonitoringReport(input: ComputeMonitoringReportInput): Promise<ComputeMonitoringReportResult> {
      return computeMonitoringReport({ db: deps.db, pool: deps.pool }, input);
    },
    async startRetrain(input: StartRetrainInput): Promise<StartRetrainResult> {
      return startRetrain(
        { db: deps.db, client: deps.client, taskQueue: deps.taskQueue, trainingTaskQueue: deps.trainingTaskQueue },
        input,
      );
    },
  } satisfies ModelMonitorActivities;
}

export type MonitoringActivities = ReturnType<typeof createMonitoringActivities>;
