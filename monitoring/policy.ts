// The monitoring policy of one model: how often to look, how much data a verdict needs, what counts as a breach,
// and whether (and how often) a breach starts a retraining run. Ops set it; absent fields take the defaults.
import { driftPolicyWithDefaults, type DriftPolicy, type DriftThresholds } from '../ml/drift/index.js';
import { durationToMs } from './duration.js';

/** What ops send (PUT /v1/models/:name/monitoring) and what is stored. */
export interface MonitoringPolicyInput {
  interval?: string | number;
  minRows?: number;
  minLabels?: number;
  thresholds?: Partial<DriftThresholds>;
  cooldown?: string | number;
  retrain?: { enabled?: boolean };
}

/** The policy with every default filled in and durations in milliseconds. */
export interface MonitoringPolicy {
  intervalMs: number;
  minRows: number;
  minLabels: number;
  thresholds: DriftThresholds;
  cooldownMs: number;
  retrain: { enabled: boolean };
}

export const DEFAULT_INTERVAL_MS = 60 * 60 * 1000;
export const DEFAULT_COOLDOWN_MS = 24 * 60 * 60 * 1000;
/**
 * Longest interval or cooldown ops may set: the interval becomes the monitor's Temporal timer, which refuses a
 * duration past its range (the workflow task would fail on every retry), and a longer wait is a typo.
 */
export const MAX_POLICY_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

export function monitoringPolicyWithDefaults(input: MonitoringPolicyInput = {}): MonitoringPolicy {
  const drift = driftPolicyWithDefaults({ minRows: input.minRows, minLabels: input.minLabels, thresholds: input.thresholds });
  return {
    // The API refuses longer ones; a policy stored before it did must still not hand the monitor a timer Temporal refuses.
    intervalMs: input.interval === undefined ? DEFAULT_INTERVAL_MS : Math.min(durationToMs(input.interval), MAX_POLICY_DURATION_MS),
    minRows: drift.minRows,
    minLabels: drift.minLabels,
    thresholds: drift.thresholds,
    cooldownMs: input.cooldown === undefined ? DEFAULT_COOLDOWN_MS : Math.min(durationToMs(input.cooldown), MAX_POLICY_DURATION_MS),
    retrain: { enabled: input.retrain?.enabled ?? true },
  };
}

export function driftPolicyOf(policy: MonitoringPolicy): DriftPolicy {
  return { minRows: policy.minRows, minLabels: policy.minLabels, thresholds: policy.thresholds };
}
