import { describe, expect, it } from 'vitest';
import type { ColumnarDataset } from '../dataset.js';
import { trainGbdt, type GbdtParamsInput } from './index.js';
import { GBDT_PHASES, PhaseProfile, type ThreadClock } from './phase-profile.js';
import { Mulberry32 } from './prng.js';

/** A clock that advances 1 ms per read on the calling thread and 0.5 ms per read on each helper: figures that do not depend on the machine. */
function countingClock(): ThreadClock & { readonly now: number } {
  let now = 0;
  return {
    cpuNs: () => (now += 1e6),
    get now() {
      return now;
    },
    helperClockSource: '(() => { let t = 0; return () => (t += 5e5); })()',
  };
}

function dataset(n: number): ColumnarDataset {
  const rng = new Mulberry32(21);
  const a = Float64Array.from({ length: n }, () => rng.next());
  const b = Float64Array.from({ length: n }, () => rng.next());
  const label = Float64Array.from({ length: n }, (_, i) => (a[i] + 0.5 * b[i] + 0.3 * rng.next() > 0.9 ? 1 : 0));
  return { rowCount: n, columns: { a, b }, label };
}

/** The calling thread's time in all phases: its CPU and its waits for the helpers. */
function timedMs(profile: PhaseProfile): number {
  return GBDT_PHASES.reduce((sum, p) => sum + profile.phases[p].mainCpuMs + profile.phases[p].waitMs, 0);
}

describe('the phase profile of a GBDT training', () => {
  it('when one profile times two trainings on 2 threads, then its phases add up to both trainings\' time on the calling thread, and the model is the unprofiled one', async () => {
    const clock = countingClock();
    const profile = new PhaseProfile(clock);
    const data = dataset(3_000);
    const params: GbdtParamsInput = { task: 'binary', numIterations: 3, numLeaves: 7, features: ['a', 'b'], seed: 2 };
    const unprofiled = await trainGbdt(data, params, { numThreads: 2, parallelMinRows: 100 });
    const elapsedMs: number[] = [];
    for (let run = 0; run < 2; run++) {
      const before = clock.now;
      const profiled = await trainGbdt(data, params, { numThreads: 2, parallelMinRows: 100, profile });
      expect(JSON.stringify(profiled)).toBe(JSON.stringify(unprofiled));
      // The training's first clock read starts its time.
      elapsedMs.push((clock.now - before) / 1e6 - 1);
    }
    expect(profile.phases.gradients.parallelSections).toBeGreaterThan(0);
    expect(profile.phases.load.helperCpuMs).toBeGreaterThan(0);
    expect(profile.phases.other.mainCpuMs).toBeGreaterThan(0);
    expect(timedMs(profile)).toBeCloseTo(elapsedMs[0] + elapsedMs[1], 6);
  });
});
