// The one mapping from a thrown error to what an activity gives Temporal: a KeelError becomes an
// ApplicationFailure with its code as type (non-retryable when the code says so); anything else is left as
// it is, so Temporal retries it: an unexpected error is an outage or a bug, never "bad input".
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isKeelError } from './keel-error.js';

export function toApplicationFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure || error instanceof CancelledFailure) return error;
  if (!isKeelError(error)) return error;
  return ApplicationFailure.create({
    type: error.code,
    message: error.message,
    nonRetryable: !error.retryable,
    details: error.details === undefined ? [] : [error.details],
    cause: error,
  });
}

/** Runs an activity body and maps what it throws: `return withFailureMapping(() => domainCall(input))`. */
export async function withFailureMapping<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toApplicationFailure(error);
  }
}
