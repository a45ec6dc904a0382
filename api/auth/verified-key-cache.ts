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
 * Verified and rejected tokens live in two separate bounded maps: rejected tokens are a least-recently-used cache of
 * their own, so a flood of junk tokens (anyone can send those) only ever evicts other junk, never a valid key.
 *
 * `resolve` is the hot path: one verification per token at a time (concurrent callers share it), and a key in
 * use is re-verified in the background before it expires, so under load the TTL never sends every in-flight
 * request to Postgres and scrypt at the same moment.
 */
export class VerifiedKeyCache {
  private readonly verified = new Map<string, Entry>();
  /** Insertion order is recency order: a hit moves the entry to the end, the first entry is the least recently used. */
  private readonly rejected = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Principal | null>>();
  /** Bumped by eviction: a verification that started before it must not re-insert what was evicted. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    /** Verified keys held at most (one entry per active key in use, so rarely near this). */
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
    /** Rejected tokens remembered at most (least recently used dropped first). */
    private readonly maxRejected = 10_000,
  ) {}

  static digest(token: string): string {
    // The one-shot hash (Node ≥ 20.12) costs a third of a Hash object; this runs on every request.
    return oneShotSha256 ? oneShotSha256('sha256', token, 'hex') : crypto.createHash('sha256').update(token).digest('hex');
  }

  /** How many verified and rejected tokens are held (for tests and metrics). */
  get size(): { verified: number; rejected: number } {
    return { verified: this.verified.size, rejected: this.rejected.size };
  }

  /** The live entry for `digest` (an expired one is dropped); a rejected hit becomes the most recently used. */
  private lookup(digest: string): Entry | undefined {
    const now = this.now();
    const verified = this.verified.get(digest);
    if (verified) {
      if (verified.expiresAt > now) return verified;
      this.verified.delete(digest);
    }
    const rejected = this.rejected.get(digest);
    if (!rejected) return undefined;
    this.rejected.delete(digest);
    if (rejected.expiresAt <= now) return undefined;
    this.rejected.set(digest, rejected);
    return rejected;
  }

  /** undefined: unknown or expired; null: recently rejected; otherwise the verified principal. */
  get(digest: string): Principal | null | undefined {
    return this.lookup(digest)?.principal;
  }

  set(digest: string, principal: Principal | null): void {
    if (this.ttlMs <= 0) return;
    const now = this.now();
    const entry = { principal, expiresAt: now + this.ttlMs, refreshAt: now + this.ttlMs * REFRESH_AHEAD_AT };
    if (principal === null) {
      this.verified.delete(digest);
      this.rejected.delete(digest);
      if (this.rejected.size >= this.maxRejected) dropFirst(this.rejected);
      this.rejected.set(digest, entry);
      return;
    }
    this.rejected.delete(digest);
    // Maps iterate in insertion order: drop the oldest verified entry (never a rejected one's doing).
    if (!this.verified.has(digest) && this.verified.size >= this.maxEntries) dropFirst(this.verified);
    this.verified.set(digest, entry);
  }

  /**
   * The principal for `digest`: from the cache while fresh, else from `verify` (run once for all concurrent
   * callers of the same digest). A verified entry past its refresh point answers at once and is re-verified
   * in the background.
   */
  resolve(digest: string, verify: () => Promise<Principal | null>, options: ResolveOptions = {}): Promise<Principal | null> | Principal | null {
    const entry = this.lookup(digest);
    if (entry) {
      if (entry.principal !== null && entry.refreshAt <= this.now() && !this.inFlight.has(digest)) {
        this.verifyOnce(digest, verify).catch((error: unknown) => options.onRefreshError?.(error));
      }
      return entry.principal;
    }
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
    for (const [digest, entry] of this.verified) {
      if (entry.principal?.keyId === keyId) this.verified.delete(digest);
    }
  }

  clear(): void {
    this.generation++;
    this.inFlight.clear();
    this.verified.clear();
    this.rejected.clear();
  }
}

function dropFirst(map: Map<string, Entry>): void {
  const first = map.keys().next().value;
  if (first !== undefined) map.delete(first);
}
