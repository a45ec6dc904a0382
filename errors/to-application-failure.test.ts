import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { KeelError } from './keel-error.js';
import { toApplicationFailure, withFailureMapping } from './to-application-failure.js';

describe('toApplicationFailure', () => {
  it('when given a non-retryable KeelError, then returns a non-retryable failure typed by its code', () => {
    const failure = toApplicationFailure(new KeelError('SOURCE_NOT_FOUND', 'no such file', { uri: '/x.csv' }));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('SOURCE_NOT_FOUND');
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect((failure as ApplicationFailure).details).toEqual([{ uri: '/x.csv' }]);
  });

  it('when given a retryable KeelError, then the failure stays retryable', () => {
    const failure = toApplicationFailure(new KeelError('SERVICE_UNAVAILABLE', 'postgres is down')) as ApplicationFailure;
    expect(failure.nonRetryable).toBe(false);
  });

  it('when given a plain or RangeError, then leaves it as it is so Temporal retries it (a bug is not bad input)', () => {
    const bug = new RangeError('index out of range');
    expect(toApplicationFailure(bug)).toBe(bug);
  });

  it('when the body throws a KeelError, then withFailureMapping rethrows it as an ApplicationFailure', async () => {
    await expect(
      withFailureMapping(async () => {
        throw new KeelError('PARITY_FAILED', 'differs');
      }),
    ).rejects.toMatchObject({ type: 'PARITY_FAILED', nonRetryable: true });
  });
});
