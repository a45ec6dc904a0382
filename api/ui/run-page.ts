// What the review page shows, gathered from the same service the API's GET /v1/runs/:id uses, plus the plots drawn
// from the stored reports. The template only lays it out.
import type { Db } from '../../db/client.js';
import { getSnapshot } from '../../db/repositories/dataset-snapshots.js';
import { getValidationReportByRunId } from '../../db/repositories/validation-reports.js';
import type { ColumnProfile, DatasetProfile } from '../../data/profile-snapshot.js';
import type { ValidationCheck } from '../../data/validate-profile.js';
import type { EvaluationReport } from '../../evaluation/evaluation-report.js';
import type { GateCheck } from '../../evaluation/gates.js';
import type { CalibrationBin } from '../../ml/metrics/index.js';
import { hasRole, type Principal } from '../auth/principal.js';
import { getRunDetail, type RunsDeps } from '../runs/runs-service.js';
import { calibrationChart, driftHistogram, importanceChart, predictedVsActualChart, residualChart, rocChart } from './charts.js';

/**
 * Stored reports never change, so their drawn views are kept (the most recent 64): drawing a page's charts takes
 * about a second of CPU on a busy 2-core machine, and a running run's page reloads every few seconds.
 */
const DRAWN_VIEWS_KEPT = 64;
const drawnViews = new Map<string, Promise<unknown>>();

function drawnOnce<T>(key: string, draw: () => Promise<T>): Promise<T> {
  const kept = drawnViews.get(key) as Promise<T> | undefined;
  if (kept) {
    drawnViews.delete(key);
    drawnViews.set(key, kept);
    return kept;
  }
  const drawing = draw();
  drawnViews.set(key, drawing);
  // A failed drawing is not kept: the next view tries again.
  drawing.catch(() => drawnViews.delete(key));
  if (drawnViews.size > DRAWN_VIEWS_KEPT) drawnViews.delete(drawnViews.keys().next().value!);
  return drawing;
}

/** Columns drawn with a histogram at most: a 500-column dataset gets its table, not 500 plots. */
const MAX_HISTOGRAMS = 40;

export type ReviewForm =
  | { state: 'hidden' }
  | { state: 'closed'; reason: string }
  | { state: 'disabled'; reason: string }
  | { state: 'open' };

/** Who may decide: reviewers only (admin is not one), never the run's requester, only while the run waits. */
export function reviewFormFor(principal: Principal, run: { status: string; requestedBy: string | null }): ReviewForm {
  if (!hasRole(principal, 'reviewer')) return { state: 'hidden' };
  if (run.status !== 'awaiting_review') return { state: 'closed', reason: `this run is ${run.status.replace(/_/g, ' ')}; it no longer takes reviews` };
  if (run.requestedBy !== null && run.requestedBy === principal.user) {
    return { state: 'disabled', reason: `you (${principal.user}) started this run: four eyes, another reviewer must decide` };
  }
  return { state: 'open' };
}

export interface MetricRow {
  metric: string;
  candidate: string;
  champion: string;
  delta: string;
  /** Whether the delta is an improvement, for colour only (lower is better for losses and errors). */
  better: boolean | null;
}

const LOWER_IS_BETTER = new Set(['logLoss', 'rmse', 'mae', 'mse', 'brier', 'multiLogLoss']);

export function formatNumber(value: unknown): string {
  if (typeof value !== 'number') return value === null || value === undefined ? '—' : String(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Math.abs(value) >= 1000 ? value.toFixed(1) : Number(value.toPrecision(4)).toString();
}

function formatDelta(value: number | undefined): string {
  if (value === undefined) return '—';
  return `${value > 0 ? '+' : value < 0 ? '−' : '±'}${formatNumber(Math.abs(value))}`;
}

export function metricRows(report: Pick<EvaluationReport, 'candidate' | 'champion' | 'deltas'>): MetricRow[] {
  return Object.entries(report.candidate.metrics).map(([metric, value]) => {
    const delta = report.deltas[metric];
    return {
      metric,
      candidate: formatNumber(value),
      champion: formatNumber(report.champion?.metrics[metric]),
      delta: formatDelta(delta),
      better: delta === undefined || delta === 0 ? null : LOWER_IS_BETTER.has(metric) ? delta < 0 : delta > 0,
    };
  });
}

export interface ColumnView {
  name: string;
  kind: string;
  type: string;
  nullRate: string;
  distinct: string;
  min: string;
  max: string;
  mean: string;
  psi: string;
  psiSeverity: 'ok' | 'warn' | 'error' | null;
  histogram: string | null;
}

export interface DriftBins {
  bins: { bin: string; reference: number | null; current: number }[];
  /** `share`: fraction of rows per bin; `density`: rows per unit of the value, relative to the densest bin. */
  measure: 'share' | 'density';
}

function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((count) => (total > 0 ? count / total : 0));
}

