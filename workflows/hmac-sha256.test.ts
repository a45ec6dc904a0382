// The workflow's plain-JS HMAC-SHA256 agrees with node:crypto (and the RFC 4231 vectors) on every input.
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSha256, sha256, toHex, utf8Bytes } from './hmac-sha256.js';

describe('plain-JS HMAC-SHA256', () => {
  it('matches the RFC 4231 test case 2 and the empty-string SHA-256', () => {
    expect(toHex(hmacSha256(utf8Bytes('Jefe'), utf8Bytes('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(toHex(sha256(new Uint8Array()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('agrees with node:crypto for any key and message, across block boundaries and non-ASCII text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'grapheme' }), fc.uint8Array({ maxLength: 300 }), (text, key) => {
        expect(Buffer.from(utf8Bytes(text)).equals(Buffer.from(text, 'utf8'))).toBe(true);
        expect(toHex(sha256(utf8Bytes(text)))).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
        expect(toHex(hmacSha256(key, utf8Bytes(text)))).toBe(createHmac('sha256', key).update(text, 'utf8').digest('hex'));
      }),
      { numRuns: 300 },
    );
  });
});
