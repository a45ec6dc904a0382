// Where a GBDT training's time goes, phase by phase, for the benchmarks: the calling thread's CPU, the helper threads'
// CPU in their jobs, and the critical path (per parallel section the longer of the calling thread's own part and the
// slowest helper's job, plus what the calling thread did alone): what the wall time would be on idle cores, less the
// hand-off latencies. The clock of each thread's CPU comes from the caller (ml/ reads no files): the benchmarks'
// reads Linux's per-thread scheduler statistics (bench/train/thread-clock.ts), so the figures hold on a machine shared
// with other work, where wall time does not.

import type { HelperThread } from './helper-thread.js';

/** A per-thread CPU clock in nanoseconds; only differences over sections in which the thread never sleeps are used. */
export interface ThreadClock {
  /** The calling thread's clock. */
  cpuNs(): number;
  /** JavaScript source of an expression, evaluated in each helper thread with `require` in scope, giving that thread's `() => number` clock. */
  helperClockSource: string;
}

export const GBDT_PHASES = ['setup', 'gradients', 'load', 'histograms', 'splits', 'partition', 'scores', 'other'] as const;
export type GbdtPhase = (typeof GBDT_PHASES)[number];

export interface GbdtPhaseTimes {
  /** CPU of the calling thread in the phase, its waits for the helpers left out. */
  mainCpuMs: number;
  /** The calling thread's waits for the helpers: their longer jobs and the hand-offs. */
  waitMs: number;
  /** CPU of the helper threads in their jobs of the phase. */
  helperCpuMs: number;
  /** The phase's share of the critical path (see above). */
  criticalMs: number;
  /** Wall time of the phase on the calling thread. */
  wallMs: number;
  /** Sections timed, and of them those that ran on helper threads too. */
  sections: number;
  parallelSections: number;
}

/** A training's start, for PhaseProfile.endTraining. */
export interface TrainingStart {
  cpuNs: number;
  timedMs: number;
}

export class PhaseProfile {
  readonly phases = Object.fromEntries(
    GBDT_PHASES.map((p) => [p, { mainCpuMs: 0, waitMs: 0, helperCpuMs: 0, criticalMs: 0, wallMs: 0, sections: 0, parallelSections: 0 }]),
  ) as Record<GbdtPhase, GbdtPhaseTimes>;
  private cpu0 = 0;
  private wall0 = 0;
  private joinedCpu = -1;
  private waitedCpu = -1;

  constructor(readonly clock: ThreadClock) {}

  /** The calling thread's CPU nanoseconds so far. */
  cpuNs(): number {
    return this.clock.cpuNs();
  }

  /** Where a training starts: the calling thread's CPU and the phases' time so far (a profile may time several trainings). */
  startTraining(): TrainingStart {
    return { cpuNs: this.cpuNs(), timedMs: this.timedMs() };
  }

  /** Adds to 'other' what the calling thread did since `start` that no section timed. */
  endTraining(start: TrainingStart): void {
    const rest = (this.cpuNs() - start.cpuNs) / 1e6 - (this.timedMs() - start.timedMs);
    this.phases.other.mainCpuMs += rest;
    this.phases.other.criticalMs += rest;
  }

  /** Starts a section (sections do not nest). */
  begin(): void {
    this.wall0 = performance.now();
    this.cpu0 = this.cpuNs();
    this.joinedCpu = -1;
  }

  /** In a parallel section: the calling thread's own part is done, it now waits for the helpers. */
  joined(): void {
    this.joinedCpu = this.cpuNs();
    this.waitedCpu = -1;
  }

  /** In a parallel section: the helpers are done (what follows, the calling thread does alone). */
  waited(): void {
    this.waitedCpu = this.cpuNs();
  }

  /** Ends the section begun last; `helpers`: those that ran a job in it (their lastJobCpuNs is that job's). */
  end(phase: GbdtPhase, helpers: readonly HelperThread[] = []): void {
    const now = this.cpuNs();
    const t = this.phases[phase];
    t.wallMs += performance.now() - this.wall0;
    t.sections++;
    if (helpers.length === 0 || this.joinedCpu < 0) {
      t.mainCpuMs += (now - this.cpu0) / 1e6;
      t.criticalMs += (now - this.cpu0) / 1e6;
      return;
    }
    const waited = this.waitedCpu < 0 ? now : this.waitedCpu;
    let slowest = 0;
    for (const h of helpers) {
      t.helperCpuMs += h.lastJobCpuNs / 1e6;
      slowest = Math.max(slowest, h.lastJobCpuNs);
    }
    const own = this.joinedCpu - this.cpu0;
    const after = now - waited;
    t.mainCpuMs += (own + after) / 1e6;
    t.waitMs += (waited - this.joinedCpu) / 1e6;
    t.criticalMs += (Math.max(own, slowest) + after) / 1e6;
    t.parallelSections++;
  }

  /** The calling thread's time in all phases so far: its CPU and its waits for the helpers. */
  private timedMs(): number {
    let timed = 0;
    for (const t of Object.values(this.phases)) timed += t.mainCpuMs + t.waitMs;
    return timed;
  }
}
