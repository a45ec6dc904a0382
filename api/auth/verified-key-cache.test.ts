// The verified-key cache: trusted for its TTL only, evicted at once on revocation, bounded in size.
import { describe, expect, it } from 'vitest';
import { VerifiedKeyCache } from './verified-key-cache.js';

const alice = { keyId: 'k-alice', name: 'alice', roles: ['engineer' as const] };

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
});
