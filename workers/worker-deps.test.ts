// The data-plane settings of the config reach the ingest and validation activities, none dropped on the way.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { dataPlaneSettings, duckDbSettings } from './worker-deps.js';

const PEM = `-----BEGIN CERTIFICATE-----\nMIIBinternalcaforthistest\n-----END CERTIFICATE-----\n`;

describe('dataPlaneSettings', () => {
  it('when the data-plane variables are set, then every one reaches the settings the activities get', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'keel-ca-'));
    await writeFile(path.join(dir, 'ca.pem'), PEM);
    const config = loadConfig({
      KEEL_DATA_DIR: dir,
      KEEL_URL_CA_CERTIFICATES: path.join(dir, 'ca.pem'),
      KEEL_SQL_STATEMENT_TIMEOUT_MS: '5000',
      KEEL_MAX_DOWNLOAD_BYTES: '1048576',
      KEEL_DUCKDB_THREADS: '2',
      KEEL_DUCKDB_MEMORY_LIMIT: '1GB',
      // Larger than the cap on any machine: the cap is what each session gets.
      KEEL_DUCKDB_MEMORY_BUDGET: '1TB',
    });
    const settings = dataPlaneSettings(config);
    expect(settings).toMatchObject({
      workDir: path.join(dir, 'tmp', 'data-plane'),
      sqlStatementTimeoutMs: 5000,
      maxDownloadBytes: 1_048_576,
      duckdbThreads: 2,
      duckdbMemoryLimit: '1GB',
    });
    // The internal CA is trusted in addition to the public roots, not instead of them.
    expect(settings.urlCaCertificates).toEqual([...rootCertificates, PEM.trim()]);
  });

  it('when several ingests and validations may run at once, then each DuckDB session gets its share of the budget', () => {
    const config = loadConfig({ KEEL_MAX_CONCURRENT_INGESTS: '3', KEEL_MAX_CONCURRENT_VALIDATIONS: '1', KEEL_DUCKDB_MEMORY_BUDGET: '2GiB' });
    expect(duckDbSettings(config, { totalMemoryBytes: 64 * 2 ** 30, cores: 8 })).toEqual({ duckdbMemoryLimit: '512MiB', duckdbThreads: 2 });
  });

  it('when no CA file is configured, then https sources use Node’s default trust', () => {
    expect(dataPlaneSettings(loadConfig({})).urlCaCertificates).toBeUndefined();
  });
});
