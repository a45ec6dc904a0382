// Training parameters of the logistic / ridge trainer.
import { MAX_CLASSES, MIN_CLASSES, type Task } from '../model.js';

export interface LinearParams {
  task: Task;
  /** Feature columns to use, in model order. Default: every column of the training dataset, sorted by name. */
  features?: string[];
  /** L2 penalty on the weights (not the intercept), per row: objective = mean loss + l2/2 · ||w||². */
  l2: number;
  /** Newton iterations at most (ridge regression converges in one). */
  maxIterations: number;
  /**
   * Convergence: stop when half the Newton decrement (the predicted decrease of the objective) or the decrease
   * a step achieved falls below this (relative to the objective when it exceeds 1).
   */
  tolerance: number;
  /** One-hot columns per categorical feature at most; the most frequent categories are kept. */
  maxCategoriesPerFeature: number;
  /** Categories seen fewer times than this in training are dropped (encoded as all zeros, like unseen ones). */
  minDataPerCategory: number;
  /** Multiclass only (3–1000): the number of classes, label codes 0..numClass-1. Set by the pipeline, not by a spec. */
  numClass?: number;
}

export const defaultLinearParams: Omit<LinearParams, 'task'> = {
  l2: 1e-4,
  maxIterations: 50,
  tolerance: 1e-9,
  maxCategoriesPerFeature: 100,
  minDataPerCategory: 1,
};

export type LinearParamsInput = Partial<LinearParams> & { task: Task };

/** Fills defaults and rejects values the trainer cannot honour, naming the parameter. */
export function resolveLinearParams(input: LinearParamsInput): LinearParams {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const p = { ...defaultLinearParams, ...defined } as LinearParams;
  const fail = (name: keyof LinearParams, why: string): never => {
    throw new RangeError(`invalid linear parameter ${name}=${String(p[name])}: ${why}`);
  };
  if (p.task !== 'binary' && p.task !== 'regression' && p.task !== 'multiclass') fail('task', "must be 'binary', 'multiclass' or 'regression'");
  if (p.task === 'multiclass') {
    if (!Number.isInteger(p.numClass) || p.numClass! < MIN_CLASSES || p.numClass! > MAX_CLASSES) {
      fail('numClass', `must be an integer in [${MIN_CLASSES}, ${MAX_CLASSES}] for a multiclass task`);
    }
  } else if (p.numClass !== undefined) {
    fail('numClass', `applies to the multiclass task only, not ${p.task}`);
  }
  if (!(p.l2 >= 0) || !Number.isFinite(p.l2)) fail('l2', 'must be a finite number >= 0');
  if (!Number.isInteger(p.maxIterations) || p.maxIterations < 1) fail('maxIterations', 'must be an integer >= 1');
  if (!(p.tolerance > 0)) fail('tolerance', 'must be > 0');
  if (!Number.isInteger(p.maxCategoriesPerFeature) || p.maxCategoriesPerFeature < 0) {
    fail('maxCategoriesPerFeature', 'must be an integer >= 0');
  }
  if (!Number.isInteger(p.minDataPerCategory) || p.minDataPerCategory < 1) fail('minDataPerCategory', 'must be an integer >= 1');
  return p;
}
