// The activities the model monitor calls, with their inputs and results (activities/monitor-activities.ts
// implements them). Types only: the workflow proxies these, the pipeline worker registers the implementations.

/** How one monitoring tick ended; the database's check constraint holds the reported ones. */
export const MONITORING_VERDICTS = ['drift', 'no_drift', 'not_enough_data', 'no_reference', 'no_production_version', 'no_model'] as const;
export type MonitoringVerdict = (typeof MONITORING_VERDICTS)[number];

/** The verdicts a stored report can carry (the other two store nothing). */
export const REPORT_VERDICTS = ['drift', 'no_drift', 'not_enough_data', 'no_reference'] as const satisfies readonly MonitoringVerdict[];
export type ReportVerdict = (typeof REPORT_VERDICTS)[number];

export interface ComputeMonitoringReportInput {
  model: string;
  windowStart: string;
  windowEnd: string;
  /** When the monitor last started a retrain (for the cooldown); null if never. */
  lastRetrainAt: string | null;
}

export interface ComputeMonitoringReportResult {
  /** Null when nothing was reported (unknown model, no production version). */
  reportId: string | null;
  version: number | null;
  verdict: MonitoringVerdict;
  summary: string;
  rows: number;
  /** The policy now in force, so the monitor sleeps the interval ops set. */
  intervalMs: number;
  cooldownMs: number;
  /** A breach with retraining enabled and outside the cooldown: the monitor should start a retrain now. */
  retrainDue: boolean;
}

export interface StartRetrainInput {
  model: string;
  windowEnd: string;
  reportId: string | null;
}

export interface StartRetrainResult {
  started: boolean;
  runId: string | null;
  workflowId: string | null;
  reason: string;
}

/** The activities the monitor workflow calls (activities/monitor-activities.ts). */
export interface ModelMonitorActivities {
  /** The policy's interval (ms), read when a monitor starts fresh. */
  monitoringInterval(input: { model: string }): Promise<number>;
  computeMonitoringReport(input: ComputeMonitoringReportInput): Promise<ComputeMonitoringReportResult>;
  startRetrain(input: StartRetrainInput): Promise<StartRetrainResult>;
}
