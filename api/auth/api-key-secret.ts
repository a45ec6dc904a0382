// API key secrets: random, shown once, stored only as a salted scrypt hash.
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_PATTERN = /^keel_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/**
 * Lookup prefix of an operator-chosen key (KEEL_ADMIN_KEY) that does not follow the `keel_` format.
 * A fixed value, not derived from the secret: a fast hash of it stored beside the scrypt hash would
 * let anyone holding the table test guesses cheaply.
 */
export const CONFIGURED_KEY_PREFIX = 'configured';

const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 };

export interface GeneratedKey {
  secret: string;
  prefix: string;
}

export function generateApiKey(): GeneratedKey {
  const bytes = randomBytes(8);
  let prefix = '';
  for (const byte of bytes) prefix += PREFIX_ALPHABET[byte % PREFIX_ALPHABET.length];
  return { prefix, secret: `keel_${prefix}_${randomBytes(32).toString('base64url')}` };
}

/** A token shaped like a generated Keel key (`keel_<8>_<43>`); anything else can only be the configured admin key. */
export function isGeneratedKeyFormat(token: string): boolean {
  return KEY_PATTERN.test(token);
}

/**
 * Whether `token` is the operator-chosen KEEL_ADMIN_KEY this process was given, compared in constant time (digests
 * of equal length). Only such a token, or one in the generated format, is worth a database lookup and scrypt.
 */
export function isConfiguredKey(token: string, configuredKey: string | undefined): boolean {
  if (configuredKey === undefined) return false;
  const presented = createHash('sha256').update(token).digest();
  const configured = createHash('sha256').update(configuredKey).digest();
  return timingSafeEqual(presented, configured);
}

/**
 * Whether `presented` is `remembered`, in time that depends on `presented`'s length alone: no exit at the first
 * differing character, nor at a length mismatch (`remembered` is read cyclically), so a header compared with another
 * client's (a proxy's keep-alive connection carries many clients' requests) gives away neither its bytes nor its length.
 */
export function sameSecretText(remembered: string, presented: string): boolean {
  if (remembered.length === 0) return presented.length === 0;
  let difference = remembered.length ^ presented.length;
  for (let i = 0; i < presented.length; i++) difference |= remembered.charCodeAt(i % remembered.length) ^ presented.charCodeAt(i);
  return difference === 0;
}

/** The prefix to look a presented secret up by. */
export function lookupPrefix(secret: string): string {
  const match = KEY_PATTERN.exec(secret);
  return match ? match[1] : CONFIGURED_KEY_PREFIX;
}

function scryptAsync(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url. */
export async function hashApiKey(secret: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const hash = await scryptAsync(secret, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyApiKey(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltText, hashText] = parts;
  const expected = Buffer.from(hashText, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(saltText, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
