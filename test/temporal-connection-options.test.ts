// The one builder of Temporal connection options (API, workers, npm start): TLS, mTLS, API key, and the settings
// combinations it refuses at start, naming the setting.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { describeTemporalConnection, temporalConnectionOptions } from '../temporal/connection-options.js';
import { createTestCertificates, type TestCertificates } from './support/test-certificates.js';

let certs: TestCertificates;

beforeAll(async () => {
  certs = await createTestCertificates(await fs.mkdtemp(path.join(os.tmpdir(), 'keel-tls-unit-')));
});

afterAll(async () => {
  if (certs) await fs.rm(certs.dir, { recursive: true, force: true });
});

const options = (env: Record<string, string>) => temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', ...env }));

function configErrorOf(build: () => unknown): { env: unknown; message: string } {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { env: (error as ConfigError).details?.env, message: (error as Error).message };
  }
  throw new Error('expected a ConfigError');
}

describe('temporalConnectionOptions', () => {
  it('when nothing about TLS is set, then it connects in plain gRPC to TEMPORAL_ADDRESS', () => {
    expect(options({})).toEqual({ address: 'temporal.example:7233' });
    expect(describeTemporalConnection(options({}))).toBe('temporal.example:7233 (plain gRPC)');
  });

  it('when TEMPORAL_TLS is true alone, then TLS is on with the system CAs (Temporal Cloud)', () => {
    expect(options({ TEMPORAL_TLS: 'true' })).toEqual({ address: 'temporal.example:7233', tls: {} });
  });

  it('when an API key is set, then TLS is on and the key travels as the API key, never in plain text', () => {
    const built = options({ TEMPORAL_API_KEY: 'cloud-key-123' });
    expect(built).toEqual({ address: 'temporal.example:7233', tls: {}, apiKey: 'cloud-key-123' });
    expect(describeTemporalConnection(built)).toBe('temporal.example:7233 (TLS, API key)');
    expect(describeTemporalConnection(built)).not.toContain('cloud-key-123');
  });

  it('when cert, key, CA and server name are set, then mTLS uses the files\' bytes', async () => {
    const built = options({
      TEMPORAL_TLS_CERT: certs.clientCert,
      TEMPORAL_TLS_KEY: certs.clientKey,
      TEMPORAL_TLS_CA: certs.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.keel.test',
    });
    expect(built.tls?.serverNameOverride).toBe('temporal.keel.test');
    expect(Buffer.from(built.tls!.serverRootCACertificate!)).toEqual(await fs.readFile(certs.caCert));
    expect(Buffer.from(built.tls!.clientCertPair!.crt)).toEqual(await fs.readFile(certs.clientCert));
    expect(Buffer.from(built.tls!.clientCertPair!.key)).toEqual(await fs.readFile(certs.clientKey));
    expect(describeTemporalConnection(built)).toBe('temporal.example:7233 (mTLS)');
  });

  it('when only a CA is set, then TLS verifies the server by it, with no client certificate', () => {
    const built = options({ TEMPORAL_TLS_CA: certs.caCert });
    expect(built.tls?.serverRootCACertificate).toBeDefined();
    expect(built.tls?.clientCertPair).toBeUndefined();
  });

  it.each([
    ['a key without a certificate', { TEMPORAL_TLS_KEY: 'clientKey' }, 'TEMPORAL_TLS_CERT', /must be set when TEMPORAL_TLS_KEY is/],
    ['a certificate without its key', { TEMPORAL_TLS_CERT: 'clientCert' }, 'TEMPORAL_TLS_KEY', /must be set when TEMPORAL_TLS_CERT is/],
    ['TLS off with an API key', { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' }, 'TEMPORAL_TLS', /TEMPORAL_API_KEY need\(s\) TLS/],
    ['TLS off with a CA', { TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: 'caCert' }, 'TEMPORAL_TLS', /TEMPORAL_TLS_CA need\(s\) TLS/],
    ['a key that is not the certificate\'s', { TEMPORAL_TLS_CERT: 'clientCert', TEMPORAL_TLS_KEY: 'otherCaKey' }, 'TEMPORAL_TLS_KEY', /not the private key of the certificate/],
    ['a private key given as the certificate', { TEMPORAL_TLS_CERT: 'clientKey', TEMPORAL_TLS_KEY: 'clientKey' }, 'TEMPORAL_TLS_CERT', /with a certificate/],
    ['an API key with a line break', { TEMPORAL_API_KEY: 'abc\ndef' }, 'TEMPORAL_API_KEY', /whitespace/],
  ])('when %s, then start fails naming %s', (_case, env, expectedEnv, message) => {
    const resolved = Object.fromEntries(
      Object.entries(env).map(([name, value]) => [name, value in certs ? certs[value as keyof TestCertificates] : value]),
    );
    const error = configErrorOf(() => options(resolved));
    expect(error.env).toBe(expectedEnv);
    expect(error.message).toMatch(message);
  });

  it('when a TLS file is missing or not PEM, then loading the config fails naming the setting', async () => {
    const notPem = path.join(certs.dir, 'not-pem.txt');
    await fs.writeFile(notPem, 'hello');
    for (const env of ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA']) {
      expect(() => loadConfig({ [env]: '/no/such/file.pem' }), env).toThrow(new RegExp(`${env} must name a readable`));
      expect(() => loadConfig({ [env]: notPem }), env).toThrow(new RegExp(`${env} must name a PEM`));
    }
  });

  it('when TEMPORAL_ADDRESS is unset, then it names it', () => {
    expect(configErrorOf(() => temporalConnectionOptions(loadConfig({}))).env).toBe('TEMPORAL_ADDRESS');
  });

  it('keeps the private key out of the config object: only its path is there', () => {
    const config = loadConfig({ TEMPORAL_TLS_CERT: certs.clientCert, TEMPORAL_TLS_KEY: certs.clientKey });
    expect(config.temporalTlsKey).toBe(certs.clientKey);
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
  });
});
