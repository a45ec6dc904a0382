// Trains an L2-regularised logistic (binary) or linear (regression) model on a columnar dataset.
import type { ColumnarDataset } from '../dataset.js';
import { assertConsistentDataset } from '../dataset.js';
import { logLoss } from '../metrics/binary-metrics.js';
import { rmse } from '../metrics/regression-metrics.js';
import type { LinearModel, TrainResult, TrainingCurvePoint } from '../model.js';
import { buildLinearDesign, fitLinearEncoding, strideDesignRows, type LinearEncoding } from './linear-encoding.js';
import { resolveLinearParams, type LinearParamsInput } from './linear-params.js';
import { fitNewton, logistic } from './newton-solver.js';
import { predictLinear } from './predict-linear.js';

/** Logistic fits on at least twice this many rows start from the optimum on a subsample of about this size. */
const WARM_START_ROWS = 100_000;
const WARM_START_TOLERANCE = 1e-7;

export interface TrainLinearOptions {
  /** Held-out rows scored after every iteration for the curve's validMetric. */
  valid?: ColumnarDataset;
  /** Progress callback (e.g. an activity heartbeat), once per iteration. */
  onIteration?: (point: TrainingCurvePoint) => void;
}

function requireLabels(data: ColumnarDataset, task: 'binary' | 'regression', what: string): Float64Array {
  const label = data.label;
  if (label === undefined) throw new RangeError(`${what} has no label`);
  for (let i = 0; i < label.length; i++) {
    const y = label[i];
    if (task === 'binary' ? y !== 0 && y !== 1 : !Number.isFinite(y)) {
      throw new RangeError(`${what} label at row ${i} is ${y}; expected ${task === 'binary' ? '0 or 1' : 'a finite number'}`);
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
