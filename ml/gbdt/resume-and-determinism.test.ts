import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { GbdtTrainingCancelled, trainGbdt, type GbdtCheckpoint, type GbdtParamsInput } from './index.js';
import { Mulberry32 } from './prng.js';

/** Noisy synthetic binary data with numeric, missing and categorical signal. */
function synthetic(n: number, seed: number): ColumnarDataset {
  const rng = new Mulberry32(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const c: (string | null)[] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.next() * 10;
    b[i] = rng.next() < 0.1 ? NaN : rng.next() * 2 - 1;
    const k = rng.nextInt(12);
    c.push(k === 11 ? null : `k${k}`);
    const z = 0.6 * (a[i] - 5) + (Number.isNaN(b[i]) ? 0.8 : b[i]) + (k % 4 === 1 ? 1.2 : -0.4);
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { rowCount: n, columns: { a, b, c }, label: y };
}

const params: GbdtParamsInput = {
  task: 'binary', numIterations: 30, numLeaves: 15, learningRate: 0.2, minDataInLeaf: 10,
  baggingFraction: 0.7, featureFraction: 0.67, validationFraction: 0.2, earlyStoppingRounds: 50, seed: 11,
};

describe('determinism and resumable training', () => {
  const data = synthetic(3000, 1);

  it('when trained twice with the same seed, then the models are identical; another seed gives another model', async () => {
    const first = await trainGbdt(data, params);
    const second = await trainGbdt(data, params);
    const otherSeed = await trainGbdt(data, { ...params, seed: 12 });
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(JSON.stringify(otherSeed.model)).not.toBe(JSON.stringify(first.model));
  });

  it('when resumed from a JSON checkpoint taken at iteration k, then the result is identical to an uninterrupted run', async () => {
    const uninterrupted = await trainGbdt(data, params);
    let stored = '';
    await trainGbdt(data, params, {
      onIteration: (p) => {
        if (p.iteration === 12) stored = JSON.stringify(p.checkpoint());
      },
    });
    const checkpoint = JSON.parse(stored) as GbdtCheckpoint;
    expect(checkpoint.iteration).toBe(12);
    const resumed = await trainGbdt(data, params, { resumeFrom: checkpoint });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(uninterrupted));
  });

  it('when shouldStop turns true, then training stops between iterations with a checkpoint that resumes to the same model', async () => {
    const uninterrupted = await trainGbdt(data, params);
    let iterations = 0;
    const cancelled = await trainGbdt(data, params, {
      onIteration: () => void iterations++,
      shouldStop: () => iterations >= 7,
    }).catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(GbdtTrainingCancelled);
    const checkpoint = JSON.parse(JSON.stringify((cancelled as GbdtTrainingCancelled).checkpoint)) as GbdtCheckpoint;
    expect(checkpoint.iteration).toBe(7);
    const resumed = await trainGbdt(data, params, { resumeFrom: checkpoint });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(uninterrupted));
  });

  it('rejects a checkpoint taken with other parameters', async () => {
    let checkpoint: GbdtCheckpoint | undefined;
    await trainGbdt(data, { ...params, numIterations: 3 }, { onIteration: (p) => void (checkpoint = p.checkpoint()) });
    await expect(trainGbdt(data, params, { resumeFrom: checkpoint })).rejects.toThrow(/different training parameters/);
  });

  it('when the validation metric stops improving, then training stops early and drops the trees after the best iteration', async () => {
    // Tiny noisy data and big trees overfit fast.
    const noisy = synthetic(600, 3);
    const rounds = 5;
    const result = await trainGbdt(noisy, {
      task: 'binary', numIterations: 200, numLeaves: 63, minDataInLeaf: 2, learningRate: 0.5,
      validationFraction: 0.3, earlyStoppingRounds: rounds,
    });
    expect(result.bestIteration).toBeLessThan(200);
    expect(result.model.trees).toHaveLength(result.bestIteration);
    expect(result.curve).toHaveLength(result.bestIteration + rounds);
    const valid = result.curve.map((c) => c.validMetric!);
    const best = Math.min(...valid);
    expect(valid[result.bestIteration - 1]).toBe(best);
    expect(valid.slice(result.bestIteration).every((m) => m >= best)).toBe(true);
  });

  it('when there is no validation data, then every tree is kept and bestIteration is the last iteration', async () => {
    const result = await trainGbdt(data, { task: 'binary', numIterations: 8, numLeaves: 7, earlyStoppingRounds: 2 });
    expect(result.bestIteration).toBe(8);
    expect(result.model.trees).toHaveLength(8);
    expect(result.curve.every((c) => c.validMetric === null)).toBe(true);
  });
});

describe('determinism and resumable training of a multiclass model', () => {
  // The binary data's label turned into 3 classes by the same signal: 0 (low a), 1, 2 (high a).
  const binary = synthetic(2400, 4);
  const a = binary.columns.a as Float64Array;
  const data: ColumnarDataset = { ...binary, label: Float64Array.from(a, (v, i) => (v < 3 ? 0 : v < 7 ? 1 + binary.label![i] : 2)) };
  const multiclass: GbdtParamsInput = { ...params, task: 'multiclass', numClass: 3, numIterations: 20 };

  it('when resumed from a JSON checkpoint (bagging and feature sampling on), then the result is byte-identical to an uninterrupted run', async () => {
    const uninterrupted = await trainGbdt(data, multiclass);
    expect(uninterrupted.model.trees).toHaveLength(3 * uninterrupted.iterations!.kept);
    let stored = '';
    await trainGbdt(data, multiclass, {
      onIteration: (p) => {
        if (p.iteration === 9) stored = JSON.stringify(p.checkpoint());
      },
    });
    const checkpoint = JSON.parse(stored) as GbdtCheckpoint;
    expect(checkpoint).toMatchObject({ iteration: 9 });
    expect(checkpoint.trees).toHaveLength(27);
    expect(checkpoint.baseScores).toHaveLength(3);
    const resumed = await trainGbdt(data, multiclass, { resumeFrom: checkpoint });
    expect(JSON.stringify(resumed)).toBe(JSON.stringify(uninterrupted));
  });

  it('when early stopping triggers, then whole iterations (K trees each) are dropped after the best one', async () => {
    const result = await trainGbdt(data, { ...multiclass, numIterations: 200, numLeaves: 63, minDataInLeaf: 2, learningRate: 0.8, earlyStoppingRounds: 4 });
    expect(result.bestIteration).toBeLessThan(200);
    expect(result.model.trees).toHaveLength(3 * result.bestIteration);
    expect(result.metricName).toBe('multi_logloss');
  });
});
