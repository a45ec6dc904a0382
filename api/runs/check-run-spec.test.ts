import { describe, expect, it } from 'vitest';
import { KeelError } from '../../errors/keel-error.js';
import type { RunSpec } from '../../workflows/contracts/run-spec.js';
import { checkRunSpec } from './runs-service.js';

const spec = (params: Record<string, number | string | boolean>, kind: 'gbdt' | 'linear' = 'gbdt'): RunSpec =>
  ({ model: 'm', dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary', trainer: { kind, params } }) as RunSpec;

function refusal(run: () => void): KeelError {
  try {
    run();
  } catch (error) {
    if (error instanceof KeelError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('checkRunSpec: the GBDT numThreads', () => {
  it.each([0, 9, 100, 1.5, -1, 'junk', '2', true])('when trainer.params.numThreads is %j, then it is refused naming the field', (numThreads) => {
    const error = refusal(() => checkRunSpec(spec({ numThreads }), 'body/run'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('body/run/trainer/params/numThreads must be an integer in [1, 8]');
    expect(error.details).toEqual({ field: 'body/run/trainer/params/numThreads' });
  });

  it('when numThreads is an integer from 1 to 8, or absent, then the spec passes', () => {
    for (const numThreads of [1, 2, 8]) expect(() => checkRunSpec(spec({ numThreads }))).not.toThrow();
    expect(() => checkRunSpec(spec({ numLeaves: 31 }))).not.toThrow();
  });
});
