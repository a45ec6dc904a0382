// Prediction on RAW inputs with the semantics of ml/model.ts: numeric go left when x <= threshold,
// categorical go left when the category's code is in the node's set, missing (null/NaN, or an unseen
// category) follows missingLeft. This is the reference the ONNX parity check compares against.

import { isNumericColumn, type ColumnarDataset } from '../dataset.js';
import type { GbdtModel, RawRow, Tree } from '../model.js';
import { softmaxRows } from '../softmax.js';

export type PredictInput = RawRow[] | ColumnarDataset;

/**
 * Raw scores: baseScore plus the sum of tree values (log-odds for binary, the prediction for regression). For a
 * multiclass model, row-major rows × K: score[row * K + k] = baseScores[k] + the trees of class k.
 */
export function predictGbdtRaw(model: GbdtModel, input: PredictInput): Float64Array {
  const encoded = encodeFeatures(model, input);
  const n = encoded.rowCount;
  const classCount = model.task === 'multiclass' ? multiclassBaseScores(model).length : 1;
  const score = new Float64Array(n * classCount);
  if (classCount === 1) score.fill(model.baseScore);
  else for (let r = 0; r < n; r++) score.set(multiclassBaseScores(model), r * classCount);
  for (let t = 0; t < model.trees.length; t++) {
    const tree = model.trees[t];
    const k = t % classCount;
    const inSet = categoryMembership(model, tree);
    for (let r = 0; r < n; r++) {
      let node = 0;
      while (tree.feature[node] >= 0) {
        const f = tree.feature[node];
        const x = encoded.columns[f][r];
        let goLeft: boolean;
        if (Number.isNaN(x)) goLeft = tree.missingLeft[node];
        else if (encoded.isCategorical[f]) goLeft = inSet[node]![x] === 1;
        else goLeft = x <= tree.threshold[node];
        node = goLeft ? tree.left[node] : tree.right[node];
      }
      score[r * classCount + k] += tree.value[node];
    }
  }
  return score;
}

/**
 * Probabilities of the positive class (binary), predicted values (regression), or class probabilities (multiclass:
 * row-major rows × K, in the order of model.classes, the softmax of the raw scores).
 */
export function predictGbdt(model: GbdtModel, input: PredictInput): Float64Array {
  const score = predictGbdtRaw(model, input);
  if (model.task === 'binary') {
    for (let i = 0; i < score.length; i++) score[i] = 1 / (1 + Math.exp(-score[i]));
  } else if (model.task === 'multiclass') {
    softmaxRows(score, multiclassBaseScores(model).length);
  }
  return score;
}

function multiclassBaseScores(model: GbdtModel): number[] {
  if (model.baseScores === undefined || model.baseScores.length < 3) throw new Error('multiclass GBDT model has no per-class base scores');
  return model.baseScores;
}

interface EncodedFeatures {
  rowCount: number;
  /** Per model feature: raw numeric value, or category code for categoricals; NaN = missing. */
  columns: Float64Array[];
  isCategorical: boolean[];
}

function encodeFeatures(model: GbdtModel, input: PredictInput): EncodedFeatures {
  const isRows = Array.isArray(input);
  const rowCount = isRows ? input.length : input.rowCount;
  const columns = model.features.map((feature) => {
    const out = new Float64Array(rowCount);
    const codeOf = feature.kind === 'categorical' ? new Map(feature.categories.map((c, i) => [c, i])) : null;
    const encode = (v: unknown, row: number): number => {
      if (v === null || v === undefined) return NaN;
      if (codeOf === null) {
        if (typeof v !== 'number') throw new TypeError(`feature "${feature.name}" at row ${row} must be a number or null, got ${typeof v}`);
        return v;
      }
      if (typeof v !== 'string') throw new TypeError(`feature "${feature.name}" at row ${row} must be a string or null, got ${typeof v}`);
      return codeOf.get(v) ?? NaN;
    };
    if (isRows) {
      for (let r = 0; r < rowCount; r++) out[r] = encode(input[r][feature.name], r);
    } else {
      const column = input.columns[feature.name];
      if (column === undefined) throw new RangeError(`input has no column "${feature.name}"`);
      if (isNumericColumn(column)) {
        if (codeOf !== null) throw new TypeError(`feature "${feature.name}" is categorical but the column is numeric`);
        out.set(column);
      } else {
        for (let r = 0; r < rowCount; r++) out[r] = encode(column[r], r);
      }
    }
    return out;
  });
  return { rowCount, columns, isCategorical: model.features.map((f) => f.kind === 'categorical') };
}

/** Per interior categorical node: a 0/1 flag per category code. */
function categoryMembership(model: GbdtModel, tree: Tree): (Uint8Array | null)[] {
  return tree.categorySets.map((set, node) => {
    if (set === null || tree.feature[node] < 0) return null;
    const feature = model.features[tree.feature[node]];
    const flags = new Uint8Array(feature.kind === 'categorical' ? feature.categories.length : 0);
    for (const code of set) flags[code] = 1;
    return flags;
  });
}
