// Feature binning, done once before training: every feature becomes a byte per row (bin 0 = missing).
// Numeric bins are ranges closed on the right: bin b (1-based) holds upperEdges[b-2] < x <= upperEdges[b-1],
// so a split "bins 1..t go left" is exactly the raw test x <= upperEdges[t-1] used at prediction time.

import { isNumericColumn, type ColumnarDataset } from '../dataset.js';
import type { Feature } from '../model.js';
import type { GbdtParams } from './params.js';
import { lightgbmBinEdges, distinctValues } from './numeric-bin-edges.js';
import { Mulberry32 } from './prng.js';

export const MISSING_BIN = 0;

export interface NumericBinMapper {
  kind: 'numeric';
  name: string;
  /** Ascending upper edges of bins 1..n; the last is Number.MAX_VALUE (finite, so it survives JSON). */
  upperEdges: number[];
}

export interface CategoricalBinMapper {
  kind: 'categorical';
  name: string;
  /** Categories by training frequency (descending); category code c lives in bin c + 1. */
  categories: string[];
}

export type BinMapper = NumericBinMapper | CategoricalBinMapper;

/** Binned features, column-major: the bin of feature f in row r is columns[f][r]. */
export interface BinnedMatrix {
  rowCount: number;
  featureCount: number;
  columns: Uint8Array[];
}

export function binCount(mapper: BinMapper): number {
  return 1 + (mapper.kind === 'numeric' ? mapper.upperEdges.length : mapper.categories.length);
}

export function mapperToFeature(mapper: BinMapper): Feature {
  return mapper.kind === 'numeric'
    ? { name: mapper.name, kind: 'numeric' }
    : { name: mapper.name, kind: 'categorical', categories: [...mapper.categories] };
}

export function buildBinMappers(data: ColumnarDataset, featureNames: string[], params: GbdtParams): BinMapper[] {
  const sampleRows = sampleRowIndices(data.rowCount, params.binSampleSize, params.seed);
  return featureNames.map((name) => {
    const column = data.columns[name];
    if (column === undefined) throw new RangeError(`feature column "${name}" is not in the dataset`);
    if (isNumericColumn(column)) {
      return { kind: 'numeric', name, upperEdges: numericUpperEdges(column, sampleRows, params.maxBin - 1, params.minDataInBin) };
    }
    return { kind: 'categorical', name, categories: frequentCategories(column, params.minDataPerCategory, params.maxBin - 1) };
  });
}

/** Bins every feature of `data` with the given mappers (which may come from another dataset). */
export function binDataset(data: ColumnarDataset, mappers: BinMapper[]): BinnedMatrix {
  const n = data.rowCount;
  const columns = mappers.map((mapper) => {
    const bins = new Uint8Array(n);
    const column = data.columns[mapper.name];
    if (column === undefined) throw new RangeError(`feature column "${mapper.name}" is not in the dataset`);
    if (mapper.kind === 'numeric') {
      if (!isNumericColumn(column)) throw new TypeError(`feature "${mapper.name}" was numeric in training but is categorical here`);
      const edges = Float64Array.from(mapper.upperEdges);
      for (let r = 0; r < n; r++) bins[r] = numericBin(edges, column[r]);
    } else {
      if (isNumericColumn(column)) throw new TypeError(`feature "${mapper.name}" was categorical in training but is numeric here`);
      const binOf = categoryBinLookup(mapper.categories);
      for (let r = 0; r < n; r++) {
        const v = column[r];
        bins[r] = v === null || v === undefined ? MISSING_BIN : (binOf.get(v) ?? MISSING_BIN);
      }
    }
    return bins;
  });
  return { rowCount: n, featureCount: mappers.length, columns };
}

export function categoryBinLookup(categories: string[]): Map<string, number> {
  return new Map(categories.map((c, code) => [c, code + 1]));
}

/** Bin of a raw numeric value: the first bin whose upper edge is >= x; NaN is missing. */
export function numericBin(upperEdges: Float64Array, x: number): number {
  if (Number.isNaN(x)) return MISSING_BIN;
  let lo = 0;
  let hi = upperEdges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= upperEdges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

/** Sorted row indices of a uniform sample of `size` rows (all rows when there are fewer). */
function sampleRowIndices(rowCount: number, size: number, seed: number): Int32Array {
  if (rowCount <= size) return Int32Array.from({ length: rowCount }, (_, i) => i);
  // Selection sampling (Knuth's algorithm S): exact size, ascending order, one draw per row.
  const rng = new Mulberry32(seed ^ 0x5bd1e995);
  const out = new Int32Array(size);
  let chosen = 0;
  for (let r = 0; r < rowCount && chosen < size; r++) {
    if ((rowCount - r) * rng.next() < size - chosen) out[chosen++] = r;
  }
  return out;
}

/**
 * Upper edges for at most `maxBins` non-missing bins from the sampled values, found as LightGBM finds them
 * (numeric-bin-edges.ts). Edges sit halfway between neighbouring distinct values, in double (the ONNX graph
 * compares double inputs with double thresholds).
 */
function numericUpperEdges(column: Float64Array, sampleRows: Int32Array, maxBins: number, minDataInBin: number): number[] {
  const sampled = Array.from(sampleRows, (r) => column[r]);
  const edges = lightgbmBinEdges(distinctValues(sampled), maxBins, minDataInBin, edgeBetween);
  // The last edge is finite so it survives JSON.
  edges[edges.length - 1] = Number.MAX_VALUE;
  return edges;
}

function edgeBetween(a: number, b: number): number {
  const mid = a / 2 + b / 2;
  // Neighbouring doubles have no double between them: the midpoint rounds onto one of them; a keeps x <= a exact.
  return mid >= a && mid < b ? mid : a;
}

function frequentCategories(column: (string | null)[], minCount: number, maxCategories: number): string[] {
  const counts = new Map<string, number>();
  for (let r = 0; r < column.length; r++) {
    const v = column[r];
    if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts.entries()]
    .filter(([, n]) => n >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxCategories)
    .map(([c]) => c);
}
