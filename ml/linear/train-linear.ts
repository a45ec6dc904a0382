// Trains an L2-regularised logistic (binary) or linear (regression) model on a columnar dataset.
import type { ColumnarDataset } from '../dataset.js';
import { assertConsistentDataset } from '../dataset.js';
import { logLoss } from '../metrics/binary-metrics.js';
import { rmse } from '../metrics/regression-metrics.js';
import type { LinearModel, TrainResult, TrainingCurvePoint } from '../model.js';
import { buildLinearDesign, fitLinearEncoding, strideDesignRows, type LinearEncoding } from './linear-encoding.js';
import { resolveLinearParams, type LinearParams, type LinearParamsInput } from './linear-params.js';
import { MULTINOMIAL_NEWTON_MAX_PARAMETERS, multinomialNewton } from './multinomial-newton.js';
import { fitNewton, linearPredictor, logistic } from './newton-solver.js';
import { predictLinear } from './predict-linear.js';
import { softmaxRows } from '../softmax.js';

/** Logistic fits on at least twice this many rows start from the optimum on a subsample of about this size. */
const WARM_START_ROWS = 100_000;
const WARM_START_TOLERANCE = 1e-7;

export interface TrainLinearOptions {
  /** Held-out rows scored after every iteration for the curve's validMetric. */
  valid?: ColumnarDataset;
  /** Progress callback (e.g. an activity heartbeat), once per iteration. */
  onIteration?: (point: TrainingCurvePoint) => void;
}

function requireLabels(data: ColumnarDataset, task: LinearParams['task'], what: string, classCount = 0): Float64Array {
  const label = data.label;
  if (label === undefined) throw new RangeError(`${what} has no label`);
  for (let i = 0; i < label.length; i++) {
    const y = label[i];
    const ok = task === 'binary' ? y === 0 || y === 1 : task === 'multiclass' ? Number.isInteger(y) && y >= 0 && y < classCount : Number.isFinite(y);
    if (!ok) {
      const expected = task === 'binary' ? '0 or 1' : task === 'multiclass' ? `a class code 0..${classCount - 1}` : 'a finite number';
      throw new RangeError(`${what} label at row ${i} is ${y}; expected ${expected}`);
    }
  }
  return label;
}

function modelFrom(encoding: LinearEncoding, task: LinearModel['task'], beta: Float64Array, interceptIndex: number): LinearModel {
  const weights = [...beta.subarray(0, interceptIndex), ...beta.subarray(interceptIndex + 1)];
  return {
    kind: 'linear',
    task,
    features: encoding.features,
    numeric: encoding.numeric,
    categorical: encoding.categorical,
    weights,
    intercept: beta[interceptIndex],
  };
}

export function trainLinear(data: ColumnarDataset, paramsInput: LinearParamsInput, options: TrainLinearOptions = {}): TrainResult {
  const params = resolveLinearParams(paramsInput);
  if (params.task === 'multiclass') return trainMultinomial(data, params, options);
  assertConsistentDataset(data);
  if (data.rowCount === 0) throw new RangeError('cannot train on an empty dataset');
  const y = requireLabels(data, params.task, 'training data');
  const validLabels = options.valid === undefined ? undefined : requireLabels(options.valid, params.task, 'validation data');
  if (options.valid !== undefined) assertConsistentDataset(options.valid);

  const featureNames = params.features ?? Object.keys(data.columns).sort();
  if (featureNames.length === 0) throw new RangeError('no feature columns to train on');
  const { encoding, dictionaries } = fitLinearEncoding(data, featureNames, params);
  const design = buildLinearDesign(encoding, data, dictionaries);

  const initial = new Float64Array(design.parameterCount);
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i];
  mean /= y.length;
  // Start from the intercept-only fit: the base rate's log-odds (kept finite when one class is absent) or the mean.
  const rate = Math.min(Math.max(mean, 1e-6), 1 - 1e-6);
  initial[design.interceptIndex] = params.task === 'binary' ? Math.log(rate / (1 - rate)) : mean;

  const family = params.task === 'binary' ? 'logistic' : 'gaussian';
  let start: Float64Array = initial;
  if (family === 'logistic' && data.rowCount >= 2 * WARM_START_ROWS) {
    // Newton's early iterations only need to get close; doing them on a strided subsample leaves the
    // full-data passes to the last, quadratically converging steps.
    const sample = strideDesignRows(design, y, Math.ceil(data.rowCount / WARM_START_ROWS));
    start = fitNewton(sample.design, sample.y, initial, {
      family, l2: params.l2, maxIterations: params.maxIterations, tolerance: WARM_START_TOLERANCE,
    }).beta;
  }

  const curve: TrainingCurvePoint[] = [];
  const metric = params.task === 'binary' ? logLoss : rmse;
  const result = fitNewton(design, y, start, {
    family,
    l2: params.l2,
    maxIterations: params.maxIterations,
    tolerance: params.tolerance,
    onIteration: (iteration, beta, z) => {
      const fitted = params.task === 'binary' ? z.map(logistic) : z;
      let validMetric: number | null = null;
      if (options.valid !== undefined && validLabels !== undefined) {
        const model = modelFrom(encoding, params.task, beta, design.interceptIndex);
        validMetric = metric(validLabels, predictLinear(model, options.valid));
      }
      const point = { iteration, trainMetric: metric(y, fitted), validMetric };
      curve.push(point);
      options.onIteration?.(point);
    },
  });

  const model = modelFrom(encoding, params.task, result.beta, design.interceptIndex);
  return {
    model,
    importance: linearImportance(model, design.active, data),
    curve,
    bestIteration: curve[curve.length - 1].iteration,
    metricName: params.task === 'binary' ? 'logloss' : 'rmse',
  };
}

