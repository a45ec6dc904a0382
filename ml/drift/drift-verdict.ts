// The monitoring policy's decision for one window: drift, no drift, or not enough data to say.

export interface DriftThresholds {
  /** A feature with PSI at or above this is a breach on its own (default 0.25). */
  psi: number;
  /** PSI level that counts a feature as moderately drifted (default 0.1). */
  psiModerate: number;
  /** Breach when at least this share of the features is moderately drifted (default 0.5). */
  driftShare: number;
  /** Breach when live AUC (multiclass: accuracy) is below the evaluation's by more than this (default 0.05). */
  metricDrop: number;
  /** Breach when live RMSE exceeds the evaluation RMSE by more than this fraction (default 0.1). */
  rmseIncrease: number;
}

export interface DriftPolicy {
  /** Fewer live rows than this: "not enough data", never "no drift" (default 500). */
  minRows: number;
  /** Performance is judged only with at least this many labelled rows (default 200). */
  minLabels: number;
  thresholds: DriftThresholds;
}

export const DEFAULT_DRIFT_POLICY: DriftPolicy = {
  minRows: 500,
  minLabels: 200,
  thresholds: { psi: 0.25, psiModerate: 0.1, driftShare: 0.5, metricDrop: 0.05, rmseIncrease: 0.1 },
};

/** A partial policy as set by ops, completed with the defaults. */
export function driftPolicyWithDefaults(policy: { minRows?: number; minLabels?: number; thresholds?: Partial<DriftThresholds> } = {}): DriftPolicy {
  return {
    minRows: policy.minRows ?? DEFAULT_DRIFT_POLICY.minRows,
    minLabels: policy.minLabels ?? DEFAULT_DRIFT_POLICY.minLabels,
    thresholds: { ...DEFAULT_DRIFT_POLICY.thresholds, ...policy.thresholds },
  };
}

export interface VerdictInput {
  /** Live rows (predictions) in the window. */
  rows: number;
  /** Each monitored feature's PSI (null when it could not be computed, e.g. all values missing). */
  features: ReadonlyArray<{ name: string; psi: number | null }>;
  /** Live performance over the window's labelled rows, when labels have arrived. */
  live?: { labelled: number; auc?: number | null; rmse?: number | null; accuracy?: number | null };
  /** The production version's evaluation metrics (accuracy only for multiclass models). */
  evaluation?: { auc?: number | null; rmse?: number | null; accuracy?: number | null };
}

export type Breach =
  | { kind: 'feature_psi'; feature: string; psi: number; threshold: number; reason: string }
  | { kind: 'feature_share'; features: string[]; share: number; threshold: number; psiModerate: number; reason: string }
  | { kind: 'auc_drop'; liveAuc: number; evaluationAuc: number; drop: number; threshold: number; labelled: number; reason: string }
  | { kind: 'rmse_increase'; liveRmse: number; evaluationRmse: number; increase: number; threshold: number; labelled: number; reason: string }
  | { kind: 'accuracy_drop'; liveAccuracy: number; evaluationAccuracy: number; drop: number; threshold: number; labelled: number; reason: string };

export interface DriftVerdict {
  status: 'drift' | 'no_drift' | 'not_enough_data';
  /** One line for the report and the model page. */
  summary: string;
  breaches: Breach[];
  /** Checks that could not run and why (too few labels, no evaluation metric, features without PSI). */
  skipped: string[];
}

const round = (value: number): string => (Math.round(value * 1e4) / 1e4).toString();

/**
 * The default monitoring policy of issue 9: drift when any feature's PSI ≥ thresholds.psi, or at least
 * thresholds.driftShare of the features (with a PSI) have PSI ≥ thresholds.psiModerate, or — with at least
 * minLabels labelled rows — live AUC is below the evaluation AUC by more than metricDrop, or live RMSE is above the
 * evaluation RMSE by more than rmseIncrease (relative). Below minRows rows the verdict is "not enough data".
 */
