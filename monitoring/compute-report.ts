// One monitoring window of one model: aggregate its logged predictions (per-minute rollups, raw rows where those
// are incomplete) and feedback in Postgres, compare with the production version's training reference (ml/drift),
// decide per the model's policy, store the report.
import type pg from 'pg';
import type { Db } from '../db/client.js';
import { getAliasVersion, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { getMonitoringPolicy } from '../db/repositories/monitoring-policies.js';
import { getMonitoringReference } from '../db/repositories/monitoring-references.js';
import { saveMonitoringReport } from '../db/repositories/monitoring-reports.js';
import {
  binaryPerformanceFromSummary,
  driftVerdict,
  featureDrift,
  latencyPercentilesFromHistogram,
  multiclassPerformanceFromSummary,
  predictionDrift,
  regressionPerformanceFromSummary,
  type BinaryPerformance,
  type DriftVerdict,
  type FeatureDrift,
  type LatencyPercentiles,
  type MulticlassPerformance,
  type RegressionPerformance,
} from '../ml/drift/index.js';
import { driftPolicyOf, monitoringPolicyWithDefaults, type MonitoringPolicy, type MonitoringPolicyInput } from './policy.js';
import type { ComputeMonitoringReportInput, ComputeMonitoringReportResult, ReportVerdict } from '../workflows/contracts/monitor-activities.js';
import type { MonitoringReference } from './reference.js';
import { aggregateFeedback, LATENCY_BOUNDS_MS, type WindowQuery } from './window-aggregates.js';
import { aggregateWindowWithRollups } from './window-from-rollups.js';

export type { ReportVerdict };

/** What a breach led to, recorded on the report. */
export type RetrainDecision =
  | { action: 'pending'; reason: string }
  | { action: 'started'; runId: string; workflowId: string; reason: string }
  | { action: 'skipped'; reason: string };

/** The stored `monitoring_reports.report`. */
export interface MonitoringReportBody {
  model: string;
  version: number;
  window: { start: string; end: string };
  verdict: ReportVerdict;
  summary: string;
  breaches: DriftVerdict['breaches'];
  skipped: string[];
  volume: { rows: number; errorRows: number; errorRate: number | null };
  latencyMs: LatencyPercentiles;
  features: ({ name: string } & FeatureDrift)[];
  prediction: FeatureDrift | null;
  performance: (BinaryPerformance | RegressionPerformance | MulticlassPerformance) | null;
  evaluation: { auc?: number; rmse?: number; accuracy?: number };
  policy: MonitoringPolicy;
}

export interface ComputeReportDeps {
  db: Db;
  pool: pg.Pool;
}

function retrainDecision(verdict: ReportVerdict, policy: MonitoringPolicy, windowEnd: Date, lastRetrainAt: string | null): RetrainDecision | null {
  if (verdict !== 'drift') return null;
  if (!policy.retrain.enabled) return { action: 'skipped', reason: 'retraining on drift is disabled by the monitoring policy' };
  if (lastRetrainAt !== null) {
    const since = windowEnd.getTime() - Date.parse(lastRetrainAt);
    if (since < policy.cooldownMs) {
      return { action: 'skipped', reason: `cooldown: the last retrain started at ${lastRetrainAt}, less than ${policy.cooldownMs} ms ago` };
    }
  }
  return { action: 'pending', reason: 'breach: starting a retraining run' };
}

/** The interval of the model's policy (the default when ops set none or the model is unknown). */
export async function monitoringIntervalOf(db: Db, modelName: string): Promise<number> {
  const model = await getModelByName(db, modelName);
  const row = model ? await getMonitoringPolicy(db, model.id) : undefined;
  return monitoringPolicyWithDefaults((row?.policy ?? {}) as MonitoringPolicyInput).intervalMs;
}

export async function computeMonitoringReport(deps: ComputeReportDeps, input: ComputeMonitoringReportInput): Promise<ComputeMonitoringReportResult> {
  const { db, pool } = deps;
  const model = await getModelByName(db, input.model);
  const defaults = monitoringPolicyWithDefaults();
  if (!model) {
    return { reportId: null, version: null, verdict: 'no_model', summary: `model "${input.model}" is not registered`, rows: 0, intervalMs: defaults.intervalMs, cooldownMs: defaults.cooldownMs, retrainDue: false };
  }
  const policyRow = await getMonitoringPolicy(db, model.id);
  const policy = monitoringPolicyWithDefaults((policyRow?.policy ?? {}) as MonitoringPolicyInput);
  const base = { rows: 0, intervalMs: policy.intervalMs, cooldownMs: policy.cooldownMs, retrainDue: false };
  const version = await getAliasVersion(db, model.id, PRODUCTION_ALIAS);
  if (version === null) {
    return { ...base, reportId: null, version: null, verdict: 'no_production_version', summary: 'no production version' };
  }
  const windowStart = new Date(input.windowStart);
  const windowEnd = new Date(input.windowEnd);
  const query = { modelId: model.id, version, windowStart, windowEnd };
  const versionRow = await getModelVersion(db, model.id, version);
  const metrics = (versionRow?.metrics ?? {}) as Record<string, number>;
  const evaluation = {
    ...(typeof metrics.auc === 'number' ? { auc: metrics.auc } : {}),
    ...(typeof metrics.rmse === 'number' ? { rmse: metrics.rmse } : {}),
    // Multiclass models are watched by accuracy (binary ones by AUC: their accuracy depends on the threshold).
    ...(model.task === 'multiclass' && typeof metrics.accuracy === 'number' ? { accuracy: metrics.accuracy } : {}),
  };
  const referenceRow = await getMonitoringReference(db, model.id, version);

  let body: MonitoringReportBody;
  if (!referenceRow) {
    body = {
      model: model.name, version, window: { start: input.windowStart, end: input.windowEnd },
      verdict: 'no_reference', summary: `version ${version} has no drift reference (registered before monitoring existed)`,
      breaches: [], skipped: [], volume: { rows: 0, errorRows: 0, errorRate: null }, latencyMs: { p50: null, p95: null, p99: null },
      features: [], prediction: null, performance: null, evaluation, policy,
    };
  } else {
    const reference = referenceRow.reference as MonitoringReference;
    const task = model.task === 'regression' ? 'regression' : model.task === 'multiclass' ? 'multiclass' : 'binary';
    const [window, performance] = await Promise.all([aggregateWindowWithRollups(pool, reference, query), livePerformance(pool, task, query)]);
    const features = reference.features.map(({ name, reference: featureReference }, index) => ({
      name,
      ...featureDrift(featureReference, window.features[index]!.live),
    }));
    const verdict = driftVerdict(
      {
        rows: window.rows,
        features: features.map((feature) => ({ name: feature.name, psi: feature.psi })),
        live: {
          labelled: performance.labelled,
          auc: 'auc' in performance ? performance.auc : null,
          rmse: 'rmse' in performance ? performance.rmse : null,
          accuracy: 'macroF1' in performance ? performance.accuracy : null,
        },
        evaluation,
      },
      driftPolicyOf(policy),
    );
    body = {
      model: model.name, version, window: { start: input.windowStart, end: input.windowEnd },
      verdict: verdict.status, summary: verdict.summary, breaches: verdict.breaches, skipped: verdict.skipped,
      volume: { rows: window.rows, errorRows: window.errorRows, errorRate: window.rows > 0 ? window.errorRows / window.rows : null },
      latencyMs: latencyPercentilesFromHistogram([...LATENCY_BOUNDS_MS, Number.POSITIVE_INFINITY], window.latencyCounts),
      features,
      prediction: window.score.rows > 0 ? predictionDrift(reference.score, window.score) : null,
      performance, evaluation, policy,
    };
  }
  const retrain = retrainDecision(body.verdict, policy, windowEnd, input.lastRetrainAt);
  const saved = await saveMonitoringReport(db, {
    modelId: model.id,
    version,
    windowStart,
    windowEnd,
    report: body,
    driftDetected: body.verdict === 'drift',
    verdict: body.verdict,
    rows: body.volume.rows,
    retrain,
  });
  const stored = saved.report as MonitoringReportBody;
  return {
    ...base,
    reportId: saved.id,
    version: saved.version,
    verdict: stored.verdict,
    summary: stored.summary,
    rows: saved.rows,
    retrainDue: (saved.retrain as RetrainDecision | null)?.action === 'pending',
  };
}

/** Live performance over the window's labels, by task. */
async function livePerformance(
  pool: pg.Pool,
  task: 'binary' | 'regression' | 'multiclass',
  query: WindowQuery,
): Promise<BinaryPerformance | RegressionPerformance | MulticlassPerformance> {
  if (task === 'binary') return binaryPerformanceFromSummary(await aggregateFeedback(pool, task, query));
  if (task === 'regression') return regressionPerformanceFromSummary(await aggregateFeedback(pool, task, query));
  return multiclassPerformanceFromSummary(await aggregateFeedback(pool, task, query));
}
