// Training parameters of the GBDT trainer. Names and defaults follow LightGBM so results compare.

import os from 'node:os';
import { MAX_CLASSES, MIN_CLASSES, type Task } from '../model.js';
import { INT32_MAX, TrainerParamError } from '../trainer-param-error.js';

export interface GbdtParams {
  task: Task;
  /** Feature columns to use, in model order. Default: every column of the training dataset, sorted by name. */
  features?: string[];
  numIterations: number;
  learningRate: number;
  numLeaves: number;
  /** Maximum tree depth; <= 0 means unlimited. */
  maxDepth: number;
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  lambdaL2: number;
  minGainToSplit: number;
  /** Fraction of rows drawn (without replacement) for each tree; 1 = no bagging. */
  baggingFraction: number;
  /** Fraction of features drawn for each tree; 1 = all. */
  featureFraction: number;
  /** Stop when the validation metric has not improved for this many rounds; 0 = never stop early. */
  earlyStoppingRounds: number;
  /**
   * When no explicit validation dataset is given: hold out this fraction of the training rows
   * (the LAST rows, so time-ordered data is validated on its most recent part). 0 = none.
   */
  validationFraction: number;
  seed: number;
  /** Maximum bins per feature including the missing bin (<= 255: bins are stored as bytes). */
  maxBin: number;
  /** Fewest sampled values in one numeric bin (LightGBM min_data_in_bin). */
  minDataInBin: number;
  /** Rows sampled to compute numeric bin edges. */
  binSampleSize: number;
  /** Categories seen fewer times than this in training are treated as missing. */
  minDataPerCategory: number;
  /** Categorical split search (LightGBM's cat_smooth, cat_l2, max_cat_threshold, max_cat_to_onehot, min_data_per_group). */
  catSmooth: number;
  catL2: number;
  maxCatThreshold: number;
  maxCatToOnehot: number;
  minDataPerGroup: number;
  /** Multiclass only (3–1000): the number of classes, label codes 0..numClass-1. Set by the pipeline, not by a spec. */
  numClass?: number;
}

export const defaultGbdtParams: Omit<GbdtParams, 'task'> = {
  numIterations: 100,
  learningRate: 0.1,
  numLeaves: 31,
  maxDepth: -1,
  minDataInLeaf: 20,
  minSumHessianInLeaf: 1e-3,
  lambdaL2: 0,
  minGainToSplit: 0,
  baggingFraction: 1,
  featureFraction: 1,
  earlyStoppingRounds: 0,
  validationFraction: 0,
  seed: 42,
  maxBin: 255,
  minDataInBin: 3,
  binSampleSize: 200_000,
  minDataPerCategory: 1,
  catSmooth: 10,
  catL2: 10,
  maxCatThreshold: 32,
  maxCatToOnehot: 4,
  minDataPerGroup: 100,
};

export type GbdtParamsInput = Partial<GbdtParams> & { task: Task };

/** Most boosting rounds a run may ask for: past this a typo (1e308 passes "an integer >= 1") would train for ever. */
export const MAX_GBDT_ITERATIONS = 100_000;
/** Most leaves per tree, LightGBM's limit: the learner allocates per leaf (1e308 was a RangeError, retried without end). */
export const MAX_GBDT_LEAVES = 131_072;

/** Fills defaults and rejects values the trainer cannot honour, naming the parameter. */
export function resolveGbdtParams(input: GbdtParamsInput): GbdtParams {
  const p: GbdtParams = { ...defaultGbdtParams, ...stripUndefined(input), task: input.task };
  const fail = (name: string, why: string): never => {
    throw new TrainerParamError(name, `invalid GBDT parameter ${name}=${String((p as unknown as Record<string, unknown>)[name])}: ${why}`);
  };
  // A count past int32 is a typo (and past 2^53 not even a count); a string ("0.1") would pass `> 0` below.
  const count = (name: keyof GbdtParams, min: number, max = INT32_MAX) => {
    const value = p[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(name, `must be an integer in [${min}, ${max}]`);
  };
  for (const name of Object.keys(defaultGbdtParams) as (keyof typeof defaultGbdtParams)[]) {
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
  count('numIterations', 1, MAX_GBDT_ITERATIONS);
  if (!(p.learningRate > 0)) fail('learningRate', 'must be > 0');
  count('numLeaves', 2, MAX_GBDT_LEAVES);
  count('maxDepth', -INT32_MAX);
  count('minDataInLeaf', 1);
  if (!(p.minSumHessianInLeaf >= 0)) fail('minSumHessianInLeaf', 'must be >= 0');
  if (!(p.lambdaL2 >= 0)) fail('lambdaL2', 'must be >= 0');
  if (!(p.minGainToSplit >= 0)) fail('minGainToSplit', 'must be >= 0');
  if (!(p.baggingFraction > 0 && p.baggingFraction <= 1)) fail('baggingFraction', 'must be in (0, 1]');
  if (!(p.featureFraction > 0 && p.featureFraction <= 1)) fail('featureFraction', 'must be in (0, 1]');
  count('earlyStoppingRounds', 0);
  if (!(p.validationFraction >= 0 && p.validationFraction < 1)) fail('validationFraction', 'must be in [0, 1)');
  if (!Number.isSafeInteger(p.seed)) fail('seed', 'must be an integer');
  if (!Number.isInteger(p.maxBin) || p.maxBin < 3 || p.maxBin > 255) fail('maxBin', 'must be an integer in [3, 255]');
  count('minDataInBin', 1);
  count('binSampleSize', 1);
  count('minDataPerCategory', 1);
  if (!(p.catSmooth >= 0)) fail('catSmooth', 'must be >= 0');
  if (!(p.catL2 >= 0)) fail('catL2', 'must be >= 0');
  count('maxCatThreshold', 1);
  count('maxCatToOnehot', 1);
  count('minDataPerGroup', 1);
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `numThreads`, the trainer's one execution setting: a run spec may set it beside the model parameters, but it
 * never changes the model, so it stays out of GbdtParams (and with it out of checkpoints and fingerprints).
 */
export const GBDT_EXECUTION_PARAMS = ['numThreads'] as const;

/** Most threads one training may use: beyond two the partition no longer speeds up, beyond 8 neither do histograms. */
export const MAX_GBDT_THREADS = 8;

export function resolveNumThreads(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_GBDT_THREADS) {
    throw new TrainerParamError('numThreads', `invalid GBDT parameter numThreads=${String(value)}: must be an integer in [1, ${MAX_GBDT_THREADS}]`);
  }
  return value;
}

/** The cores one of `trainingSlots` concurrent trainings may use: its share of the machine, at least 1. */
export function defaultNumThreads(trainingSlots: number, cores = os.availableParallelism()): number {
  return Math.min(MAX_GBDT_THREADS, Math.max(1, Math.floor(cores / Math.max(1, trainingSlots))));
}
