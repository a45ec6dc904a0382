// The review signing key shared by the API (signs) and the pipeline workers (verify in the workflow): KEEL_SIGNING_KEY,
// or one generated once into the data directory (mode 0600) that every process on this machine reads. Never logged.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type KeelConfig } from '../config.js';

export const SIGNING_KEY_FILE = 'signing-key';

export function resolveSigningKey(config: Pick<KeelConfig, 'signingKey' | 'dataDir'>): string {
  if (config.signingKey !== undefined) return config.signingKey;
  const file = path.join(config.dataDir, SIGNING_KEY_FILE);
  mkdirSync(config.dataDir, { recursive: true });
  // Written whole to a private temp file, then linked into place: a process starting at the same time either wins
  // the link or reads the winner's complete key, never a half-written one.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temp);
  }
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < 32) throw new ConfigError('KEEL_SIGNING_KEY', `unset, and ${file} holds no key of at least 32 characters`);
  return key;
}
