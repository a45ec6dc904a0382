// API key secrets: random and well-formed, verified only by the exact secret, hashes salted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONFIGURED_KEY_PREFIX, generateApiKey, hashApiKey, lookupPrefix, sameSecretText, verifyApiKey } from './api-key-secret.js';

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

describe('comparing a presented header with a remembered one', () => {
  it('is equality: a prefix, an extension, a repetition, one character off anywhere, and empty strings are told apart', () => {
    const header = `Bearer ${generateApiKey().secret}`;
    expect(sameSecretText(header, `${header}`.slice(0))).toBe(true);
    for (const presented of [header.slice(0, -1), `${header}x`, header + header, header.toLowerCase(), `${header} `, '', `x${header.slice(1)}`, `${header.slice(0, -1)}\u0000`]) {
      expect(sameSecretText(header, presented), JSON.stringify(presented)).toBe(false);
    }
    expect(sameSecretText('', '')).toBe(true);
    expect(sameSecretText('', 'a')).toBe(false);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), (a, b) => sameSecretText(a, b) === (a === b)));
  });
});
