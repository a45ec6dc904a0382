// Keel's connection options against a secured Temporal front: mTLS with a generated CA and an API key, through the
// client (grpc-js) and the worker's native connection (Rust core). The dev server itself has no TLS flags, so a
// TLS-terminating HTTP/2 gateway (test/support/tls-grpc-gateway.ts) stands in for a secured cluster's ingress.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkTemporal, createProbeConnection } from '../api/routes/health.js';
import { loadConfig } from '../config.js';
import { temporalConnectionOptions } from '../temporal/connection-options.js';
import { createTestCertificates, type TestCertificates } from './support/test-certificates.js';
import { startTlsGrpcGateway, type TlsGrpcGateway } from './support/tls-grpc-gateway.js';

const API_KEY = 'keel-test-temporal-api-key';
let certs: TestCertificates;
let gateway: TlsGrpcGateway;

beforeAll(async () => {
  certs = await createTestCertificates(await fs.mkdtemp(path.join(os.tmpdir(), 'keel-tls-')));
  gateway = await startTlsGrpcGateway({
    target: inject('temporalAddress'),
    cert: await fs.readFile(certs.serverCert),
    key: await fs.readFile(certs.serverKey),
    clientCa: await fs.readFile(certs.caCert),
    apiKey: API_KEY,
  });
});

afterAll(async () => {
  await gateway?.close();
  if (certs) await fs.rm(certs.dir, { recursive: true, force: true });
});

function optionsFor(env: Record<string, string>) {
  return temporalConnectionOptions(loadConfig({ TEMPORAL_ADDRESS: gateway.address, ...env }));
}

const secured = () => ({
  TEMPORAL_TLS_CERT: certs.clientCert,
  TEMPORAL_TLS_KEY: certs.clientKey,
  TEMPORAL_TLS_CA: certs.caCert,
  TEMPORAL_API_KEY: API_KEY,
});

describe('connecting to a secured Temporal', () => {
  it('when the client has the client certificate, the CA and the API key, then calls reach Temporal over mTLS', async () => {
    const before = gateway.calls.length;
    const connection = await Connection.connect(optionsFor(secured()));
    try {
      const client = new Client({ connection, namespace: 'default' });
      const namespace = await client.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespace.namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }
    const calls = gateway.calls.slice(before);
    expect(calls.map((call) => call.path)).toContain('/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace');
    for (const call of calls) expect(call).toMatchObject({ authorization: `Bearer ${API_KEY}`, clientCertificate: 'client' });
  });

  it('when a worker connects with the same options, then its native connection works over mTLS with the API key', async () => {
    const before = gateway.calls.length;
    const connection = await NativeConnection.connect(optionsFor(secured()));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeDefined();
    } finally {
      await connection.close();
    }
    const calls = gateway.calls.slice(before);
    expect(calls.map((call) => call.path)).toContain('/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo');
    for (const call of calls) expect(call).toMatchObject({ authorization: `Bearer ${API_KEY}`, clientCertificate: 'client' });
  });

  it("when the API's readiness probe is built from its connection, then it reaches Temporal with the same TLS and API key", async () => {
    const connection = Connection.lazy(optionsFor(secured()));
    const probe = createProbeConnection({ client: new Client({ connection }), connection });
    try {
      const before = gateway.calls.length;
      expect(await checkTemporal(probe)).toEqual({ ok: true });
      expect(gateway.calls.slice(before)).toEqual([
        { path: '/grpc.health.v1.Health/Check', authorization: `Bearer ${API_KEY}`, clientCertificate: 'client' },
      ]);
    } finally {
      await probe.close();
      await connection.close();
    }
  });

  it('when the client certificate is left out, then the TLS handshake is refused and nothing reaches Temporal', async () => {
    const before = gateway.calls.length;
    const options = optionsFor({ TEMPORAL_TLS_CA: certs.caCert, TEMPORAL_API_KEY: API_KEY });
    await expect(Connection.connect({ ...options, connectTimeout: 5_000 })).rejects.toThrow();
    expect(gateway.calls.slice(before)).toEqual([]);
  });

  it('when the server certificate was signed by another CA than TEMPORAL_TLS_CA, then the client refuses the server', async () => {
    const before = gateway.calls.length;
    const options = optionsFor({ ...secured(), TEMPORAL_TLS_CA: certs.otherCaCert });
    await expect(Connection.connect({ ...options, connectTimeout: 5_000 })).rejects.toThrow();
    expect(gateway.calls.slice(before)).toEqual([]);
  });

  it('when the API key is wrong, then the call is refused as unauthenticated and the client says so', async () => {
    const before = gateway.calls.length;
    const options = optionsFor({ ...secured(), TEMPORAL_API_KEY: 'not-the-key' });
    const error = await Connection.connect(options).then(
      async (connection) => {
        await connection.close();
        return undefined;
      },
      (failure: unknown) => failure as Error & { cause?: Error },
    );
    expect(error).toBeInstanceOf(Error);
    expect(`${error!.message} ${error!.cause?.message ?? ''}`).toMatch(/api key refused/);
    // It did arrive over mTLS carrying the wrong key, and was refused there.
    expect(gateway.calls.slice(before)[0]).toMatchObject({ authorization: 'Bearer not-the-key', clientCertificate: 'client' });
  });

  it('when the server name override does not match the certificate, then the client refuses the server', async () => {
    const options = optionsFor({ ...secured(), TEMPORAL_TLS_SERVER_NAME: 'someone-else.example' });
    await expect(Connection.connect({ ...options, connectTimeout: 5_000 })).rejects.toThrow();
  });

  it('when the server name override matches the certificate, then the client accepts the server', async () => {
    const connection = await Connection.connect(optionsFor({ ...secured(), TEMPORAL_TLS_SERVER_NAME: 'temporal.keel.test' }));
    await connection.close();
  });
});
