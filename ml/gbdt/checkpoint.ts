// The resumable state of a GBDT run. Plain JSON: a worker that crashes at iteration k can hand this to
// trainGbdt({ resumeFrom }) and finish with a model identical to an uninterrupted run.

import type { Tree, TrainingCurvePoint } from '../model.js';
import type { BinMapper } from './binning.js';
import type { GbdtParams } from './params.js';

export const GBDT_CHECKPOINT_FORMAT = 'keel-gbdt-checkpoint/1';

export interface GbdtCheckpoint {
  format: typeof GBDT_CHECKPOINT_FORMAT;
  params: GbdtParams;
  /** Bin edges and category lists, so the resumed run bins exactly as the first one did. */
  mappers: BinMapper[];
  trainRowCount: number;
  validRowCount: number;
  baseScore: number;
  /** Multiclass only: the per-class init scores. */
  baseScores?: number[];
  /** Trees built so far (raw thresholds); scores are recomputed from them on resume. */
  trees: Tree[];
  /** Number of completed iterations (= trees.length, or trees.length / numClass for multiclass). */
  iteration: number;
  /** State of the bagging/feature-sampling PRNG after `iteration` iterations. */
  rngState: number;
  curve: TrainingCurvePoint[];
  /** Best iteration so far (1-based; 0 before any) and its validation metric (null without validation). */
  bestIteration: number;
  bestMetric: number | null;
}

/** Rejects a checkpoint that cannot continue this run, saying why. */
export function assertResumable(cp: GbdtCheckpoint, params: GbdtParams, trainRowCount: number, validRowCount: number): void {
  if (cp.format !== GBDT_CHECKPOINT_FORMAT) throw new Error(`unsupported checkpoint format ${String(cp.format)}`);
  if (JSON.stringify(cp.params) !== JSON.stringify(params)) {
    throw new Error('checkpoint was taken with different training parameters');
  }
  if (cp.trainRowCount !== trainRowCount || cp.validRowCount !== validRowCount) {
    throw new Error(
      `checkpoint was taken on ${cp.trainRowCount} training / ${cp.validRowCount} validation rows, got ${trainRowCount} / ${validRowCount}`,
    );
  }
  const treesPerIteration = params.task === 'multiclass' ? params.numClass! : 1;
  if (cp.trees.length !== cp.iteration * treesPerIteration) throw new Error('checkpoint is inconsistent: trees.length !== iteration × trees per iteration');
}
