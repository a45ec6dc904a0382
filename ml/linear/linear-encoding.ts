// Fits the linear model's input encoding on training data (standardised numerics, one-hot categoricals)
// and builds the design matrix: dense numeric columns plus, per categorical, the index of its one active column.
import type { ColumnarDataset } from '../dataset.js';
import type { Feature, LinearModel } from '../model.js';

export interface LinearEncoding {
  features: Feature[];
  numeric: LinearModel['numeric'];
  categorical: LinearModel['categorical'];
}

/** Dictionary-encodes a categorical column in one pass: per row the id of its distinct value (-1 = missing). */
export interface ColumnDictionary {
  ids: Int32Array;
  values: string[];
  counts: number[];
}

export function dictionaryEncode(column: readonly (string | null)[]): ColumnDictionary {
  const idOf = new Map<string, number>();
  const ids = new Int32Array(column.length);
  const values: string[] = [];
  const counts: number[] = [];
  for (let i = 0; i < column.length; i++) {
    const value = column[i];
    if (value === null || value === undefined) {
      ids[i] = -1;
      continue;
    }
    let id = idOf.get(value);
    if (id === undefined) {
      id = values.length;
      idOf.set(value, id);
      values.push(value);
      counts.push(0);
    }
    counts[id]++;
    ids[i] = id;
  }
  return { ids, values, counts };
}

/**
 * Fits the encoding on training data. Also returns each categorical column's dictionary encoding, which
 * buildLinearDesign can reuse for the same data instead of looking every string up again.
 */
export function fitLinearEncoding(
  data: ColumnarDataset,
  featureNames: string[],
  options: { maxCategoriesPerFeature: number; minDataPerCategory: number },
): { encoding: LinearEncoding; dictionaries: Map<string, ColumnDictionary> } {
  const encoding: LinearEncoding = { features: [], numeric: [], categorical: [] };
  const dictionaries = new Map<string, ColumnDictionary>();
  for (const name of featureNames) {
    const column = data.columns[name];
    if (column === undefined) throw new RangeError(`feature "${name}" is not a column of the training data`);
    if (column instanceof Float64Array) {
      let count = 0;
      let sum = 0;
      for (let i = 0; i < column.length; i++) {
        const x = column[i];
        if (Number.isNaN(x)) continue;
        if (!Number.isFinite(x)) throw new RangeError(`feature "${name}" has an infinite value at row ${i}`);
        count++;
        sum += x;
      }
      const mean = count === 0 ? 0 : sum / count;
      let squares = 0;
      for (let i = 0; i < column.length; i++) {
        const x = column[i];
        if (!Number.isNaN(x)) squares += (x - mean) ** 2;
      }
      const std = count === 0 ? 0 : Math.sqrt(squares / count);
      // A constant column standardises to 0 either way; std 1 keeps the division defined.
      encoding.numeric.push({ name, mean, std: std > 0 ? std : 1, impute: mean });
      encoding.features.push({ name, kind: 'numeric' });
    } else {
      const dictionary = dictionaryEncode(column);
      dictionaries.set(name, dictionary);
      const kept = dictionary.values
        .map((category, id) => [category, dictionary.counts[id]] as const)
        .filter(([, count]) => count >= options.minDataPerCategory)
        .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, options.maxCategoriesPerFeature)
        .map(([category]) => category);
      encoding.categorical.push({ name, categories: kept });
      encoding.features.push({ name, kind: 'categorical', categories: kept });
    }
  }
  return { encoding, dictionaries };
}

/**
 * The design matrix. Parameter layout: numeric weights (k), the intercept, then the one-hot columns of each
 * categorical in order — so `dense` holds k standardised values and a constant 1 per row, and `active`
 * holds, per row and categorical, the parameter index of its one-hot column or -1 (unseen/missing).
 */
export interface LinearDesign {
  rowCount: number;
  denseWidth: number;
  dense: Float64Array;
  categoricalCount: number;
  active: Int32Array;
  parameterCount: number;
  interceptIndex: number;
}

export function buildLinearDesign(
  encoding: LinearEncoding,
  data: ColumnarDataset,
  dictionaries: Map<string, ColumnDictionary> = new Map(),
): LinearDesign {
  const n = data.rowCount;
  const k = encoding.numeric.length;
  const denseWidth = k + 1;
  const dense = new Float64Array(n * denseWidth);
  encoding.numeric.forEach((spec, j) => {
    const column = data.columns[spec.name];
    if (!(column instanceof Float64Array)) throw new RangeError(`feature "${spec.name}" must be a numeric column`);
    for (let i = 0; i < n; i++) {
      const x = column[i];
      dense[i * denseWidth + j] = ((Number.isNaN(x) ? spec.impute : x) - spec.mean) / spec.std;
    }
  });
  for (let i = 0; i < n; i++) dense[i * denseWidth + k] = 1;

  const m = encoding.categorical.length;
  const active = new Int32Array(n * m);
  let offset = denseWidth;
  encoding.categorical.forEach((spec, c) => {
    const column = data.columns[spec.name];
    if (column === undefined || column instanceof Float64Array) {
      throw new RangeError(`feature "${spec.name}" must be a categorical column`);
    }
    const dictionary = dictionaries.get(spec.name) ?? dictionaryEncode(column);
    const index = new Map(spec.categories.map((category, code) => [category, offset + code]));
    const parameterOfId = Int32Array.from(dictionary.values, (value) => index.get(value) ?? -1);
    const ids = dictionary.ids;
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      active[i * m + c] = id < 0 ? -1 : parameterOfId[id];
    }
    offset += spec.categories.length;
  });
  return { rowCount: n, denseWidth, dense, categoricalCount: m, active, parameterCount: offset, interceptIndex: k };
}

/** Every `stride`-th row of a design: a deterministic subsample, e.g. to warm-start Newton on big data. */
export function strideDesignRows(design: LinearDesign, y: Float64Array, stride: number): { design: LinearDesign; y: Float64Array } {
  const { rowCount: n, denseWidth: d, categoricalCount: m } = design;
  const rows = Math.ceil(n / stride);
  const dense = new Float64Array(rows * d);
  const active = new Int32Array(rows * m);
  const subY = new Float64Array(rows);
  for (let r = 0, i = 0; i < n; r++, i += stride) {
    dense.set(design.dense.subarray(i * d, i * d + d), r * d);
    active.set(design.active.subarray(i * m, i * m + m), r * m);
    subY[r] = y[i];
  }
  return { design: { ...design, rowCount: rows, dense, active }, y: subY };
}
