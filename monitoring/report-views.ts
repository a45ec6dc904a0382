// Monitoring reports as the API shows them.
import type { MonitoringReportRow } from '../db/schema.js';
import type { MonitoringReportBody, RetrainDecision } from './compute-report.js';

export interface MonitoringReportSummaryView {
  id: string;
  version: number;
  windowStart: string;
  windowEnd: string;
  verdict: string;
  driftDetected: boolean;
  summary: string;
  rows: number;
  retrain: RetrainDecision | null;
  /** The retraining run this report started, if any. */
  retrainRunId: string | null;
  createdAt: string;
}

export function monitoringReportSummaryView(row: MonitoringReportRow): MonitoringReportSummaryView {
  const body = row.report as Partial<MonitoringReportBody>;
  return {
    id: row.id,
    version: row.version,
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    verdict: row.verdict,
    driftDetected: row.driftDetected,
    summary: body.summary ?? row.verdict,
    rows: row.rows,
    retrain: (row.retrain as RetrainDecision | null) ?? null,
    retrainRunId: row.retrainRunId,
    createdAt: row.createdAt.toISOString(),
  };
}

export function monitoringReportView(row: MonitoringReportRow): MonitoringReportSummaryView & { report: unknown } {
  return { ...monitoringReportSummaryView(row), report: row.report };
}
