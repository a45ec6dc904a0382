// Serving's typed failures, as KeelErrors: the API answers 400 (bad rows), 404 (nothing to serve) and 503 (cannot
// load) through the code table, like every other error.
import { KeelError } from '../errors/keel-error.js';

/** A row does not fit the model's feature schema; names the row and the field. */
export class PredictionInputError extends KeelError {
  constructor(
    readonly rowIndex: number,
    readonly field: string,
    problem: string,
  ) {
    super('INVALID_ROW', field === '' ? `rows[${rowIndex}]: ${problem}` : `rows[${rowIndex}].${field}: ${problem}`, {
      row: rowIndex,
      field,
    });
  }
}

export class ModelNotServingError extends KeelError {
  constructor(
    readonly model: string,
    readonly reason: 'unknown_model' | 'no_production_version',
  ) {
    super(
      reason === 'unknown_model' ? 'MODEL_NOT_FOUND' : 'NO_PRODUCTION_VERSION',
      reason === 'unknown_model' ? `model "${model}" does not exist` : `model "${model}" has no production version`,
      { model },
    );
  }
}

/** The artifact is missing, corrupt (sha256 mismatch) or not a model onnxruntime can run. */
export class ModelLoadError extends KeelError {
  constructor(
    readonly model: string,
    readonly version: number,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super('MODEL_UNAVAILABLE', `cannot load version ${version} of "${model}": ${problem}`, { model, version }, options);
  }
}

/** The version cannot take raw source rows (no recipe, or feature SQL that is not row-wise): send features. */
export class RawRowsNotServableError extends KeelError {
  constructor(
    readonly model: string,
    readonly version: number,
    reason: string,
  ) {
    super('RAW_ROWS_NOT_SERVABLE', `version ${version} of "${model}": ${reason}`, { model, version, send: 'features' });
  }
}
