// Serving's typed failures; the API maps them to 400 (bad rows), 404 (nothing to serve) and 503 (cannot load).

/** A row does not fit the model's feature schema; names the row and the field. */
export class PredictionInputError extends Error {
  constructor(
    readonly rowIndex: number,
    readonly field: string,
    problem: string,
  ) {
    super(field === '' ? `rows[${rowIndex}]: ${problem}` : `rows[${rowIndex}].${field}: ${problem}`);
    this.name = 'PredictionInputError';
  }
}

export class ModelNotServingError extends Error {
  constructor(
    readonly model: string,
    readonly reason: 'unknown_model' | 'no_production_version',
  ) {
    super(
      reason === 'unknown_model'
        ? `model "${model}" does not exist`
        : `model "${model}" has no production version`,
    );
    this.name = 'ModelNotServingError';
  }
}

/** The artifact is missing, corrupt (sha256 mismatch) or not a model onnxruntime can run. */
export class ModelLoadError extends Error {
  constructor(
    readonly model: string,
    readonly version: number,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot load version ${version} of "${model}": ${problem}`, options);
    this.name = 'ModelLoadError';
  }
}

/** The version cannot take raw source rows (no recipe, or feature SQL that is not row-wise): send features. */
export class RawRowsNotServableError extends Error {
  constructor(
    readonly model: string,
    readonly version: number,
    reason: string,
  ) {
    super(`version ${version} of "${model}": ${reason}`);
    this.name = 'RawRowsNotServableError';
  }
}
