// Per-kind concurrency limits inside one worker: at most N ingests (N validations, N evaluations) run at once, the
// rest wait their turn. Temporal's worker options only cap all activities together, and a slot cannot be reserved
// by activity type before the task is polled, so heavy kinds queue here. A waiting activity keeps heartbeating (its
// last details, so a resumed activity still finds them) and stops waiting when it is cancelled.
import { Context } from '@temporalio/activity';
import { keepHeartbeating } from '../activities/heartbeat.js';

/** A counting semaphore whose waiters leave the queue when their signal aborts. */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`a concurrency limit must be a whole number >= 1, got ${limit}`);
  }

  /** Resolves with the release function once a slot is free; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.running += 1;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.running -= 1;
          this.waiting.shift()?.();
        });
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      if (this.running < this.limit) return grant();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  /** Activities running now and waiting now. */
  get usage(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

type ActivityFunction = (...args: never[]) => Promise<unknown>;

/** The same activities, those named in `limits` each running only while holding a slot of its limit. */
export function withConcurrencyLimits<T extends Record<string, ActivityFunction>>(
  activities: T,
  limits: Partial<Record<keyof T, ConcurrencyLimit>>,
): T {
  const limited: Record<string, ActivityFunction> = { ...activities };
  for (const [name, limit] of Object.entries(limits) as Array<[string, ConcurrencyLimit | undefined]>) {
    const activity = activities[name];
    if (!activity || !limit) continue;
    limited[name] = async (...args: never[]) => {
      const context = activityContext();
      const stopHeartbeating = keepHeartbeating(context?.info.heartbeatDetails);
      let release: () => void;
      try {
        release = await limit.acquire(context?.cancellationSignal);
      } finally {
        stopHeartbeating();
      }
      try {
        return await activity(...args);
      } finally {
        release();
      }
    };
  }
  return limited as T;
}
