// `npm start` checks the Temporal connection settings before it starts anything: TLS settings without
// TEMPORAL_ADDRESS (the embedded dev server has no TLS) or a bad TLS combination end it at once, naming the setting.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from './support/test-certificates.js';

const projectRoot = path.resolve(import.meta.dirname, '..');
let certs: TestCertificates;
let dataDir: string;

beforeAll(async () => {
  certs = await createTestCertificates(await fs.mkdtemp(path.join(os.tmpdir(), 'keel-start-tls-')));
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'keel-start-data-'));
});

afterAll(async () => {
  await fs.rm(certs.dir, { recursive: true, force: true });
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function npmStart(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'dev/start.ts')], {
    cwd: projectRoot,
    // Ports nobody uses: were the check missing, the stack would start there (and the test time out), not collide.
    env: { ...process.env, KEEL_DATA_DIR: dataDir, KEEL_POSTGRES_PORT: '1', KEEL_TEMPORAL_PORT: '2', KEEL_TEMPORAL_UI_PORT: '3', ...env },
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, output: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
  );
  return result;
}

describe('npm start with Temporal connection settings', () => {
  it('when a TLS setting is given without TEMPORAL_ADDRESS, then it stops before starting anything, naming it', async () => {
    const { code, output } = await npmStart({ TEMPORAL_ADDRESS: '', TEMPORAL_TLS_CA: certs.caCert });
    expect(code).toBe(1);
    expect(output).toMatch(/TEMPORAL_TLS_CA is set \(TEMPORAL_TLS_CA\), but the embedded Temporal dev server has no TLS/);
    expect(output).not.toMatch(/embedded Postgres on|Temporal dev server on/);
  });

  it('when TEMPORAL_ADDRESS is set with a certificate but no key, then it stops naming TEMPORAL_TLS_KEY', async () => {
    const { code, output } = await npmStart({ TEMPORAL_ADDRESS: '127.0.0.1:4', TEMPORAL_TLS_CERT: certs.clientCert });
    expect(code).toBe(1);
    expect(output).toMatch(/TEMPORAL_TLS_KEY must be set when TEMPORAL_TLS_CERT is/);
  });
});
