// Training parameters of the logistic / ridge trainer.
import { MAX_CLASSES, MIN_CLASSES, type Task } from '../model.js';
import { INT32_MAX, TrainerParamError } from '../trainer-param-error.js';

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

/** Most Newton iterations a run may ask for (it converges in tens): past this a typo would run for ever. */
export const MAX_LINEAR_ITERATIONS = 10_000;

/** Fills defaults and rejects values the trainer cannot honour, naming the parameter. */
export function resolveLinearParams(input: LinearParamsInput): LinearParams {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const p = { ...defaultLinearParams, ...defined } as LinearParams;
  const fail = (name: keyof LinearParams, why: string): never => {
    throw new TrainerParamError(name, `invalid linear parameter ${name}=${String(p[name])}: ${why}`);
  };
  const count = (name: keyof LinearParams, min: number, max = INT32_MAX) => {
    const value = p[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(name, `must be an integer in [${min}, ${max}]`);
  };
  for (const name of Object.keys(defaultLinearParams) as (keyof typeof defaultLinearParams)[]) {
    if (typeof p[name] !== 'number') fail(name, 'must be a number');
  }
  if (p.task !== 'binary' && p.task !== 'regression' && p.task !== 'multiclass') fail('task', "must be 'binary', 'multiclass' or 'regression'");
  if (p.task === 'multiclass') {
    if (!Number.isInteger(p.numClass) || p.numClass! < MIN_CLASSES || p.numClass! > MAX_CLASSES) {
      fail('numClass', `must be an integer in [${MIN_CLASSES}, ${MAX_CLASSES}] for a multiclass task`);
    }
  } else if (p.numClass !== undefined) {
    fail('numClass', `applies to the multiclass task only, not ${p.task}`);
  }
  if (!(p.l2 >= 0) || !Number.isFinite(p.l2)) fail('l2', 'must be a finite number >= 0');
  count('maxIterations', 1, MAX_LINEAR_ITERATIONS);
  if (!(p.tolerance > 0)) fail('tolerance', 'must be > 0');
  count('maxCategoriesPerFeature', 0);
  count('minDataPerCategory', 1);
  return p;
}
