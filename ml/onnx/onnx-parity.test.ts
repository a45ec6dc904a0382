import { describe, expect, it } from 'vitest';
import { onnxParity, parityCheck } from './onnx-parity.js';

describe('onnxParity', () => {
  it('when probabilities differ by less than the tolerance, then it passes and reports the worst row', () => {
    const report = onnxParity('binary', { probability: Float64Array.from([0.25, 0.5, 0.75]) }, Float64Array.from([0.25, 0.5 + 4e-10, 0.75]));
    expect(report).toMatchObject({ rows: 3, worstRow: 1, passed: true });
    expect(report.maxError).toBeCloseTo(4e-10, 14);
  });

  it('when a probability is off by more than the tolerance, then it fails', () => {
    const report = onnxParity('binary', { probability: Float64Array.from([0.25, 0.5]) }, Float64Array.from([0.25, 0.5 + 2e-9]));
    expect(report).toMatchObject({ passed: false, worstRow: 1 });
  });

  it('when regression values are large, then the error is relative', () => {
    const ok = onnxParity('regression', { value: Float64Array.from([1_000_000]) }, Float64Array.from([1_000_000.0005]));
    expect(ok.passed).toBe(true);
    const bad = onnxParity('regression', { value: Float64Array.from([0.5]) }, Float64Array.from([0.5 + 2e-9]));
    expect(bad.passed).toBe(false);
  });

  it('when a score is NaN, then it fails', () => {
    expect(onnxParity('regression', { value: Float64Array.from([Number.NaN]) }, Float64Array.from([1])).passed).toBe(false);
  });

  it('rejects scores without the task output or with a different row count', () => {
    expect(() => onnxParity('binary', { value: new Float64Array(1) }, new Float64Array(1))).toThrow(/probability/);
    expect(() => onnxParity('regression', { value: new Float64Array(2) }, new Float64Array(1))).toThrow(/2 rows/);
  });
});

describe('parity check', () => {
  it('passes probabilities within 1e-9 and fails beyond it, naming the worst row', () => {
    expect(parityCheck('binary', [0.5, 0.25], [0.5 + 4e-10, 0.25])).toMatchObject({ passed: true, rows: 2 });
    expect(parityCheck('binary', [0.5, 0.25], [0.5, 0.25 + 2e-9])).toMatchObject({ passed: false, worstRow: 1 });
  });

  it('judges regression values relative to their size', () => {
    expect(parityCheck('regression', [1_000_000], [1_000_000.0005]).passed).toBe(true);
    expect(parityCheck('regression', [10], [10 + 1e-7]).passed).toBe(false);
  });

  it('fails on NaN predictions and on length mismatches', () => {
    expect(parityCheck('binary', [0.5], [Number.NaN]).passed).toBe(false);
    expect(parityCheck('binary', [0.5], []).passed).toBe(false);
  });
});
