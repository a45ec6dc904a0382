// The boosting loop: binning, per-iteration gradients, bagging and feature sampling, tree growth,
// score updates, metrics, early stopping, progress callbacks, checkpoints and cancellation.

import { assertConsistentDataset, sliceDataset, type ColumnarDataset } from '../dataset.js';
import type { GbdtModel, TrainResult, TrainingCurvePoint, Tree } from '../model.js';
import { BinnedScores } from './binned-scores.js';
import { binDataset, buildBinMappers, mapperToFeature, type BinMapper, type BinnedMatrix } from './binning.js';
import { assertResumable, GBDT_CHECKPOINT_FORMAT, type GbdtCheckpoint } from './checkpoint.js';
import { histogramLayout } from './histogram.js';
import { classNeedsTrees, classShares, computeSoftmaxGradients, multiclassInitialScores, multiclassLogLossOfScores } from './multiclass-objective.js';
import { computeGradients, evaluateMetric, initialScore, metricName } from './objective.js';
import type { PhaseProfile } from './phase-profile.js';
import { resolveGbdtParams, resolveNumThreads, type GbdtParams, type GbdtParamsInput } from './params.js';
import { Mulberry32 } from './prng.js';
import { DEFAULT_PARALLEL_MIN_ROWS, leafNodeOfBinnedRow, TreeLearner } from './tree-learner.js';

export interface GbdtProgress {
  /** Iterations completed (1-based). */
  iteration: number;
  numIterations: number;
  trainMetric: number;
  validMetric: number | null;
  bestIteration: number;
  /** Builds a checkpoint of the state after this iteration (costs a copy of the trees; call when you store one). */
  checkpoint(): GbdtCheckpoint;
}

export interface GbdtTrainOptions {
  /** Early-stopping data; otherwise params.validationFraction holds out the last training rows, or none. */
  valid?: ColumnarDataset;
  /** Continue a run from a checkpoint taken with the same data and parameters. */
  resumeFrom?: GbdtCheckpoint;
  /** Called after every iteration; awaited, so it may heartbeat or persist the checkpoint. */
  onIteration?(progress: GbdtProgress): void | Promise<void>;
  /** Polled between iterations; returning true stops training with a GbdtTrainingCancelled error. */
  shouldStop?(): boolean;
  /**
   * Threads for histograms and partitions of large leaves, the calling one included (default 1). Not a model
   * parameter: the model is the same bit for bit for any count, so it is kept out of params and checkpoints.
   */
  numThreads?: number;
  /** Smallest leaf handed to helper threads (default DEFAULT_PARALLEL_MIN_ROWS); lower only to test or measure. */
  parallelMinRows?: number;
  /** Filled with the time of each phase on each thread (benchmarks; costs a clock read per section). */
  profile?: PhaseProfile;
}

/** Thrown when shouldStop() asks to stop; carries the checkpoint of the last completed iteration. */
export class GbdtTrainingCancelled extends Error {
  constructor(readonly checkpoint: GbdtCheckpoint) {
    super(`GBDT training cancelled after ${checkpoint.iteration} iterations`);
    this.name = 'GbdtTrainingCancelled';
  }
}

/** A TrainResult whose model is known to be a GbdtModel. */
export type GbdtTrainResult = TrainResult & { model: GbdtModel };

