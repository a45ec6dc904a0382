// Supervising real child processes (small node scripts standing in for a worker): a child killed with SIGKILL is
// restarted and its crash printed once; a stop during the restart backoff stops for good.
import { describe, expect, it } from 'vitest';
import { startProcess, type ManagedProcess } from './child-process.js';
import { DEFAULT_RESTART_POLICY, nextRestartDelay, superviseProcess, type RestartPolicy } from './supervisor.js';

const FAST: RestartPolicy = { initialDelayMs: 50, maxDelayMs: 400, resetAfterMs: 60_000 };
const WORKER_STANDIN = 'console.log("up " + process.pid); process.on("SIGTERM", () => process.exit(0)); setInterval(() => undefined, 1000)';

function spawnStandIn(script = WORKER_STANDIN): ManagedProcess {
  return startProcess('worker:stand-in', process.execPath, ['-e', script], { onOutput: () => undefined });
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('nextRestartDelay', () => {
  it('waits 1 s first, doubles to 30 s, and starts over after a minute up', () => {
    const delays: number[] = [];
    let delay = 0;
    for (let crash = 0; crash < 8; crash++) delays.push((delay = nextRestartDelay(delay, 500)));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(nextRestartDelay(30_000, DEFAULT_RESTART_POLICY.resetAfterMs)).toBe(1_000);
  });
});

describe('superviseProcess', () => {
  it('when a child is killed with SIGKILL, then it is restarted and the crash is printed once', async () => {
    const lines: string[] = [];
    const spawned: ManagedProcess[] = [];
    const supervised = superviseProcess('worker:pipeline', {
      spawn: () => spawnStandIn(),
      log: (line) => lines.push(line),
      policy: FAST,
      onSpawn: (child) => spawned.push(child),
    });
    try {
      const first = spawned[0]!;
      first.child.kill('SIGKILL');
      await first.exited;
      const second = await until('a restarted child', () => spawned[1]);
      expect(second.child.pid).not.toBe(first.child.pid);
      expect(supervised.current()).toBe(second);
      expect(isAlive(second.child.pid!)).toBe(true);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^worker:pipeline was killed by SIGKILL after [\d.]+ m?s; restarting in 50 ms$/);
    } finally {
      await supervised.stop({ graceMs: 5_000 });
    }
    expect(supervised.current()).toBeUndefined();
  });

  it('when a child keeps crashing, then each wait doubles up to the maximum', async () => {
    const lines: string[] = [];
    const spawned: ManagedProcess[] = [];
    const supervised = superviseProcess('api', {
      spawn: () => spawnStandIn('process.exit(3)'),
      log: (line) => lines.push(line),
      policy: FAST,
      onSpawn: (child) => spawned.push(child),
    });
    await until('five crashes', () => (lines.length >= 5 ? true : undefined));
    await supervised.stop();
    expect(lines.slice(0, 5).map((line) => /restarting in (.+)$/.exec(line)?.[1])).toEqual(['50 ms', '100 ms', '200 ms', '400 ms', '400 ms']);
    expect(lines[0]).toMatch(/^api exited with code 3 after/);
  });

  it('when stopped during a restart backoff, then nothing is restarted and the stop ends at once', async () => {
    const lines: string[] = [];
    const spawned: ManagedProcess[] = [];
    const supervised = superviseProcess('worker:training', {
      spawn: () => spawnStandIn(),
      log: (line) => lines.push(line),
      // A backoff far longer than the test: only a cancelled restart lets it finish.
      policy: { initialDelayMs: 600_000, maxDelayMs: 600_000, resetAfterMs: 600_000 },
      onSpawn: (child) => spawned.push(child),
    });
    spawned[0]!.child.kill('SIGKILL');
    await until('the crash line', () => lines[0]);
    expect(supervised.current()).toBeUndefined();
    expect(await supervised.stop()).toEqual({ killed: false });
    expect(spawned).toHaveLength(1);
    expect(supervised.current()).toBeUndefined();
  });
});
