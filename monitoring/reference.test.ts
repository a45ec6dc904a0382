import { describe, expect, it } from 'vitest';
import { topClassProbabilities } from './reference.js';

describe('multiclass monitoring reference', () => {
  it('when rows have class probabilities, then the reference score is each row\'s largest one (what serving logs)', () => {
    const probabilities = Float64Array.from([0.2, 0.5, 0.3, 0.9, 0.05, 0.05, 1 / 3, 1 / 3, 1 / 3]);
    expect(Array.from(topClassProbabilities(probabilities, 3))).toEqual([0.5, 0.9, 1 / 3]);
  });
});
