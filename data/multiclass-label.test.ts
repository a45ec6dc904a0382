import { describe, expect, it } from 'vitest';
import { encodeLabel, TrainingDataError } from './training-data.js';

describe('multiclass target encoding', () => {
  it('when the target is text, then classes are sorted by code point and each row gets its class code', () => {
    const { label, labelClasses } = encodeLabel('weather', 'multiclass', ['sun', 'rain', 'fog', 'sun', 'Snow']);
    expect(labelClasses).toEqual(['Snow', 'fog', 'rain', 'sun']);
    expect(Array.from(label)).toEqual([3, 2, 1, 3, 0]);
  });

  it('when the target is integers, then classes are in numeric order (10 after 9), written as decimal strings', () => {
    const { label, labelClasses } = encodeLabel('grade', 'multiclass', Float64Array.from([10, 9, -1, 9]));
    expect(labelClasses).toEqual(['-1', '9', '10']);
    expect(Array.from(label)).toEqual([2, 1, 0, 1]);
  });

  it('when the target has two classes, then it is refused naming both and pointing to the binary task', () => {
    expect(() => encodeLabel('wet', 'multiclass', ['yes', 'no', 'yes'])).toThrow(
      'multiclass target "wet" has 2 classes ("yes", "no"); a multiclass task needs 3 to 1000; use task \'binary\' for two classes',
    );
  });

  it('when the target has more than 1000 classes, then it is refused with the limit', () => {
    const ids = Float64Array.from({ length: 1001 }, (_, i) => i);
    const refusal = (() => {
      try {
        encodeLabel('customer_id', 'multiclass', ids);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(TrainingDataError);
    expect((refusal as Error).message).toBe(
      "multiclass target \"customer_id\" has more than 1000 classes; a multiclass task takes 3 to 1000 (use 'regression' for a number)",
    );
    // Exactly 1000 classes is accepted.
    expect(encodeLabel('customer_id', 'multiclass', ids.slice(0, 1000)).labelClasses).toHaveLength(1000);
  });

  it('when the target has a fraction or a missing value, then it is refused naming the row', () => {
    expect(() => encodeLabel('y', 'multiclass', Float64Array.from([1, 2, 2.5]))).toThrow('row 2 is 2.5');
    expect(() => encodeLabel('y', 'multiclass', ['a', null, 'c'])).toThrow('missing at row 1');
  });
});
