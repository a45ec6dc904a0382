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
export function validateRows(rows: readonly unknown[], features: readonly OnnxFeatureSchema[]): RawRow[] {
  const byName = new Map(features.map((feature) => [feature.name, feature]));
  return rows.map((row, rowIndex) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PredictionInputError(rowIndex, '', `expected an object of features, got ${describe(row)}`);
    }
    const clean: RawRow = {};
    for (const [field, value] of Object.entries(row as Record<string, unknown>)) {
      const feature = byName.get(field);
      if (!feature) throw new PredictionInputError(rowIndex, field, 'is not a feature of this model');
      if (value === null) {
        clean[field] = null;
      } else if (feature.kind === 'numeric') {
        if (typeof value !== 'number') throw new PredictionInputError(rowIndex, field, `expected a number or null, got ${describe(value)}`);
        if (!Number.isFinite(value)) throw new PredictionInputError(rowIndex, field, 'must be a finite number');
        clean[field] = value;
      } else {
        if (typeof value !== 'string') throw new PredictionInputError(rowIndex, field, `expected a string or null, got ${describe(value)}`);
        clean[field] = value;
      }
    }
    // Own keys only: `'constructor' in {}` is true, which would leave such a feature as the inherited function.
    for (const feature of features) if (!Object.hasOwn(clean, feature.name)) clean[feature.name] = null;
    return clean;
  });
}
