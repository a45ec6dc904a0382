// Per-kind limits: activities beyond the limit wait (heartbeating their last details) and run as slots free up;
// a waiting activity that is cancelled leaves the queue without ever running.
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, withConcurrencyLimits } from './activity-concurrency.js';

/** An activity that runs until the test lets it finish, counting how many run at once. */
function gatedActivities() {
  let running = 0;
  let mostAtOnce = 0;
  const gates: Array<() => void> = [];
  const activities = {
    async snapshotDataset(id: number): Promise<number> {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running -= 1;
      return id;
    },
    async recordRunProgress(): Promise<string> {
      return 'not limited';
    },
  };
  return { activities, gates, stats: () => ({ running, mostAtOnce }) };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let tries = 0; !probe(); tries++) {
    if (tries > 1_000) throw new Error(`${what}: never happened`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('withConcurrencyLimits', () => {
  it('when more ingests arrive than the limit, then at most the limit run and the rest run as slots free up', async () => {
    const { activities, gates, stats } = gatedActivities();
    const limit = new ConcurrencyLimit(2);
    const limited = withConcurrencyLimits(activities, { snapshotDataset: limit });
    const results = [1, 2, 3, 4, 5].map((id) => new MockActivityEnvironment().run(limited.snapshotDataset, id));
    await until('two running', () => stats().running === 2);
    expect(limit.usage).toEqual({ running: 2, waiting: 3 });
    // Other kinds are not held up by the waiting ingests.
    expect(await new MockActivityEnvironment().run(limited.recordRunProgress)).toBe('not limited');
    for (let finished = 0; finished < 5; finished++) {
      await until('a gate to open', () => gates.length > finished);
      gates[finished]!();
    }
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5]);
    expect(stats().mostAtOnce).toBe(2);
    expect(limit.usage).toEqual({ running: 0, waiting: 0 });
  });

  it('when an activity waits for a slot, then it heartbeats the details of its last attempt', async () => {
    const { activities, gates } = gatedActivities();
    const limited = withConcurrencyLimits(activities, { snapshotDataset: new ConcurrencyLimit(1) });
    const first = new MockActivityEnvironment().run(limited.snapshotDataset, 1);
    const resumed = new MockActivityEnvironment({ heartbeatDetails: { rowsCopied: 1234 } });
    const heartbeats: unknown[] = [];
    resumed.on('heartbeat', (details: unknown) => heartbeats.push(details));
    const second = resumed.run(limited.snapshotDataset, 2);
    await until('a heartbeat while waiting', () => heartbeats.length > 0);
    expect(heartbeats[0]).toEqual({ rowsCopied: 1234 });
    gates[0]!();
    await until('the second to run', () => gates.length === 2);
    gates[1]!();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });

  it('when a waiting activity is cancelled, then it fails as cancelled without running and frees no one else’s slot', async () => {
    const { activities, gates, stats } = gatedActivities();
    const limit = new ConcurrencyLimit(1);
    const limited = withConcurrencyLimits(activities, { snapshotDataset: limit });
    const first = new MockActivityEnvironment().run(limited.snapshotDataset, 1);
    const waiting = new MockActivityEnvironment();
    const cancelled = waiting.run(limited.snapshotDataset, 2);
    await until('one waiting', () => limit.usage.waiting === 1);
    waiting.cancel();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledFailure);
    expect(limit.usage).toEqual({ running: 1, waiting: 0 });
    gates[0]!();
    expect(await first).toBe(1);
    expect(gates).toHaveLength(1);
    expect(stats().mostAtOnce).toBe(1);
  });
});
