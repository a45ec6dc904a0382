// The review signing key: KEEL_SIGNING_KEY when set, else one generated once into the data dir, private to its owner.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { resolveSigningKey, SIGNING_KEY_FILE } from './review-signing-key.js';

const dirs: string[] = [];
const scratch = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-signing-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('resolveSigningKey', () => {
  it('uses KEEL_SIGNING_KEY when set and writes nothing; refuses one shorter than 32 characters', () => {
    const dataDir = scratch();
    expect(resolveSigningKey({ dataDir, signingKey: 'x'.repeat(32) })).toBe('x'.repeat(32));
    expect(fs.existsSync(path.join(dataDir, SIGNING_KEY_FILE))).toBe(false);
    expect(() => loadConfig({ KEEL_SIGNING_KEY: 'short' })).toThrow(/KEEL_SIGNING_KEY must be at least 32 characters/);
  });

  it('generates a key once into the data dir (mode 0600) and every later process reads the same one', () => {
    const dataDir = scratch();
    const first = resolveSigningKey({ dataDir, signingKey: undefined });
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(resolveSigningKey({ dataDir, signingKey: undefined })).toBe(first);
    expect(fs.statSync(path.join(dataDir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual([SIGNING_KEY_FILE]);
    expect(resolveSigningKey({ dataDir: scratch(), signingKey: undefined })).not.toBe(first);
  });
});
