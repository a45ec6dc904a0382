// What the stored `evaluation_reports.report` holds: reviewers read it through the API, the deploy's smoke test
// takes its first holdout row.
import type { RawRow } from '../ml/model.js';
import type { ClassMetrics } from '../ml/metrics/index.js';
import type { ParityResult } from '../ml/onnx/index.js';
import type { EvaluateModelResult } from '../workflows/contracts/pipeline-activities.js';
import type { Task } from '../workflows/contracts/run-spec.js';
import type { ChampionComparison } from '../workflows/contracts/split.js';
import type { EvaluationPlots } from './evaluation-plots.js';
import type { GateCheck } from './gates.js';
import type { ServingParity } from './serving-parity.js';

/** `result` is what the evaluate activity returned. */
export interface EvaluationReport {
  task: Task;
  seed: number;
  snapshotSha256: string;
  holdoutRows: number;
  primaryMetric: string;
  candidate: { artifactSha256: string; modelJsonSha256: string; metrics: Record<string, number> };
  champion: { version: number; artifactSha256: string; metrics: Record<string, number> } | null;
  /** Why there is no champion comparison, when there is none. */
  championSkipped: string | null;
  deltas: Record<string, number>;
  parity: ParityResult;
  /** Holdout rows scored through the serving path in source shape vs the trainer (absent in older reports). */
  servingParity?: ServingParity;
  gates: { spec: unknown; checks: GateCheck[] };
  gatesPassed: boolean;
  failedGates: string[];
  /** Null: not comparable (see `comparison`). */
  challengerNoWorse: boolean | null;
  /**
   * How many holdout rows the champion trained on and, when any (or unknown), why its numbers are biased
   * (absent in reports from before stable splits).
   */
  comparison?: ChampionComparison;
  /** Multiclass: the candidate's per-class precision/recall/F1/support and confusion matrix on the holdout. */
  classMetrics?: { classes: string[]; perClass: ClassMetrics[]; confusion: number[][] };
  /** The review page's plots: ROC, calibration, confusion, regression sample, importance (absent in older reports). */
  plots?: EvaluationPlots;
  /** The first holdout row (candidate features), which the deploy's smoke prediction sends. */
  smokeRow: RawRow | null;
  result: EvaluateModelResult;
}
