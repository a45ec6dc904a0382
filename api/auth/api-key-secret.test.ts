// API key secrets: random and well-formed, verified only by the exact secret, hashes salted.
import { describe, expect, it } from 'vitest';
import { CONFIGURED_KEY_PREFIX, generateApiKey, hashApiKey, lookupPrefix, verifyApiKey } from './api-key-secret.js';

describe('API key secrets', () => {
  it('generates keys whose prefix is the lookup prefix', () => {
    const { secret, prefix } = generateApiKey();
    expect(secret).toMatch(/^keel_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(lookupPrefix(secret)).toBe(prefix);
    expect(generateApiKey().secret).not.toBe(secret);
  });

  it('looks up an operator-chosen key by the fixed configured prefix, never by a digest of it', () => {
    expect(lookupPrefix('my-own-admin-key-1234')).toBe(CONFIGURED_KEY_PREFIX);
  });

  it('verifies the exact secret only, with a different salt per hash', async () => {
    const { secret } = generateApiKey();
    const [first, second] = await Promise.all([hashApiKey(secret), hashApiKey(secret)]);
    expect(first).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain(secret.slice(14));
    expect(await verifyApiKey(secret, first)).toBe(true);
    expect(await verifyApiKey(secret, second)).toBe(true);
    expect(await verifyApiKey(`${secret}x`, first)).toBe(false);
    expect(await verifyApiKey(secret, 'bcrypt$whatever')).toBe(false);
  });
});
