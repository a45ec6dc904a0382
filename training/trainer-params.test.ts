import { describe, expect, it } from 'vitest';
import { KeelError } from '../errors/keel-error.js';
import { checkedTrainerParams, refusingBadParams } from './trainer-params.js';

describe('checkedTrainerParams', () => {
  it('keeps known names and drops the seed, which the run passes separately', () => {
    expect(checkedTrainerParams({ numLeaves: 7, seed: 3 }, ['numLeaves', 'seed'])).toEqual({ numLeaves: 7 });
    expect(checkedTrainerParams(undefined, ['numLeaves'])).toEqual({});
  });

  it('when a parameter is unknown or comes from the run spec, then it refuses it as TRAINING_FAILED', () => {
    expect(() => checkedTrainerParams({ num_leaves: 7 }, ['numLeaves', 'seed'])).toThrow(/unknown trainer parameter "num_leaves" \(known: numLeaves\)/);
    expect(() => checkedTrainerParams({ task: 'binary' }, ['task'])).toThrow(/comes from the run spec/);
    expect(() => checkedTrainerParams({ features: [] }, ['features'])).toThrow(expect.objectContaining({ code: 'TRAINING_FAILED' }));
  });
});

describe('refusingBadParams', () => {
  it("when the trainer's parameter check throws RangeError, then it is the spec's fault: non-retryable TRAINING_FAILED", () => {
    const error = (() => {
      try {
        return refusingBadParams(() => {
          throw new RangeError('numLeaves must be at least 2');
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(KeelError);
    expect(error).toMatchObject({ code: 'TRAINING_FAILED', retryable: false, message: 'numLeaves must be at least 2' });
  });

  it('when anything else is thrown, then it passes through unchanged', () => {
    const bug = new TypeError('not a function');
    expect(() =>
      refusingBadParams(() => {
        throw bug;
      }),
    ).toThrow(bug);
    expect(refusingBadParams(() => 42)).toBe(42);
  });
});
