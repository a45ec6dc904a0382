// How every Keel process (the API, both workers, `npm start`) reaches Temporal: address, TLS or mTLS, API key.
// Built from config in this one place, so the processes cannot disagree, and checked at start: a bad combination
// stops the process with a ConfigError naming the setting instead of failing on the first call.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type KeelConfig } from '../config.js';

export type TemporalConnectionConfig = Pick<
  KeelConfig,
  'temporalAddress' | 'temporalTls' | 'temporalTlsCert' | 'temporalTlsKey' | 'temporalTlsCa' | 'temporalTlsServerName' | 'temporalApiKey'
>;

/** What `Connection.connect`/`lazy` (client) and `NativeConnection.connect` (worker) both take. */
export interface TemporalConnectionOptions {
  address: string;
  /** Undefined: plain gRPC (the embedded dev server, a cluster on a private network). */
  tls?: TLSConfig;
  apiKey?: string;
}

/** The connection options from config; throws ConfigError naming the setting at fault. */
export function temporalConnectionOptions(config: TemporalConnectionConfig): TemporalConnectionOptions {
  const address = config.temporalAddress;
  if (!address) throw new ConfigError('TEMPORAL_ADDRESS', 'must be set (npm start sets it for the embedded dev server)');
  if (config.temporalTlsKey && !config.temporalTlsCert) throw new ConfigError('TEMPORAL_TLS_CERT', 'must be set when TEMPORAL_TLS_KEY is (mTLS needs both)');
  if (config.temporalTlsCert && !config.temporalTlsKey) throw new ConfigError('TEMPORAL_TLS_KEY', 'must be set when TEMPORAL_TLS_CERT is (mTLS needs both)');
  if (config.temporalApiKey !== undefined && /\s/.test(config.temporalApiKey)) throw new ConfigError('TEMPORAL_API_KEY', 'must not contain whitespace');

  const needsTls = (
    [
      ['TEMPORAL_TLS_CERT', config.temporalTlsCert],
      ['TEMPORAL_TLS_CA', config.temporalTlsCa],
      ['TEMPORAL_TLS_SERVER_NAME', config.temporalTlsServerName],
      // A bearer token over plain text is readable by anyone on the path: an API key always travels over TLS.
      ['TEMPORAL_API_KEY', config.temporalApiKey],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (config.temporalTls === false && needsTls.length > 0) {
    throw new ConfigError('TEMPORAL_TLS', `is false, but ${needsTls.map(([env]) => env).join(', ')} need(s) TLS: unset TEMPORAL_TLS or those`);
  }
  const tlsOn = config.temporalTls ?? needsTls.length > 0;
  const options: TemporalConnectionOptions = { address };
  if (config.temporalApiKey !== undefined) options.apiKey = config.temporalApiKey;
  if (!tlsOn) return options;

  const tls: TLSConfig = {};
  if (config.temporalTlsServerName) tls.serverNameOverride = config.temporalTlsServerName;
  if (config.temporalTlsCa) tls.serverRootCACertificate = readCertificates(config.temporalTlsCa, 'TEMPORAL_TLS_CA');
  if (config.temporalTlsCert && config.temporalTlsKey) {
    const crt = readCertificates(config.temporalTlsCert, 'TEMPORAL_TLS_CERT');
    const key = readPem(config.temporalTlsKey, 'TEMPORAL_TLS_KEY');
    checkKeyPair(crt, key);
    tls.clientCertPair = { crt, key };
  }
  options.tls = tls;
  return options;
}

/** One line for logs: where and how, never a secret. */
export function describeTemporalConnection(options: TemporalConnectionOptions): string {
  const how = !options.tls ? 'plain gRPC' : options.tls.clientCertPair ? 'mTLS' : 'TLS';
  return `${options.address} (${how}${options.apiKey ? ', API key' : ''})`;
}

function readPem(file: string, env: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(env, `must name a readable PEM file: ${(error as Error).message}`);
  }
}

function readCertificates(file: string, env: string): Buffer {
  const pem = readPem(file, env);
  const first = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!first) throw new ConfigError(env, `must name a PEM file with a certificate, got ${file}`);
  try {
    new X509Certificate(first);
  } catch (error) {
    throw new ConfigError(env, `holds no valid certificate (${file}): ${(error as Error).message}`);
  }
  return pem;
}

/** A certificate with somebody else's key fails every handshake with an opaque error: say so at start instead. */
function checkKeyPair(certificatePem: Buffer, keyPem: Buffer): void {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new ConfigError('TEMPORAL_TLS_KEY', `holds no readable private key: ${(error as Error).message}`);
  }
  if (!new X509Certificate(certificatePem).checkPrivateKey(key)) {
    throw new ConfigError('TEMPORAL_TLS_KEY', 'is not the private key of the certificate in TEMPORAL_TLS_CERT');
  }
}