export async function trainGbdt(data: ColumnarDataset, paramsInput: GbdtParamsInput, options: GbdtTrainOptions = {}): Promise<GbdtTrainResult> {
  const profile = options.profile;
  const trainingStart = profile?.startTraining();
  profile?.begin();
  assertConsistentDataset(data);
  let train = data;
  let valid = options.valid ?? null;
  if (valid === null && paramsInput.validationFraction !== undefined && paramsInput.validationFraction > 0) {
    const cut = data.rowCount - Math.floor(data.rowCount * paramsInput.validationFraction);
    train = sliceDataset(data, 0, cut);
    valid = sliceDataset(data, cut, data.rowCount);
  }
  if (valid !== null) assertConsistentDataset(valid);
  const features = paramsInput.features ?? Object.keys(data.columns).sort();
  const params: GbdtParams = resolveGbdtParams({ ...paramsInput, features });
  const trainLabel = requireLabel(train, params, 'training');
  const validLabel = valid === null ? null : requireLabel(valid, params, 'validation');
  if (train.rowCount === 0) throw new RangeError('training dataset has no rows');

  const resume = options.resumeFrom;
  if (resume !== undefined) assertResumable(resume, params, train.rowCount, valid?.rowCount ?? 0);
  const mappers: BinMapper[] = resume?.mappers ?? buildBinMappers(train, features, params);
  const trainBins = binDataset(train, mappers);
  const validBins = valid === null ? null : binDataset(valid, mappers);
  const layout = histogramLayout(mappers);
  const numThreads = resolveNumThreads(options.numThreads ?? 1);
  const parallelMinRows = options.parallelMinRows ?? DEFAULT_PARALLEL_MIN_ROWS;
  const learner = new TreeLearner(trainBins, layout, mappers.map((m) => m.kind === 'categorical'), params, { numThreads, parallelMinRows, profile });
  profile?.end('setup');
  try {

    const task = params.task;
    // Trees per iteration: one per class for multiclass (class-major scores, score[k * rows + row]), else one.
    const classCount = task === 'multiclass' ? params.numClass! : 1;
    const multiclass = classCount > 1;
    const baseScores = multiclass ? (resume?.baseScores ?? multiclassInitialScores(trainLabel, classCount)) : null;
    const baseScore = multiclass ? 0 : (resume?.baseScore ?? initialScore(task, trainLabel));
    const trainedClasses = multiclass ? classShares(trainLabel, classCount).map(classNeedsTrees) : [true];
    const trees: Tree[] = resume ? resume.trees.map(cloneTree) : [];
    const curve: TrainingCurvePoint[] = resume ? resume.curve.map((c) => ({ ...c })) : [];
    const rng = new Mulberry32(params.seed);
    if (resume) rng.setState(resume.rngState);
    let bestIteration = resume?.bestIteration ?? 0;
    let bestMetric = resume?.bestMetric ?? null;

    const n = train.rowCount;
    const validRows = valid?.rowCount ?? 0;
    // The training scores, labels and gradients in the learner's memory, where its kernels read them.
    const arrays = learner.arrays;
    const trainScore = arrays.score;
    const trainLabelInMemory = arrays.label;
    trainLabelInMemory.set(trainLabel);
    // The validation rows' bins and scores in a WebAssembly memory of their own, where each new tree is added in one pass.
    const maxNodes = (resume?.trees ?? []).reduce((most, t) => Math.max(most, t.feature.length), 2 * params.numLeaves - 1);
    const validScorer = validBins === null ? null : new BinnedScores(validBins, classCount, maxNodes);
    const validScore = validScorer?.scores ?? new Float64Array(0);
    for (let k = 0; k < classCount; k++) {
      const start = baseScores === null ? baseScore : baseScores[k];
      trainScore.fill(start, k * n, (k + 1) * n);
      validScore.fill(start, k * validRows, (k + 1) * validRows);
    }
    /** Class k's block of a class-major score array. */
    const block = (score: Float64Array, rows: number, k: number) => (multiclass ? score.subarray(k * rows, (k + 1) * rows) : score);
    trees.forEach((tree, t) => {
      const masks = rawTreeLeftMasks(tree, mappers);
      addTreeToScores(tree, masks, trainBins, block(trainScore, n, t % classCount));
      validScorer?.addTree(tree, masks, t % classCount);
    });

    const { grad, hess } = arrays;
    const allRows = Int32Array.from({ length: n }, (_, i) => i);
    const inBag = params.baggingFraction < 1 ? new Int32Array(n) : allRows;
    const outOfBag = params.baggingFraction < 1 ? new Int32Array(n) : new Int32Array(0);
    const usedFeature = new Uint8Array(mappers.length);

    const snapshot = (): GbdtCheckpoint => ({
      format: GBDT_CHECKPOINT_FORMAT,
      params,
      mappers: mappers.map(cloneMapper),
      trainRowCount: n,
      validRowCount: valid?.rowCount ?? 0,
      baseScore,
      ...(baseScores === null ? {} : { baseScores: [...baseScores] }),
      trees: trees.map(cloneTree),
      iteration: trees.length / classCount,
      rngState: rng.getState(),
      curve: curve.map((c) => ({ ...c })),
      bestIteration,
      bestMetric,
    });

    let sinceBest = curve.length - bestIteration;
    const gradients = (): number =>
      multiclass
        ? computeSoftmaxGradients(classCount, trainScore, trainLabel, grad, hess)
        : task === 'binary'
          ? learner.binaryGradients(trainScore, trainLabelInMemory, grad, hess)
          : computeGradients(task, trainScore, trainLabel, grad, hess);
    const validMetricOf = (label: Float64Array): number =>
      multiclass ? multiclassLogLossOfScores(classCount, validScore, label) : evaluateMetric(task, validScore, label);
    gradients();
    for (let iter = trees.length / classCount; iter < params.numIterations; iter++) {
      if (options.shouldStop?.() === true) throw new GbdtTrainingCancelled(snapshot());
      if (validBins && params.earlyStoppingRounds > 0 && sinceBest >= params.earlyStoppingRounds) break;

      let inBagCount = n;
      let outOfBagCount = 0;
      if (params.baggingFraction < 1) {
        const want = Math.max(1, Math.round(n * params.baggingFraction));
        inBagCount = 0;
        for (let r = 0; r < n; r++) {
          if ((n - r) * rng.next() < want - inBagCount) inBag[inBagCount++] = r;
          else outOfBag[outOfBagCount++] = r;
        }
      }
      for (let k = 0; k < classCount; k++) {
        sampleFeatures(usedFeature, params.featureFraction, rng);
        if (!trainedClasses[k]) {
          trees.push(constantTree(0));
          continue;
        }
        const classTrainScore = block(trainScore, n, k);
        const grown = learner.grow(block(grad, n, k), block(hess, n, k), inBag, inBagCount, usedFeature);
        const tree = grown.tree;
        for (let node = 0; node < tree.feature.length; node++) {
          const f = tree.feature[node];
          if (f >= 0 && tree.categorySets[node] === null) {
            tree.threshold[node] = (mappers[f] as Extract<BinMapper, { kind: 'numeric' }>).upperEdges[tree.threshold[node] - 1];
          }
        }
        trees.push(tree);

        const rows = learner.rows;
        if (inBagCount === n) {
          learner.addToScores(grown, classTrainScore);
        } else {
          for (let l = 0; l < grown.leafCount; l++) {
            const v = grown.leafValue[l];
            const end = grown.leafBegin[l] + grown.leafSize[l];
            for (let i = grown.leafBegin[l]; i < end; i++) classTrainScore[rows[i]] += v;
          }
        }
        for (let i = 0; i < outOfBagCount; i++) {
          const r = outOfBag[i];
          classTrainScore[r] += tree.value[leafNodeOfBinnedRow(tree, grown.leftMasks, trainBins, r)];
        }
        validScorer?.addTree(tree, grown.leftMasks, k);
      }

      const trainMetric = gradients();
      const validMetric = validLabel === null ? null : validMetricOf(validLabel);
      const iteration = iter + 1;
      curve.push({ iteration, trainMetric, validMetric });
      if (validMetric === null) {
        bestIteration = iteration;
      } else if (bestMetric === null || validMetric < bestMetric) {
        bestMetric = validMetric;
        bestIteration = iteration;
        sinceBest = 0;
      } else {
        sinceBest++;
      }

      if (options.onIteration) {
        await options.onIteration({ iteration, numIterations: params.numIterations, trainMetric, validMetric, bestIteration, checkpoint: snapshot });
      }
      // Let timers, heartbeats and cancellation deliveries run between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }

    // Truncating to the best validation iteration is early stopping's job: without it every requested tree stays.
    const keptIterations = validBins !== null && params.earlyStoppingRounds > 0 ? bestIteration : trees.length / classCount;
    const kept = trees.slice(0, keptIterations * classCount);
    const importance: Record<string, number> = Object.fromEntries(features.map((f) => [f, 0]));
    for (const tree of kept) {
      for (let node = 0; node < tree.feature.length; node++) {
        if (tree.feature[node] >= 0) importance[features[tree.feature[node]]] += tree.gain[node];
      }
    }
    const model: GbdtModel = { kind: 'gbdt', task, features: mappers.map(mapperToFeature), baseScore, trees: kept };
    if (baseScores !== null) {
      // Class codes until the caller names them (the pipeline stores the target's values here).
      model.classes = Array.from({ length: classCount }, (_, k) => String(k));
      model.baseScores = [...baseScores];
    }
    const iterations = { requested: params.numIterations, trained: trees.length / classCount, kept: keptIterations };
    // The scores were summed tree by tree from the base score, as prediction sums them: the same numbers.
    const rawScores = task === 'binary' && train === data && keptIterations === iterations.trained ? { train: trainScore.slice(), valid: valid === null ? null : validScore.slice() } : undefined;
    return { model, importance, curve, bestIteration, iterations, metricName: metricName(task), ...(rawScores === undefined ? {} : { rawScores }) };
  } finally {
    await learner.close();
    // What no section timed: tree bookkeeping, threshold mapping, validation scores, metrics, other objectives' gradients.
    if (trainingStart !== undefined) profile?.endTraining(trainingStart);
  }
}

function requireLabel(d: ColumnarDataset, params: GbdtParams, what: string): Float64Array {
  const label = d.label;
  if (label === undefined) throw new RangeError(`${what} dataset has no label`);
  for (let i = 0; i < label.length; i++) {
    const y = label[i];
    if (!Number.isFinite(y)) throw new RangeError(`${what} label at row ${i} is not a finite number`);
    if (params.task === 'binary' && y !== 0 && y !== 1) throw new RangeError(`${what} label at row ${i} is ${y}; binary labels must be 0 or 1`);
    if (params.task === 'multiclass' && !(Number.isInteger(y) && y >= 0 && y < params.numClass!)) {
      throw new RangeError(`${what} label at row ${i} is ${y}; multiclass labels must be class codes 0..${params.numClass! - 1}`);
    }
  }
  return label;
}

/** Marks round(F × fraction) features (at least 1) as used for this tree; all features when fraction is 1. */
function sampleFeatures(used: Uint8Array, fraction: number, rng: Mulberry32): void {
  const f = used.length;
  if (fraction >= 1) {
    used.fill(1);
    return;
  }
  const want = Math.max(1, Math.round(f * fraction));
  used.fill(0);
  let chosen = 0;
  for (let j = 0; j < f; j++) {
    if ((f - j) * rng.next() < want - chosen) {
      used[j] = 1;
      chosen++;
    }
  }
}

/** Go-left flags per node of a tree with raw thresholds, in bin space of the given mappers. */
function rawTreeLeftMasks(tree: Tree, mappers: BinMapper[]): (Uint8Array | null)[] {
  return tree.feature.map((f, node) => {
    if (f < 0) return null;
    const mask = new Uint8Array(256);
    const mapper = mappers[f];
    if (mapper.kind === 'numeric') {
      mapper.upperEdges.forEach((edge, i) => {
        if (edge <= tree.threshold[node]) mask[i + 1] = 1;
      });
    } else {
      for (const code of tree.categorySets[node] ?? []) mask[code + 1] = 1;
    }
    mask[0] = tree.missingLeft[node] ? 1 : 0;
    return mask;
  });
}

function addTreeToScores(tree: Tree, masks: (Uint8Array | null)[], data: BinnedMatrix, score: Float64Array): void {
  for (let r = 0; r < data.rowCount; r++) {
    score[r] += tree.value[leafNodeOfBinnedRow(tree, masks, data, r)];
  }
}

/** A single-leaf tree: what a class without training rows gets each iteration (LightGBM does the same). */
function constantTree(value: number): Tree {
  return { feature: [-1], threshold: [0], categorySets: [null], missingLeft: [false], left: [-1], right: [-1], value: [value], gain: [0] };
}

function cloneTree(t: Tree): Tree {
  return {
    feature: [...t.feature],
    threshold: [...t.threshold],
    categorySets: t.categorySets.map((s) => (s === null ? null : [...s])),
    missingLeft: [...t.missingLeft],
    left: [...t.left],
    right: [...t.right],
    value: [...t.value],
    gain: [...t.gain],
  };
}

function cloneMapper(m: BinMapper): BinMapper {
  return m.kind === 'numeric' ? { ...m, upperEdges: [...m.upperEdges] } : { ...m, categories: [...m.categories] };
}
