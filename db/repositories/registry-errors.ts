// Typed registry failures, so the API maps them to 404 / 409 / 422 and activities to non-retryable failures.

export type RegistryErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_NOT_DEPLOYABLE'
  | 'ALREADY_IN_PRODUCTION'
  | 'MODEL_TASK_MISMATCH';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export function modelNotFound(model: string): RegistryError {
  return new RegistryError('MODEL_NOT_FOUND', `model "${model}" does not exist`, { model });
}

export function versionNotFound(model: string, version: number): RegistryError {
  return new RegistryError('VERSION_NOT_FOUND', `model "${model}" has no version ${version}`, { model, version });
}
