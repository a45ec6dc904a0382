// The model monitor's messages: each deployment is signalled to `monitor/<model>`; its state is queryable.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { NotifyMonitorInput } from './contracts/pipeline-activities.js';

export interface MonitorState {
  model: string;
  productionVersion: number | null;
  deployments: { version: number; runId: string; at: string }[];
}

export interface MonitorInput {
  model: string;
  /** Carried across continue-as-new. */
  state?: MonitorState;
}

export const versionDeployedSignal = defineSignal<[NotifyMonitorInput]>('versionDeployed');
export const monitorStateQuery = defineQuery<MonitorState>('monitorState');
