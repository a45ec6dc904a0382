// The one base error: every error Keel throws on purpose carries a stable `code` from ERROR_CODES.
import { ERROR_CODES, type ErrorCode } from './error-codes.js';

export class KeelError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }
}

export function isKeelError(error: unknown): error is KeelError {
  return error instanceof KeelError;
}
