// The configuration schema is the one list of settings: loadConfig reads it, and README's table documents it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SETTINGS, type Setting } from './config.js';

interface ReadmeRow {
  env: string;
  type: string;
  default: string;
  doc: string;
}

/** The rows of the table under README's "## Configuration" heading. */
function readmeConfigurationRows(): ReadmeRow[] {
  const readme = readFileSync(path.join(import.meta.dirname, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Configuration'));
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const cells = (line: string) => line.split('|').slice(1, -1).map((cell) => cell.trim());
  const plain = (cell: string) => cell.replace(/[`*]/g, '').trim();
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // header and separator
    .map((line) => {
      const [env = '', type = '', fallback = '', doc = ''] = cells(line);
      return { env: plain(env), type: plain(type), default: plain(fallback), doc: plain(doc) };
    });
}

const schema = Object.values(SETTINGS) as Setting<unknown>[];

describe('configuration schema', () => {
  it('when a setting is missing from README, or README lists one the schema lacks, then fails naming it', () => {
    const documented = readmeConfigurationRows().map((row) => row.env);
    const declared = schema.map((entry) => entry.env);
    expect(declared.filter((env) => !documented.includes(env)), 'settings missing from README').toEqual([]);
    expect(documented.filter((env) => !declared.includes(env)), 'README rows with no setting').toEqual([]);
  });

  it("README shows each setting's type, default and doc as the schema says them", () => {
    const rows = new Map(readmeConfigurationRows().map((row) => [row.env, row]));
    for (const entry of schema) {
      expect(rows.get(entry.env), entry.env).toEqual({ env: entry.env, type: entry.type, default: entry.default, doc: entry.doc });
    }
  });

  it('when nothing is set, then every setting takes its default', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      temporalAddress: undefined,
      databaseUrl: undefined,
      sqlConnections: {},
      urlCaCertificates: undefined,
      maxDownloadBytes: 2 * 1024 ** 3,
      sqlStatementTimeoutMs: 600_000,
      duckdbThreads: undefined,
      duckdbMemoryLimit: '4GB',
      logLevel: 'info',
      taskQueues: { pipeline: 'pipeline', training: 'training' },
    });
    expect(config.dataRoots).toEqual([path.join(config.dataDir, 'datasets')]);
    expect(config.artifactDir).toBe(path.join(config.dataDir, 'artifacts'));
  });

  it('reads the data-plane settings that reach the ingest activities', () => {
    const config = loadConfig({ KEEL_SQL_STATEMENT_TIMEOUT_MS: '5000', KEEL_MAX_DOWNLOAD_BYTES: '1048576', KEEL_DUCKDB_THREADS: '2' });
    expect(config).toMatchObject({ sqlStatementTimeoutMs: 5000, maxDownloadBytes: 1_048_576, duckdbThreads: 2 });
  });

  it.each([
    ['PORT', 'http'],
    ['KEEL_DUCKDB_THREADS', '0'],
    ['KEEL_SQL_STATEMENT_TIMEOUT_MS', '1.5'],
    ['KEEL_ALLOW_HTTP_URLS', 'maybe'],
    ['KEEL_ADMIN_KEY', 'short'],
    ['KEEL_URL_CA_CERTIFICATES', '/no/such/ca.pem'],
    ['KEEL_SQL_CONNECTIONS', '{"warehouse": "mysql://x"}'],
    ['LOG_LEVEL', 'loud'],
  ])('when %s is "%s", then start fails with a message naming the variable', (env, value) => {
    const load = () => loadConfig({ [env]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`invalid configuration: ${env} `));
  });
});