/**
 * Multinomial logistic regression (softmax over K linear scores, L2 on the weights): full Newton while K × P is
 * small (multinomial-newton.ts); beyond, block-coordinate Newton, where a sweep updates each class in turn with the
 * others fixed (it converges more slowly: `maxIterations` sweeps at most). With the others fixed, class k's loss is a logistic loss
 * with the offset -log Σ_{j≠k} e^{z_j}, so each block step is the binary trainer's Newton step on that offset. The
 * objective is convex and each block step decreases it, so the sweeps converge to the multinomial optimum.
 */
function trainMultinomial(data: ColumnarDataset, params: LinearParams, options: TrainLinearOptions): TrainResult {
  assertConsistentDataset(data);
  if (data.rowCount === 0) throw new RangeError('cannot train on an empty dataset');
  const classCount = params.numClass!;
  const y = requireLabels(data, 'multiclass', 'training data', classCount);
  const validLabels = options.valid === undefined ? undefined : requireLabels(options.valid, 'multiclass', 'validation data', classCount);
  if (options.valid !== undefined) assertConsistentDataset(options.valid);
  const featureNames = params.features ?? Object.keys(data.columns).sort();
  if (featureNames.length === 0) throw new RangeError('no feature columns to train on');
  const { encoding, dictionaries } = fitLinearEncoding(data, featureNames, params);
  const design = buildLinearDesign(encoding, data, dictionaries);
  const n = data.rowCount;
  const P = design.parameterCount;

  // Start from the intercept-only fit: each class's log share (kept finite when a class is absent).
  const counts = new Float64Array(classCount);
  for (let i = 0; i < n; i++) counts[y[i]]++;
  const betas: Float64Array[] = Array.from({ length: classCount }, (_, k) => {
    const beta = new Float64Array(P);
    beta[design.interceptIndex] = Math.log(Math.max(counts[k] / n, 1e-6));
    return beta;
  });
  // scores[k][i] = x_i · beta_k
  const scores = betas.map((beta) => {
    const z = new Float64Array(n);
    linearPredictor(design, beta, z);
    return z;
  });

  const modelOf = () => multinomialModel(encoding, betas, design.interceptIndex, classCount);
  const curve: TrainingCurvePoint[] = [];
  const probabilities = new Float64Array(n * classCount);
  const record = (iteration: number): number => {
    for (let i = 0; i < n; i++) for (let k = 0; k < classCount; k++) probabilities[i * classCount + k] = scores[k][i];
    softmaxRows(probabilities, classCount);
    let loss = 0;
    for (let i = 0; i < n; i++) loss -= Math.log(Math.max(1e-15, probabilities[i * classCount + y[i]]));
    let penalty = 0;
    for (const beta of betas) for (let j = 0; j < P; j++) if (j !== design.interceptIndex) penalty += beta[j] * beta[j];
    const validMetric =
      options.valid !== undefined && validLabels !== undefined
        ? multiclassLogLoss(validLabels, predictLinear(modelOf(), options.valid), classCount)
        : null;
    const point = { iteration, trainMetric: loss / n, validMetric };
    curve.push(point);
    options.onIteration?.(point);
    return loss / n + 0.5 * params.l2 * penalty;
  };

  let objective = record(0);
  if (classCount * P <= MULTINOMIAL_NEWTON_MAX_PARAMETERS) {
    const newton = multinomialNewton(design, y, classCount, params.l2, params.tolerance);
    for (let iteration = 1; iteration <= params.maxIterations; iteration++) {
      const more = newton.step(betas);
      betas.forEach((beta, k) => linearPredictor(design, beta, scores[k]));
      record(iteration);
      if (!more) break;
    }
    return multinomialResult(modelOf(), design.active, data, curve);
  }
  const offset = new Float64Array(n);
  const target = new Float64Array(n);
  for (let sweep = 1; sweep <= params.maxIterations; sweep++) {
    for (let k = 0; k < classCount; k++) {
      for (let i = 0; i < n; i++) {
        // offset_i = -log Σ_{j≠k} e^{z_ij}, computed with the row's max subtracted.
        let max = -Infinity;
        for (let j = 0; j < classCount; j++) if (j !== k) max = Math.max(max, scores[j][i]);
        let sum = 0;
        for (let j = 0; j < classCount; j++) if (j !== k) sum += Math.exp(scores[j][i] - max);
        offset[i] = -(max + Math.log(sum));
        target[i] = y[i] === k ? 1 : 0;
      }
      const result = fitNewton(design, target, betas[k], {
        family: 'logistic', l2: params.l2, maxIterations: 1, tolerance: params.tolerance, offset,
        onIteration: (_, __, z) => {
          for (let i = 0; i < n; i++) scores[k][i] = z[i] - offset[i];
        },
      });
      betas[k] = result.beta;
    }
    const previous = objective;
    objective = record(sweep);
    if (previous - objective <= params.tolerance * Math.max(1, Math.abs(objective))) break;
  }

  return multinomialResult(modelOf(), design.active, data, curve);
}