export function driftVerdict(input: VerdictInput, policy: DriftPolicy = DEFAULT_DRIFT_POLICY): DriftVerdict {
  const { thresholds } = policy;
  if (input.rows < policy.minRows) {
    return {
      status: 'not_enough_data',
      summary: `not enough data: ${input.rows} rows in the window, the policy needs ${policy.minRows}`,
      breaches: [],
      skipped: [],
    };
  }
  const breaches: Breach[] = [];
  const skipped: string[] = [];
  const scored = input.features.filter((feature): feature is { name: string; psi: number } => feature.psi !== null);
  for (const feature of input.features) if (feature.psi === null) skipped.push(`feature ${feature.name}: no PSI (no values on one side)`);
  for (const feature of scored) {
    if (feature.psi >= thresholds.psi) {
      breaches.push({
        kind: 'feature_psi', feature: feature.name, psi: feature.psi, threshold: thresholds.psi,
        reason: `${feature.name}: PSI ${round(feature.psi)} ≥ ${thresholds.psi}`,
      });
    }
  }
  if (scored.length > 0) {
    const moderate = scored.filter((feature) => feature.psi >= thresholds.psiModerate).map((feature) => feature.name);
    const share = moderate.length / scored.length;
    if (moderate.length > 0 && share >= thresholds.driftShare) {
      breaches.push({
        kind: 'feature_share', features: moderate, share, threshold: thresholds.driftShare, psiModerate: thresholds.psiModerate,
        reason: `${moderate.length} of ${scored.length} features have PSI ≥ ${thresholds.psiModerate} (${moderate.join(', ')}), at least ${thresholds.driftShare * 100}% of them`,
      });
    }
  }
  performanceBreaches(input, policy, breaches, skipped);
  const status = breaches.length > 0 ? 'drift' : 'no_drift';
  const summary = status === 'drift' ? `drift: ${breaches.map((breach) => breach.reason).join('; ')}` : `no drift over ${input.rows} rows`;
  return { status, summary, breaches, skipped };
}

function performanceBreaches(input: VerdictInput, policy: DriftPolicy, breaches: Breach[], skipped: string[]): void {
  const { thresholds } = policy;
  const live = input.live;
  const labelled = live?.labelled ?? 0;
  const wantsAuc = live?.auc != null || input.evaluation?.auc != null;
  const wantsRmse = live?.rmse != null || input.evaluation?.rmse != null;
  const wantsAccuracy = live?.accuracy != null || input.evaluation?.accuracy != null;
  if (!wantsAuc && !wantsRmse && !wantsAccuracy) return;
  if (labelled < policy.minLabels) {
    skipped.push(`performance: ${labelled} labelled rows, the policy needs ${policy.minLabels}`);
    return;
  }
  if (wantsAuc) {
    const liveAuc = live?.auc;
    const evaluationAuc = input.evaluation?.auc;
    if (liveAuc == null || evaluationAuc == null) skipped.push('auc: live or evaluation AUC unavailable');
    else if (evaluationAuc - liveAuc > thresholds.metricDrop) {
      breaches.push({
        kind: 'auc_drop', liveAuc, evaluationAuc, drop: evaluationAuc - liveAuc, threshold: thresholds.metricDrop, labelled,
        reason: `live AUC ${round(liveAuc)} is ${round(evaluationAuc - liveAuc)} below the evaluation's ${round(evaluationAuc)} (> ${thresholds.metricDrop}) over ${labelled} labels`,
      });
    }
  }
  if (wantsAccuracy) {
    const liveAccuracy = live?.accuracy;
    const evaluationAccuracy = input.evaluation?.accuracy;
    if (liveAccuracy == null || evaluationAccuracy == null) skipped.push('accuracy: live or evaluation accuracy unavailable');
    else if (evaluationAccuracy - liveAccuracy > thresholds.metricDrop) {
      breaches.push({
        kind: 'accuracy_drop', liveAccuracy, evaluationAccuracy, drop: evaluationAccuracy - liveAccuracy, threshold: thresholds.metricDrop, labelled,
        reason: `live accuracy ${round(liveAccuracy)} is ${round(evaluationAccuracy - liveAccuracy)} below the evaluation's ${round(evaluationAccuracy)} (> ${thresholds.metricDrop}) over ${labelled} labels`,
      });
    }
  }
  if (wantsRmse) {
    const liveRmse = live?.rmse;
    const evaluationRmse = input.evaluation?.rmse;
    if (liveRmse == null || evaluationRmse == null) skipped.push('rmse: live or evaluation RMSE unavailable');
    else if (liveRmse > evaluationRmse * (1 + thresholds.rmseIncrease)) {
      const increase = evaluationRmse > 0 ? liveRmse / evaluationRmse - 1 : Number.POSITIVE_INFINITY;
      breaches.push({
        kind: 'rmse_increase', liveRmse, evaluationRmse, increase, threshold: thresholds.rmseIncrease, labelled,
        reason: `live RMSE ${round(liveRmse)} is ${Number.isFinite(increase) ? `${round(increase * 100)}%` : 'infinitely'} above the evaluation's ${round(evaluationRmse)} (> ${thresholds.rmseIncrease * 100}%) over ${labelled} labels`,
      });
    }
  }
}
