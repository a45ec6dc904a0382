import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, runSpecHash } from './run-spec-hash.js';

describe('runSpecHash', () => {
  it('when two specs differ only in key order or undefined fields, then they hash the same', () => {
    const a = { model: 'churn', source: { uri: 'a.csv' }, target: 'y', features: ['x', 'z'] };
    const b = { features: ['x', 'z'], target: 'y', source: { uri: 'a.csv' }, model: 'churn', gates: undefined };
    expect(runSpecHash(a)).toBe(runSpecHash(b));
  });

  it('is the sha256 of the canonical JSON, as the API has always stored it', () => {
    const spec = { target: 'y', model: 'm' };
    expect(canonicalJson(spec)).toBe('{"model":"m","target":"y"}');
    expect(runSpecHash(spec)).toBe(createHash('sha256').update('{"model":"m","target":"y"}').digest('hex'));
  });
});
