// The verified-key cache: trusted for its TTL only, evicted at once on revocation, bounded in size.
import { describe, expect, it } from 'vitest';
import { VerifiedKeyCache } from './verified-key-cache.js';

const alice = { keyId: 'k-alice', name: 'alice', user: 'alice', roles: ['engineer' as const] };

describe('VerifiedKeyCache', () => {
  it('forgets a verified key once its TTL has passed, so a revocation elsewhere takes effect', () => {
    let now = 1_000;
    const cache = new VerifiedKeyCache(5_000, 10, () => now);
    cache.set('d1', alice);
    now += 4_999;
    expect(cache.get('d1')).toEqual(alice);
    now += 1;
    expect(cache.get('d1')).toBeUndefined();
  });

  it('remembers a rejected token as null (no repeated scrypt for the same bad key)', () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0);
    cache.set('bad', null);
    expect(cache.get('bad')).toBeNull();
  });

  it('evicts every entry of a revoked key immediately', () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0);
    cache.set('d1', alice);
    cache.set('d2', alice);
    cache.set('d3', { ...alice, keyId: 'k-bob' });
    cache.evictKey('k-alice');
    expect([cache.get('d1'), cache.get('d2'), cache.get('d3')?.keyId]).toEqual([undefined, undefined, 'k-bob']);
  });

  it('drops the oldest entry when full, and caches nothing with a zero TTL', () => {
    const cache = new VerifiedKeyCache(5_000, 2, () => 0);
    cache.set('a', alice);
    cache.set('b', alice);
    cache.set('c', alice);
    expect([cache.get('a'), cache.get('b')?.name, cache.get('c')?.name]).toEqual([undefined, 'alice', 'alice']);
    const off = new VerifiedKeyCache(0, 2, () => 0);
    off.set('a', alice);
    expect(off.get('a')).toBeUndefined();
  });

  it('when many requests present an unverified token at once, then it is verified once and all share the answer', async () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0);
    let verifications = 0;
    let release!: (principal: typeof alice) => void;
    const verify = () => {
      verifications++;
      return new Promise<typeof alice>((resolve) => (release = resolve));
    };
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.resolve('d1', verify)));
    release(alice);
    expect(await answers).toEqual(Array.from({ length: 50 }, () => alice));
    expect(verifications).toBe(1);
    expect(cache.resolve('d1', verify)).toEqual(alice);
    expect(verifications).toBe(1);
  });

  it('when a key in use nears its expiry, then it is re-verified in the background while the cached answer still serves', async () => {
    let now = 0;
    const cache = new VerifiedKeyCache(4_000, 10, () => now);
    const revoked = { revoked: false };
    let verifications = 0;
    const verify = async () => {
      verifications++;
      return revoked.revoked ? null : alice;
    };
    expect(await cache.resolve('d1', verify)).toEqual(alice);
    now = 3_000;
    revoked.revoked = true;
    // Past the refresh point: answers from the cache at once and re-verifies once, however many callers.
    expect([cache.resolve('d1', verify), cache.resolve('d1', verify)]).toEqual([alice, alice]);
    await Promise.resolve();
    expect(verifications).toBe(2);
    // The refresh saw the revocation.
    expect(cache.resolve('d1', verify)).toBeNull();
  });

  it('when a verification fails, then its callers see the error and the next caller tries again', async () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0);
    await expect(cache.resolve('d1', () => Promise.reject(new Error('postgres down')))).rejects.toThrow('postgres down');
    expect(await cache.resolve('d1', async () => alice)).toEqual(alice);
  });

  it('when a key is revoked while its verification is in flight, then the stale answer is not cached', async () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0);
    let release!: (principal: typeof alice) => void;
    const pending = cache.resolve('d1', () => new Promise<typeof alice>((resolve) => (release = resolve)));
    cache.evictKey('k-alice');
    release(alice);
    await pending;
    expect(cache.get('d1')).toBeUndefined();
  });

  it('when 10,000 junk tokens are rejected, then no valid key is evicted (junk only ever evicts junk)', () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0, 100);
    cache.set('valid-1', alice);
    cache.set('valid-2', { ...alice, keyId: 'k-bob' });
    for (let i = 0; i < 10_000; i++) cache.set(`junk-${i}`, null);
    expect(cache.get('valid-1')).toEqual(alice);
    expect(cache.get('valid-2')?.keyId).toBe('k-bob');
    expect(cache.size).toEqual({ verified: 2, rejected: 100 });
  });

  it('when the rejected tokens are full, then the least recently used one is dropped, not the one seen last', () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0, 2);
    cache.set('junk-a', null);
    cache.set('junk-b', null);
    expect(cache.get('junk-a')).toBeNull(); // a is now more recent than b
    cache.set('junk-c', null);
    expect([cache.get('junk-a'), cache.get('junk-b'), cache.get('junk-c')]).toEqual([null, undefined, null]);
  });

  it('when a verified key is re-verified as revoked, then it moves to the rejected tokens', () => {
    const cache = new VerifiedKeyCache(5_000, 10, () => 0);
    cache.set('d1', alice);
    cache.set('d1', null);
    expect(cache.get('d1')).toBeNull();
    expect(cache.size).toEqual({ verified: 0, rejected: 1 });
  });
});
