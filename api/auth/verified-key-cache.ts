// Short-lived memory of verified (and rejected) bearer tokens, so a hot path does not run scrypt per request.
import { createHash } from 'node:crypto';
import type { Principal } from './principal.js';

interface Entry {
  principal: Principal | null;
  expiresAt: number;
}

/**
 * Keys are sha256 digests of the token, so raw secrets are not kept in memory.
 * Revocation in this process evicts at once (`evictKey`); other processes notice within `ttlMs`.
 */
export class VerifiedKeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  static digest(token: string): string {
    return createHash('sha256').update(token).digest('hex');
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
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(digest, { principal, expiresAt: this.now() + this.ttlMs });
  }

  evictKey(keyId: string): void {
    for (const [digest, entry] of this.entries) {
      if (entry.principal?.keyId === keyId) this.entries.delete(digest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
