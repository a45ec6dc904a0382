// Every error family Keel throws on purpose is a KeelError whose code is in the one table.
import { describe, expect, it } from 'vitest';
import { ArtifactIntegrityError, ArtifactNotFoundError } from '../artifacts/artifact-store.js';
import { TrainingDataError } from '../data/training-data.js';
import { ConfigError } from '../config.js';
import { DataRejectedError, SourceNotAllowedError, SourceQueryRejectedError, SourceUnreadableError, TransformRejectedError } from '../data/errors.js';
import { RegistryError } from '../db/repositories/registry-errors.js';
import { ModelLoadError, ModelNotServingError, PredictionInputError } from '../serving/errors.js';
import { ERROR_CODES, isErrorCode } from './error-codes.js';
import { KeelError } from './keel-error.js';

const sha = 'a'.repeat(64);

describe('error families', () => {
  const samples: KeelError[] = [
    new ArtifactNotFoundError(sha),
    new ArtifactIntegrityError(sha, 'b'.repeat(64)),
    new TrainingDataError('target "y" is missing', 'y'),
    new ConfigError('PORT', 'must be a port number'),
    new SourceNotAllowedError('outside the data roots'),
    new SourceUnreadableError('ragged'),
    new SourceQueryRejectedError('not a SELECT'),
    new TransformRejectedError('not a SELECT'),
    new DataRejectedError('failed validation', { reportId: 'r' }),
    new RegistryError('ALREADY_IN_PRODUCTION', 'already production'),
    new PredictionInputError(0, 'x', 'must be a finite number'),
    new ModelNotServingError('m', 'unknown_model'),
    new ModelLoadError('m', 1, 'corrupt'),
  ];

  it.each(samples.map((error) => [error.name, error] as const))('%s is a KeelError with a code from the table', (name, error) => {
    expect(error).toBeInstanceOf(KeelError);
    expect(error.name).toBe(name);
    expect(isErrorCode(error.code)).toBe(true);
    expect(error.status).toBe(ERROR_CODES[error.code].status);
  });

  it('keeps the bad-input failures non-retryable', () => {
    expect(new TrainingDataError('bad').retryable).toBe(false);
    expect(new SourceUnreadableError('bad').retryable).toBe(false);
  });
});
