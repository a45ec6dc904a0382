import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binaryOutputJson, predictResponseJson, regressionOutputJson } from './predict-response-json.js';
import type { PredictResponse } from './predict.js';

const number = fc.oneof(fc.double(), fc.float().map(Number), fc.integer(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0));

describe('predict answers written by hand', () => {
  it('are the text JSON.stringify writes for binary and regression answers, non-finite numbers included', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer(), fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), number)), fc.array(number), (model, version, binary, values) => {
        const b: PredictResponse = { model, version, predictions: binary.map(([label, probability]) => ({ id: randomUUID(), label, probability })) };
        const r: PredictResponse = { model, version, predictions: values.map((value) => ({ id: randomUUID(), value })) };
        expect(predictResponseJson(b)).toBe(JSON.stringify(b));
        expect(predictResponseJson(r)).toBe(JSON.stringify(r));
      }),
    );
  });

  it('match JSON.stringify for any other shape too (an id to escape, extra keys, keys in another order, not objects)', () => {
    const odd = [
      { model: 'm', version: 1, predictions: [{ id: 'a"b\\c', label: 1, probability: 0.5 }] },
      { model: 'm', version: 1, predictions: [{ id: randomUUID(), label: 1, probability: 0.5, extra: '"' }] },
      { model: 'm', version: 1, predictions: [{ id: randomUUID(), probability: 0.5, label: 1 }] },
      { model: 'm', version: 1, predictions: [null, 3, 'x'] },
      { error: { code: 'X', message: 'y' } },
    ];
    for (const value of odd) expect(predictResponseJson(value as unknown as PredictResponse)).toBe(JSON.stringify(value));
  });

  it('log outputs are JSON.stringify of the output without its id', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), number, (label, probability) => {
        expect(binaryOutputJson(label, probability)).toBe(JSON.stringify({ label, probability }));
        expect(regressionOutputJson(probability)).toBe(JSON.stringify({ value: probability }));
      }),
    );
  });
});
