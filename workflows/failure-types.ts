// ApplicationFailure types the pipeline knows by name: a selection of the shared error table, so each code exists once.
import type { ErrorCode } from '../errors/error-codes.js';

/** Listed in this order as the pipeline's non-retryable error types (the order is part of recorded histories). */
export const FAILURE_TYPES = {
  dataRejected: 'DATA_REJECTED',
  sourceNotAllowed: 'SOURCE_NOT_ALLOWED',
  sourceNotFound: 'SOURCE_NOT_FOUND',
  sourceUnreadable: 'SOURCE_UNREADABLE',
  transformRejected: 'TRANSFORM_REJECTED',
  sourceQueryRejected: 'SOURCE_QUERY_REJECTED',
  invalidSpec: 'INVALID_SPEC',
  trainingFailed: 'TRAINING_FAILED',
  parityFailed: 'PARITY_FAILED',
  smokeTestFailed: 'SMOKE_TEST_FAILED',
  notAwaitingReview: 'NOT_AWAITING_REVIEW',
  requesterCannotReview: 'REQUESTER_CANNOT_REVIEW',
} as const satisfies Record<string, ErrorCode>;

export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];
