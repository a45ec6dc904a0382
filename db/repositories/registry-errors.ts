// Typed registry failures, as KeelErrors: the API answers 404 / 409 / 422 through the code table, and activities
// turn them into non-retryable failures.
import { KeelError } from '../../errors/keel-error.js';

export type RegistryErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'VERSION_NOT_FOUND'
  | 'VERSION_NOT_DEPLOYABLE'
  | 'ALREADY_IN_PRODUCTION'
  | 'MODEL_TASK_MISMATCH'
  | 'PRODUCTION_MOVED';

export class RegistryError extends KeelError {
  declare readonly code: RegistryErrorCode;
  constructor(code: RegistryErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

export function modelNotFound(model: string): RegistryError {
  return new RegistryError('MODEL_NOT_FOUND', `model "${model}" does not exist`, { model });
}

export function versionNotFound(model: string, version: number): RegistryError {
  return new RegistryError('VERSION_NOT_FOUND', `model "${model}" has no version ${version}`, { model, version });
}