/**
 * Against a reference: shares per reference bin (the bins PSI compares) or per category, reference beside this run.
 * Without one (a model's first data): this run's own distribution.
 */
export function driftBins(column: ColumnProfile, reference: ColumnProfile | undefined): DriftBins | null {
  if (reference?.valueCounts && column.onReferenceValues) {
    const ref = shares([...reference.valueCounts.counts, 0]);
    const cur = shares([...column.onReferenceValues.counts, column.onReferenceValues.other]);
    const bins = [...reference.valueCounts.values.map(String), 'other'].map((bin, i) => ({ bin, reference: ref[i] ?? 0, current: cur[i] ?? 0 }));
    return { bins, measure: 'share' };
  }
  if (reference?.histogram && column.onReferenceEdges) {
    const ref = shares(reference.histogram.counts);
    const cur = shares(column.onReferenceEdges.counts);
    return { bins: ref.map((r, i) => ({ bin: `≤ ${formatNumber(reference.histogram!.edges[i + 1])}`, reference: r, current: cur[i] ?? 0 })), measure: 'share' };
  }
  if (reference?.topValues && column.topValues) {
    const current = new Map(column.topValues.map((entry) => [entry.value, entry.count]));
    const bins = reference.topValues.slice(0, 12).map((entry) => ({
      bin: entry.value,
      reference: entry.count / (reference.count || 1),
      current: (current.get(entry.value) ?? 0) / (column.count || 1),
    }));
    return { bins, measure: 'share' };
  }
  if (reference) return null;
  if (column.valueCounts) {
    const cur = shares(column.valueCounts.counts);
    return { bins: column.valueCounts.values.map((value, i) => ({ bin: String(value), reference: null, current: cur[i] ?? 0 })), measure: 'share' };
  }
  if (column.histogram && column.histogram.counts.length > 0) {
    // Decile bins hold equal counts by design: their heights are densities, or every bar would look the same.
    const { edges, counts } = column.histogram;
    const densities = counts.map((count, i) => count / Math.max(edges[i + 1]! - edges[i]!, Number.EPSILON));
    const densest = Math.max(...densities) || 1;
    return { bins: densities.map((d, i) => ({ bin: `≤ ${formatNumber(edges[i + 1])}`, reference: null, current: d / densest })), measure: 'density' };
  }
  if (column.topValues) {
    return { bins: column.topValues.slice(0, 12).map((entry) => ({ bin: entry.value, reference: null, current: entry.count / (column.count || 1) })), measure: 'share' };
  }
  return null;
}

async function columnViews(db: Db, report: { profile?: DatasetProfile; checks: ValidationCheck[] }, referenceSha256: string | null): Promise<ColumnView[]> {
  const profile = report.profile;
  if (!profile) return [];
  const referenceProfile = referenceSha256 ? ((await getSnapshot(db, referenceSha256))?.profile as DatasetProfile | null | undefined) : undefined;
  const referenceColumns = new Map((referenceProfile?.columns ?? []).map((column) => [column.name, column]));
  const psiByColumn = new Map(report.checks.filter((check) => check.name === 'psi' && check.column).map((check) => [check.column!, check]));
  const views: ColumnView[] = [];
  for (const [index, column] of profile.columns.entries()) {
    const psi = psiByColumn.get(column.name);
    const bins = index < MAX_HISTOGRAMS ? driftBins(column, referenceColumns.get(column.name)) : null;
    views.push({
      name: column.name,
      kind: column.kind,
      type: column.type,
      nullRate: `${formatNumber(column.nullRate * 100)}%`,
      distinct: formatNumber(column.distinctCount),
      min: formatNumber(column.min),
      max: formatNumber(column.max),
      mean: formatNumber(column.mean),
      psi: psi ? formatNumber(psi.observed) : '—',
      psiSeverity: psi ? (psi.passed ? 'ok' : psi.severity === 'error' ? 'error' : 'warn') : null,
      histogram: bins && bins.bins.length > 0 ? await driftHistogram(bins) : null,
    });
  }
  return views;
}

