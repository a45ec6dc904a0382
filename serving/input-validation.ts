// Checks request rows against the model's feature schema before they reach onnxruntime.
import type { ColumnarInput, OnnxFeatureSchema } from '../ml/onnx/index.js';
import type { RawRow } from '../ml/model.js';
import { PredictionInputError } from './errors.js';
import type { ParsedFeatureRows } from './feature-rows-body.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Rows as named features: numbers (or null = missing) for numeric features, strings (or null) for
 * categorical ones. An absent feature counts as missing; an unknown one is refused, so typos surface.
 */
/** Feature lookup per schema (name → index in the schema), built once per loaded model rather than per request. */
const lookups = new WeakMap<readonly OnnxFeatureSchema[], Map<string, number>>();

function featureIndexes(features: readonly OnnxFeatureSchema[]): Map<string, number> {
  let byName = lookups.get(features);
  if (!byName) {
    byName = new Map(features.map((feature, index) => [feature.name, index]));
    lookups.set(features, byName);
  }
  return byName;
}

/** Checked rows, twice: as rows (what the log records) and as the scorer's columns, filled in the same pass. */
export interface ValidatedRows {
  rows: RawRow[];
  /** Numeric features as Float64Array (NaN = missing), categorical ones as strings (null = missing). */
  input: ColumnarInput;
}

/**
 * One pass over the rows: each value checked and written straight into its feature's column, so the scorer does not
 * read 1,000 row objects again feature by feature.
 */
export function validateFeatureRows(rows: readonly unknown[], features: readonly OnnxFeatureSchema[]): ValidatedRows {
  const byIndex = featureIndexes(features);
  const count = rows.length;
  const numeric = features.map((feature) => feature.kind === 'numeric');
  const columnList = features.map((feature) =>
    feature.kind === 'numeric' ? new Float64Array(count).fill(Number.NaN) : new Array<string | null>(count).fill(null),
  );
  const clean = new Array<RawRow>(count);
  for (let rowIndex = 0; rowIndex < count; rowIndex++) {
    const row = rows[rowIndex];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PredictionInputError(rowIndex, '', `expected an object of features, got ${describe(row)}`);
    }
    let present = 0;
    for (const field in row) {
      if (!Object.hasOwn(row, field)) continue;
      const value = (row as Record<string, unknown>)[field];
      const index = byIndex.get(field);
      if (index === undefined) throw new PredictionInputError(rowIndex, field, 'is not a feature of this model');
      present += 1;
      if (value === null) continue;
      if (numeric[index]) {
        if (typeof value !== 'number') throw new PredictionInputError(rowIndex, field, `expected a number or null, got ${describe(value)}`);
        if (!Number.isFinite(value)) throw new PredictionInputError(rowIndex, field, 'must be a finite number');
        (columnList[index] as Float64Array)[rowIndex] = value;
      } else {
        if (typeof value !== 'string') throw new PredictionInputError(rowIndex, field, `expected a string or null, got ${describe(value)}`);
        (columnList[index] as Array<string | null>)[rowIndex] = value;
      }
    }
    // A row that names every feature is already clean (no copy: a 1,000-row batch made 1,000 objects here).
    if (present === features.length) {
      clean[rowIndex] = row as RawRow;
      continue;
    }
    // Otherwise absent features become explicit nulls, the features in schema order (one shape for all such rows).
    const filled: RawRow = {};
    for (const feature of features) filled[feature.name] = Object.hasOwn(row, feature.name) ? (row as RawRow)[feature.name]! : null;
    clean[rowIndex] = filled;
  }
  const columns: ColumnarInput['columns'] = {};
  features.forEach((feature, index) => (columns[feature.name] = columnList[index]!));
  return { rows: clean, input: { rowCount: count, columns } };
}

export function validateRows(rows: readonly unknown[], features: readonly OnnxFeatureSchema[]): RawRow[] {
  return validateFeatureRows(rows, features).rows;
}

/**
 * Feature rows parsed straight into columns (feature-rows-body.ts), checked column by column: the scorer's columns
 * without a row object. A column that breaks a rule sends the rows through validateFeatureRows, so the 400 names the
 * same row and field, with the same words, as for rows parsed by JSON.parse.
 */
export function validateParsedFeatureRows(parsed: ParsedFeatureRows, features: readonly OnnxFeatureSchema[]): ColumnarInput {
  const byIndex = featureIndexes(features);
  const count = parsed.rowCount;
  const columnList: Array<Float64Array | Array<string | null> | undefined> = new Array(features.length);
  let valid = true;
  for (const field of parsed.fields) {
    const index = byIndex.get(field.name);
    if (index === undefined) {
      valid = false;
      break;
    }
    if (features[index]!.kind === 'numeric') {
      if (field.stringCount > 0) {
        valid = false;
        break;
      }
      columnList[index] = field.numbers;
    } else {
      if (field.numberCount > 0) {
        valid = false;
        break;
      }
      columnList[index] = field.strings ?? new Array<string | null>(count).fill(null);
    }
  }
  if (!valid) {
    validateFeatureRows(parsed.rows(), features);
    throw new Error('feature columns were refused but their rows were not');
  }
  const columns: ColumnarInput['columns'] = {};
  features.forEach((feature, index) => {
    columns[feature.name] =
      columnList[index] ?? (feature.kind === 'numeric' ? new Float64Array(count).fill(Number.NaN) : new Array<string | null>(count).fill(null));
  });
  return { rowCount: count, columns };
}
