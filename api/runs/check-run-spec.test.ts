import { describe, expect, it } from 'vitest';
import { KeelError } from '../../errors/keel-error.js';
import type { RunSpec } from '../../workflows/contracts/run-spec.js';
import { checkRunSpec } from './runs-service.js';

const spec = (params: Readonly<Record<string, number | string | boolean>>, kind: 'gbdt' | 'linear' = 'gbdt'): RunSpec =>
  ({ model: 'm', dataset: { uri: '/data/flights.csv' }, target: 'delayed', task: 'binary', trainer: { kind, params } }) as RunSpec;

function thrownBy(run: () => void): KeelError {
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
    const error = thrownBy(() => checkRunSpec(spec({ numThreads }), 'body/run'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('body/run/trainer/params/numThreads must be an integer in [1, 8]');
    expect(error.details).toEqual({ field: 'body/run/trainer/params/numThreads' });
  });

  it('when numThreads is an integer from 1 to 8, or absent, then the spec passes', () => {
    for (const numThreads of [1, 2, 8]) expect(() => checkRunSpec(spec({ numThreads }))).not.toThrow();
    expect(() => checkRunSpec(spec({ numLeaves: 31 }))).not.toThrow();
  });
});

const base: RunSpec = { model: 'm', dataset: { uri: '/data/x.csv' }, task: 'binary', target: 'y' } as RunSpec;
const external = (extra: Record<string, string>): RunSpec =>
  ({ ...base, trainer: { kind: 'external', taskQueue: 'trainers-python', name: 'lightgbm', ...extra } }) as RunSpec;

function refusal(spec: RunSpec): { code: string; details?: unknown } | null {
  try {
    checkRunSpec(spec);
    return null;
  } catch (error) {
    return error as { code: string; details?: unknown };
  }
}

describe('checkRunSpec durations', () => {
  it('when an external trainer duration is one Temporal cannot read (tab, newline), zero or beyond a year, then it is refused naming the field', () => {
    for (const field of ['scheduleToStartTimeout', 'timeout', 'heartbeatTimeout']) {
      for (const value of ['10\tminutes', '10\nminutes', '0 seconds', '0.0000001 ms', '400 days', '99999999999999999999 weeks']) {
        const refused = refusal(external({ [field]: value }));
        expect(refused, `${field}=${JSON.stringify(value)}`).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: `body/trainer/${field}` } });
      }
    }
    expect(refusal({ ...base, policy: { approvalTimeout: '1\t day' } } as RunSpec)).toMatchObject({ details: { field: 'body/policy/approvalTimeout' } });
  });

  it('when durations are ordinary, then the spec passes', () => {
    expect(refusal(external({ scheduleToStartTimeout: '2 seconds', timeout: '2 hours', heartbeatTimeout: '1m' }))).toBeNull();
    expect(refusal({ ...base, policy: { approvalTimeout: '72h' } } as RunSpec)).toBeNull();
  });
});

describe('checkRunSpec: built-in trainer parameters', () => {
  // Each passed before: JSON Schema and Number.isInteger call 1e308 an integer, and the trainers found out at training
  // (numLeaves 1e308 was a RangeError allocating the tree, retried without end; numIterations 1e308 trains for ever).
  it.each([
    ['gbdt', { numIterations: 1e308 }, 'numIterations'],
    ['gbdt', { numIterations: 100_001 }, 'numIterations'],
    ['gbdt', { numLeaves: 1e308 }, 'numLeaves'],
    ['gbdt', { numLeaves: 131_073 }, 'numLeaves'],
    ['gbdt', { minDataInLeaf: 2 ** 31 }, 'minDataInLeaf'],
    ['gbdt', { maxDepth: -1e308 }, 'maxDepth'],
    ['gbdt', { earlyStoppingRounds: 1e308 }, 'earlyStoppingRounds'],
    ['gbdt', { learningRate: '0.1' }, 'learningRate'],
    ['gbdt', { baggingFraction: 1.5 }, 'baggingFraction'],
    ['gbdt', { validationFraction: 1 }, 'validationFraction'],
    ['gbdt', { num_leaves: 31 }, 'num_leaves'],
    ['gbdt', { task: 'regression' }, 'task'],
    ['linear', { maxIterations: 1e308 }, 'maxIterations'],
    ['linear', { maxCategoriesPerFeature: 1e308 }, 'maxCategoriesPerFeature'],
    ['linear', { numLeaves: 31 }, 'numLeaves'],
    ['gbdt', { seed: 1e308 }, 'seed'],
    ['gbdt', { seed: -1 }, 'seed'],
    ['linear', { seed: 2 ** 32 }, 'seed'],
  ] as const)('when a %s trainer gets %j, then it is refused naming the parameter', (kind, params, name) => {
    const error = thrownBy(() => checkRunSpec(spec(params, kind), 'body/run'));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain(`body/run/trainer/params/${name}`);
    expect(error.details).toEqual({ field: `body/run/trainer/params/${name}` });
  });

  it('when parameters are in range, at their limits or absent, then the spec passes', () => {
    expect(() => checkRunSpec(spec({ numIterations: 100_000, numLeaves: 131_072, learningRate: 0.05, maxDepth: -1, seed: 2 ** 32 - 1 }))).not.toThrow();
    expect(() => checkRunSpec(spec({ maxIterations: 10_000, l2: 0.01, seed: 0 }, 'linear'))).not.toThrow();
    expect(() => checkRunSpec({ ...spec({}), task: 'multiclass' } as RunSpec)).not.toThrow();
    expect(() => checkRunSpec(base)).not.toThrow();
  });
});