/** A feature's importance sums its per-class importances. */
function multinomialResult(model: LinearModel, active: Int32Array, data: ColumnarDataset, curve: TrainingCurvePoint[]): TrainResult {
  const importance: Record<string, number> = {};
  for (const weights of model.multiclass!.weights) {
    const classImportance = linearImportance({ ...model, weights }, active, data);
    for (const [name, value] of Object.entries(classImportance)) importance[name] = (importance[name] ?? 0) + value;
  }
  return { model, importance, curve, bestIteration: curve[curve.length - 1].iteration, metricName: 'multi_logloss' };
}

function multinomialModel(encoding: LinearEncoding, betas: Float64Array[], interceptIndex: number, classCount: number): LinearModel {
  const perClass = betas.map((beta) => modelFrom(encoding, 'multiclass', beta, interceptIndex));
  return {
    ...perClass[0],
    // Class codes until the caller names them (the pipeline stores the target's values here).
    multiclass: {
      classes: Array.from({ length: classCount }, (_, k) => String(k)),
      weights: perClass.map((m) => m.weights),
      intercepts: perClass.map((m) => m.intercept),
    },
  };
}

function multiclassLogLoss(labels: Float64Array, probabilities: Float64Array, classCount: number): number {
  let loss = 0;
  for (let i = 0; i < labels.length; i++) loss -= Math.log(Math.max(1e-15, probabilities[i * classCount + labels[i]]));
  return loss / labels.length;
}

/**
 * Importance of a feature = Σ over its encoded columns of |weight| × that column's standard deviation on the
 * training data, i.e. how much the score moves for a typical change of the feature.
 */
function linearImportance(model: LinearModel, active: Int32Array, data: ColumnarDataset): Record<string, number> {
  const n = data.rowCount;
  const importance: Record<string, number> = {};
  model.numeric.forEach((spec, j) => {
    const column = data.columns[spec.name] as Float64Array;
    let present = 0;
    for (let i = 0; i < n; i++) if (!Number.isNaN(column[i])) present++;
    // Standardised and mean-imputed, the column has mean 0 and variance present / n.
    importance[spec.name] = Math.abs(model.weights[j]) * Math.sqrt(present / n);
  });
  const k = model.numeric.length;
  const columnCounts = new Float64Array(model.weights.length + 1);
  for (let i = 0; i < active.length; i++) if (active[i] >= 0) columnCounts[active[i]]++;
  let parameter = k + 1; // one-hot parameters start after the numeric weights and the intercept
  model.categorical.forEach((spec) => {
    let total = 0;
    for (let code = 0; code < spec.categories.length; code++, parameter++) {
      const share = columnCounts[parameter] / n;
      total += Math.abs(model.weights[parameter - 1]) * Math.sqrt(share * (1 - share));
    }
    importance[spec.name] = total;
  });
  return importance;
}