export interface CalibrationRow {
  range: string;
  candidateRows: string;
  candidateObserved: string;
  championRows: string | null;
  championObserved: string | null;
}

/** The calibration plot's bins with their row counts: a point drawn from three rows must not look like one from 3,000. */
export function calibrationRows(calibration: { candidate: CalibrationBin[]; champion: CalibrationBin[] | null }): CalibrationRow[] {
  return calibration.candidate.flatMap((bin, i) => {
    const champion = calibration.champion?.[i];
    if (bin.count === 0 && !champion?.count) return [];
    return [{
      range: `${formatNumber(bin.lower)}–${formatNumber(bin.upper)}`,
      candidateRows: String(bin.count),
      candidateObserved: formatNumber(bin.observedRate),
      championRows: champion ? String(champion.count) : null,
      championObserved: champion ? formatNumber(champion.observedRate) : null,
    }];
  });
}

async function evaluationView(report: EvaluationReport) {
  const championLabel = report.champion ? `champion v${report.champion.version}` : 'champion';
  const plots = report.plots;
  const charts = {
    roc: plots?.roc && plots.roc.candidate.length > 0 ? await rocChart({ ...plots.roc, championLabel }) : null,
    calibration: plots?.calibration ? await calibrationChart({ ...plots.calibration, championLabel }) : null,
    importance: plots && plots.importance.length > 0 ? await importanceChart(plots.importance) : null,
    predictedVsActual: plots?.regression && plots.regression.sample.length > 0 ? await predictedVsActualChart(plots.regression.sample) : null,
    residuals: plots?.regression && plots.regression.sample.length > 0 ? await residualChart(plots.regression.sample) : null,
  };
  const confusion = plots?.confusion
    ? {
        classes: ['0', '1'],
        matrix: [
          [plots.confusion.trueNegatives, plots.confusion.falsePositives],
          [plots.confusion.falseNegatives, plots.confusion.truePositives],
        ],
      }
    : report.classMetrics
      ? { classes: report.classMetrics.classes, matrix: report.classMetrics.confusion }
      : null;
  return {
    task: report.task,
    holdoutRows: formatNumber(report.holdoutRows),
    calibrationBins: plots?.calibration ? calibrationRows(plots.calibration) : null,
    confusionThreshold: plots?.confusion ? '0.5' : null,
    primaryMetric: report.primaryMetric,
    championLabel,
    championSkipped: report.championSkipped,
    comparisonNote: report.comparison && report.comparison.status === 'biased' ? report.comparison.reason : null,
    metrics: metricRows(report),
    gates: (report.gates?.checks ?? []) as GateCheck[],
    failedGates: report.failedGates,
    gatesPassed: report.gatesPassed,
    parity: report.parity,
    confusion,
    importanceBasis: plots?.importance[0]?.basis ?? null,
    charts,
    plotsMissing: plots === undefined,
  };
}

export async function runPageView(deps: RunsDeps, id: string, principal: Principal) {
  const detail = await getRunDetail(deps, id);
  const validationReport = detail.validation?.report as { profile?: DatasetProfile; checks: ValidationCheck[] } | undefined;
  const referenceSha256 = detail.validation ? ((await getValidationReportByRunId(deps.db, id))?.referenceSha256 ?? null) : null;
  return {
    run: detail,
    timings: (detail.timings ?? []).map((timing) => ({
      stage: timing.stage,
      startedAt: timing.startedAt,
      duration: timing.durationMs === undefined ? 'running' : `${formatNumber(timing.durationMs / 1000)} s`,
      parts: (timing.parts ?? []).map((part) => `${part.part} ${formatNumber(part.durationMs / 1000)} s`).join(', '),
    })),
    validation: detail.validation
      ? {
          passed: detail.validation.passed,
          summary: detail.validation.summary,
          checks: (validationReport?.checks ?? []).filter((check) => check.name !== 'psi' || !check.passed),
          passedChecks: (validationReport?.checks ?? []).filter((check) => check.passed).length,
          referenceSha256,
          columns: validationReport
            ? await drawnOnce(`validation:${detail.validation.reportId}`, () => columnViews(deps.db, validationReport, referenceSha256))
            : [],
        }
      : null,
    evaluation: detail.evaluation
      ? await drawnOnce(`evaluation:${detail.evaluation.reportId}`, () => evaluationView(detail.evaluation!.report as EvaluationReport))
      : null,
    specJson: JSON.stringify(detail.spec, null, 2),
    reviewForm: reviewFormFor(principal, detail),
  };
}
