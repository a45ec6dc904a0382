// The model monitor's messages: deployments, rollbacks, reverts and policy changes are signalled to
// `monitor/<model>`; its state is queryable.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { MonitoringVerdict } from './contracts/monitor-activities.js';
import type { NotifyMonitorInput } from './contracts/pipeline-activities.js';

/** One report the monitor made, as the state query shows it. */
export interface MonitorReportSummary {
  reportId: string | null;
  version: number | null;
  verdict: MonitoringVerdict;
  summary: string;
  windowStart: string;
  windowEnd: string;
  rows: number;
}

export interface MonitorState {
  model: string;
  productionVersion: number | null;
  deployments: { version: number | null; runId: string | null; at: string; action?: 'deploy' | 'rollback' | 'revert' }[];
  /** Reporting monitors only (patch `monitor-reports`): the interval now in force (ms). */
  intervalMs?: number;
  /** End of the last reported window: the next window starts here. */
  lastWindowEnd?: string | null;
  /** When the monitor last started a retraining run (the cooldown counts from here). */
  lastRetrainAt?: string | null;
  lastRetrain?: { runId: string; workflowId: string; at: string } | null;
  lastReport?: MonitorReportSummary | null;
  /** Reports made over the monitor's whole life (across continue-as-new). */
  ticks?: number;
}

export interface MonitorInput {
  model: string;
  /** Carried across continue-as-new. */
  state?: MonitorState;
  /** Ticks before continuing as new (default 500, or earlier when Temporal suggests it); tests set a small one. */
  ticksPerRun?: number;
}

/** A change of the production alias that was not a pipeline deploy: an ops rollback or a failed-smoke revert. */
export interface ProductionChange {
  model: string;
  /** The version now in production; null when a revert left the model without one. */
  version: number | null;
  action: 'rollback' | 'revert';
  runId: string | null;
  actor: string;
}

export interface MonitoringPolicyChange {
  model: string;
  intervalMs: number;
}

export const versionDeployedSignal = defineSignal<[NotifyMonitorInput]>('versionDeployed');
export const productionChangedSignal = defineSignal<[ProductionChange]>('productionChanged');
export const monitoringPolicyChangedSignal = defineSignal<[MonitoringPolicyChange]>('monitoringPolicyChanged');
export const monitorStateQuery = defineQuery<MonitorState>('monitorState');
