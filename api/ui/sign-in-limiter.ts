// Guessing API keys through the sign-in form: each client address has a bucket of failed sign-ins (10, one more back
// every 30 s). An empty bucket refuses the next attempt before the key is even checked, right key or not. In memory
// per API process; scoped to POST /ui/login (the API's bearer keys have their own limits, if any, app-wide).

export interface SignInLimiterOptions {
  /** Failed sign-ins allowed in a burst. */
  burst: number;
  /** One more failure allowed after this long. */
  refillMs: number;
  /** Addresses remembered at most: the oldest is forgotten first (a flood of addresses cannot exhaust memory). */
  maxAddresses: number;
}

export const SIGN_IN_LIMITS: SignInLimiterOptions = { burst: 10, refillMs: 30_000, maxAddresses: 10_000 };

export class SignInLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: SignInLimiterOptions = SIGN_IN_LIMITS) {}

  private current(address: string, now: number): number {
    const bucket = this.buckets.get(address);
    if (!bucket) return this.options.burst;
    return Math.min(this.options.burst, bucket.tokens + (now - bucket.at) / this.options.refillMs);
  }

  /** Seconds until this address may try again, or null when it may try now. */
  retryAfterSeconds(address: string, now = Date.now()): number | null {
    const tokens = this.current(address, now);
    return tokens >= 1 ? null : Math.ceil(((1 - tokens) * this.options.refillMs) / 1000);
  }

  recordFailure(address: string, now = Date.now()): void {
    const tokens = Math.max(0, this.current(address, now) - 1);
    this.buckets.delete(address);
    this.buckets.set(address, { tokens, at: now });
    if (this.buckets.size > this.options.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
