// A well-formed token carrying a real key's prefix costs one scrypt to refuse, and a key's prefix is not secret (it
// is shown in key listings and is the first part of the key): without a bound, whoever learns one can make the API
// run scrypt as often as they can send requests. This budget bounds failed verifications per prefix.

export interface PrefixFailureBudgetOptions {
  /** scrypt runs a prefix may have within `windowMs` that did not prove the key (failed or still running). */
  limit: number;
  windowMs: number;
  /** How long a prefix that spent its budget refuses unverified tokens without scrypt. */
  cooldownMs: number;
  /** Prefixes remembered at most (least recently tried dropped first); only real keys' prefixes ever get here. */
  maxPrefixes?: number;
  now?: () => number;
}

interface Attempts {
  windowStart: number;
  /** Attempts in this window not (yet) proven valid. */
  count: number;
  lockedUntil: number;
}

export const DEFAULT_PREFIX_FAILURE_BUDGET = { limit: 10, windowMs: 60_000, cooldownMs: 60_000 } as const;

/**
 * Counts attempts, not results: a burst of tokens sent together is admitted only up to the limit, before any of
 * their scrypts finished (counting failures afterwards would let a whole pipelined burst through).
 */
export class PrefixFailureBudget {
  /** Insertion order is recency of the last attempt: the first entry is dropped when full. */
  private readonly attempts = new Map<string, Attempts>();
  private readonly maxPrefixes: number;
  private readonly now: () => number;

  constructor(private readonly options: PrefixFailureBudgetOptions) {
    this.maxPrefixes = options.maxPrefixes ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until `prefix` may be verified again; 0 when it is not locked. */
  lockedFor(prefix: string): number {
    const entry = this.attempts.get(prefix);
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /**
   * Asks to run one scrypt for `prefix`: 0 when admitted (counted until `proved`), else how many milliseconds the
   * prefix stays locked. The attempt past the limit locks it for the cool-down.
   */
  admit(prefix: string): number {
    const now = this.now();
    let entry = this.attempts.get(prefix);
    if (entry && entry.lockedUntil > now) return entry.lockedUntil - now;
    this.attempts.delete(prefix);
    if (!entry || now - entry.windowStart >= this.options.windowMs) entry = { windowStart: now, count: 0, lockedUntil: 0 };
    if (this.attempts.size >= this.maxPrefixes) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
    this.attempts.set(prefix, entry);
    if (entry.count >= this.options.limit) {
      entry.lockedUntil = now + this.options.cooldownMs;
      // After the cool-down, a fresh window: the next lock takes a full budget again.
      entry.windowStart = entry.lockedUntil;
      entry.count = 0;
      return this.options.cooldownMs;
    }
    entry.count++;
    return 0;
  }

  /** The admitted attempt proved the key: it does not count against the prefix. */
  proved(prefix: string): void {
    const entry = this.attempts.get(prefix);
    if (entry && entry.count > 0) entry.count--;
  }

  /** How many prefixes are locked right now (for metrics and tests). */
  get lockedPrefixes(): number {
    const now = this.now();
    let locked = 0;
    for (const entry of this.attempts.values()) if (entry.lockedUntil > now) locked++;
    return locked;
  }
}
