// Short-lived memory of verified (and rejected) bearer tokens, so a hot path does not run scrypt per request.
import crypto from 'node:crypto';
import type { Principal } from './principal.js';

interface Entry {
  principal: Principal | null;
  expiresAt: number;
  /** After this, the next use re-verifies in the background while the entry still answers. */
  refreshAt: number;
}

export interface ResolveOptions {
  /** A background refresh failed; the entry keeps answering until it expires, then callers see the error. */
  onRefreshError?: (error: unknown) => void;
}

const oneShotSha256 = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Share of the TTL after which a used, verified entry is re-verified ahead of its expiry. */
const REFRESH_AHEAD_AT = 0.75;

/**
 * Keys are sha256 digests of the token, so raw secrets are not kept in memory.
 * Revocation in this process evicts at once (`evictKey`); other processes notice within `ttlMs`.
 *
 * `resolve` is the hot path: one verification per token at a time (concurrent callers share it), and a key in
 * use is re-verified in the background before it expires, so under load the TTL never sends every in-flight
 * request to Postgres and scrypt at the same moment.
 */
export class VerifiedKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Principal | null>>();
  /** Bumped by eviction: a verification that started before it must not re-insert what was evicted. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  static digest(token: string): string {
    // The one-shot hash (Node ≥ 20.12) costs a third of a Hash object; this runs on every request.
    return oneShotSha256 ? oneShotSha256('sha256', token, 'hex') : crypto.createHash('sha256').update(token).digest('hex');
  }

  /** undefined: unknown or expired; null: recently rejected; otherwise the verified principal. */
  get(digest: string): Principal | null | undefined {
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(digest);
      return undefined;
    }
    return entry.principal;
  }

  set(digest: string, principal: Principal | null): void {
    if (this.ttlMs <= 0) return;
    if (!this.entries.has(digest) && this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const now = this.now();
    this.entries.set(digest, { principal, expiresAt: now + this.ttlMs, refreshAt: now + this.ttlMs * REFRESH_AHEAD_AT });
  }

  /**
   * The principal for `digest`: from the cache while fresh, else from `verify` (run once for all concurrent
   * callers of the same digest). A verified entry past its refresh point answers at once and is re-verified
   * in the background.
   */
  resolve(digest: string, verify: () => Promise<Principal | null>, options: ResolveOptions = {}): Promise<Principal | null> | Principal | null {
    const entry = this.entries.get(digest);
    const now = this.now();
    if (entry && entry.expiresAt > now) {
      if (entry.principal !== null && entry.refreshAt <= now && !this.inFlight.has(digest)) {
        this.verifyOnce(digest, verify).catch((error: unknown) => options.onRefreshError?.(error));
      }
      return entry.principal;
    }
    if (entry) this.entries.delete(digest);
    return this.inFlight.get(digest) ?? this.verifyOnce(digest, verify);
  }

  private verifyOnce(digest: string, verify: () => Promise<Principal | null>): Promise<Principal | null> {
    // With caching off, every request verifies for itself.
    if (this.ttlMs <= 0) return verify();
    const generation = this.generation;
    const pending = verify().then(
      (principal) => {
        if (this.inFlight.get(digest) === pending) this.inFlight.delete(digest);
        if (generation === this.generation) this.set(digest, principal);
        return principal;
      },
      (error: unknown) => {
        if (this.inFlight.get(digest) === pending) this.inFlight.delete(digest);
        throw error;
      },
    );
    this.inFlight.set(digest, pending);
    return pending;
  }

  evictKey(keyId: string): void {
    this.generation++;
    this.inFlight.clear();
    for (const [digest, entry] of this.entries) {
      if (entry.principal?.keyId === keyId) this.entries.delete(digest);
    }
  }

  clear(): void {
    this.generation++;
    this.inFlight.clear();
    this.entries.clear();
  }
}
