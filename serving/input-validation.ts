// Checks request rows against the model's feature schema before they reach onnxruntime.
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';
import type { RawRow } from '../ml/model.js';
import { PredictionInputError } from './errors.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Rows as named features: numbers (or null = missing) for numeric features, strings (or null) for
 * categorical ones. An absent feature counts as missing; an unknown one is refused, so typos surface.
 */
/** Feature lookup per schema, built once per loaded model rather than per request. */
const lookups = new WeakMap<readonly OnnxFeatureSchema[], Map<string, OnnxFeatureSchema>>();

function featuresByName(features: readonly OnnxFeatureSchema[]): Map<string, OnnxFeatureSchema> {
  let byName = lookups.get(features);
  if (!byName) {
    byName = new Map(features.map((feature) => [feature.name, feature]));
    lookups.set(features, byName);
  }
  return byName;
}

export function validateRows(rows: readonly unknown[], features: readonly OnnxFeatureSchema[]): RawRow[] {
  const byName = featuresByName(features);
  return rows.map((row, rowIndex) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PredictionInputError(rowIndex, '', `expected an object of features, got ${describe(row)}`);
    }
    let present = 0;
    for (const field in row) {
      if (!Object.hasOwn(row, field)) continue;
      const value = (row as Record<string, unknown>)[field];
      const feature = byName.get(field);
      if (!feature) throw new PredictionInputError(rowIndex, field, 'is not a feature of this model');
      present += 1;
      if (value === null) continue;
      if (feature.kind === 'numeric') {
        if (typeof value !== 'number') throw new PredictionInputError(rowIndex, field, `expected a number or null, got ${describe(value)}`);
        if (!Number.isFinite(value)) throw new PredictionInputError(rowIndex, field, 'must be a finite number');
      } else if (typeof value !== 'string') {
        throw new PredictionInputError(rowIndex, field, `expected a string or null, got ${describe(value)}`);
      }
    }
    // A row that names every feature is already clean (no copy: a 1,000-row batch made 1,000 objects here).
    if (present === features.length) return row as RawRow;
    // Otherwise absent features become explicit nulls, the features in schema order (one shape for all such rows).
    const clean: RawRow = {};
    for (const feature of features) clean[feature.name] = Object.hasOwn(row, feature.name) ? (row as RawRow)[feature.name]! : null;
    return clean;
  });
}
