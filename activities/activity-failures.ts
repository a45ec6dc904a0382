// The one place where error families that predate KeelError (data plane, artifact store) become the
// ApplicationFailures activities have always thrown for them; everything else goes through toApplicationFailure.
// Once a family extends KeelError its branch here goes away.
import { ApplicationFailure } from '@temporalio/common';
import { ArtifactIntegrityError, ArtifactNotFoundError } from '../artifacts/artifact-store.js';
import { DataPlaneError } from '../data/errors.js';
import { toApplicationFailure } from '../errors/to-application-failure.js';

export function toActivityFailure(error: unknown): unknown {
  if (error instanceof DataPlaneError) {
    return ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true, details: [error.details] });
  }
  if (error instanceof ArtifactIntegrityError || error instanceof ArtifactNotFoundError) {
    return ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true, cause: error });
  }
  return toApplicationFailure(error);
}

/** Runs an activity body and maps what it throws: `return withActivityFailures(() => domainCall(input))`. */
export async function withActivityFailures<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toActivityFailure(error);
  }
}
