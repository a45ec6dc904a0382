// Errors cross a thread boundary as plain data (structured clone drops classes): a KeelError comes back as a
// KeelError with its code and details, so the activity maps it exactly as it would in its own thread; anything
// else comes back as an Error with its name, message and stack, retryable as before.
import type { ErrorCode } from '../errors/error-codes.js';
import { isKeelError, KeelError } from '../errors/keel-error.js';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: ErrorCode;
  details?: Record<string, unknown>;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const base = { name: error.name, message: error.message, stack: error.stack };
  return isKeelError(error) ? { ...base, code: error.code, ...(error.details === undefined ? {} : { details: error.details }) } : base;
}

export function deserializeError(serialized: SerializedError): Error {
  const error = serialized.code === undefined ? new Error(serialized.message) : new KeelError(serialized.code, serialized.message, serialized.details);
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}
