// A generated admin key reaches the operator through a 0600 file in the data directory, never stdout or the log;
// and a bad Temporal TLS setting stops the API process naming it. Both on the real API process (api/main.ts).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { adminKeyFilePath, writeAdminKeyFile } from '../api/auth/admin-key-file.js';
import { startApiProcess, type ApiProcess } from './support/api-process.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

let database: TestDatabase;
let dataDir: string;
let api: ApiProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-admin-key-'));
});

afterAll(async () => {
  await api?.process.stop({ graceMs: 5_000 });
  await database?.close();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

describe('the generated admin key', () => {
  it('when the API installs a generated admin key, then it is in a 0600 file in the data dir and in no output', async () => {
    api = await startApiProcess({
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      KEEL_DATA_DIR: dataDir,
      KEEL_SIGNING_KEY: `admin-key-file-test-${randomUUID()}`,
      KEEL_ADMIN_KEY: '',
      LOG_LEVEL: 'trace',
    });
    const file = adminKeyFilePath(dataDir);
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).toBe(0o600);
    const secret = (await fs.readFile(file, 'utf8')).trim();
    expect(secret).toMatch(/^keel_/);
    // It is the admin key: it manages keys.
    const response = await fetch(`${api.url}/v1/audit`, { headers: { authorization: `Bearer ${secret}` } });
    expect(response.status).toBe(200);
    // The API's log is buffered and flushed at least once a second (api/log-destination.ts): a bounded wait for it.
    for (let attempt = 0; attempt < 100 && !api.output.join('\n').includes(file); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const output = api.output.join('\n');
    expect(output).toContain(file);
    expect(output).not.toContain(secret);
    expect(output).not.toContain(secret.slice(0, 20));
  });

  it('when handing the key over fails, then no key is installed and the next start tries again', async () => {
    const fresh = await createTestDatabase();
    try {
      await expect(
        ensureAdminKey(fresh.db, { adminKey: undefined }, { deliverGeneratedSecret: () => Promise.reject(new Error('disk full')) }),
      ).rejects.toThrow('disk full');
      const delivered: string[] = [];
      const retried = await ensureAdminKey(fresh.db, { adminKey: undefined }, { deliverGeneratedSecret: async (secret) => void delivered.push(secret) });
      expect(retried.created).toBe(true);
      expect(delivered).toEqual([retried.secret]);
    } finally {
      await fresh.close();
    }
  });

  it('when a key file is left from an earlier installation, then the new key replaces it, still 0600', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-admin-key-again-'));
    try {
      await fs.writeFile(path.join(dir, 'admin-key'), 'old\n', { mode: 0o644 });
      const file = await writeAdminKeyFile(dir, 'keel_new_secret');
      expect(await fs.readFile(file, 'utf8')).toBe('keel_new_secret\n');
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      expect(await fs.readdir(dir)).toEqual(['admin-key']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the API process with a bad Temporal TLS setting', () => {
  it('when TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT, then it does not start and says which setting', async () => {
    const keyFile = path.join(dataDir, 'client.key');
    await fs.writeFile(keyFile, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    await expect(
      startApiProcess({
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        KEEL_DATA_DIR: dataDir,
        TEMPORAL_TLS_KEY: keyFile,
      }),
    ).rejects.toThrow(/TEMPORAL_TLS_CERT must be set when TEMPORAL_TLS_KEY is/);
  });
});
