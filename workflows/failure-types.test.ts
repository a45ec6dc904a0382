import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../errors/error-codes.js';
import { FAILURE_TYPES } from './failure-types.js';

describe('the failure types the pipeline names', () => {
  it('are codes of the shared error table that a retry cannot fix', () => {
    for (const code of Object.values(FAILURE_TYPES)) {
      expect(ERROR_CODES[code], code).toMatchObject({ retryable: false });
    }
  });

  it('keep the values and order the pipeline passes as nonRetryableErrorTypes', () => {
    expect(Object.values(FAILURE_TYPES)).toEqual([
      'DATA_REJECTED',
      'SOURCE_NOT_ALLOWED',
      'SOURCE_NOT_FOUND',
      'SOURCE_UNREADABLE',
      'TRANSFORM_REJECTED',
      'SOURCE_QUERY_REJECTED',
      'INVALID_SPEC',
      'TRAINING_FAILED',
      'PARITY_FAILED',
      'SMOKE_TEST_FAILED',
      'NOT_AWAITING_REVIEW',
      'REQUESTER_CANNOT_REVIEW',
    ]);
  });
});
