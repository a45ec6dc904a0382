// A throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for 127.0.0.1/localhost
// and a client certificate it signed, plus a second, unrelated CA (for "a CA that did not sign it").
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here. */
  otherCaCert: string;
  otherCaKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}

async function makeSigned(dir: string, name: string, extensions: string): Promise<void> {
  await fs.writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

export async function createTestCertificates(dir: string): Promise<TestCertificates> {
  await fs.mkdir(dir, { recursive: true });
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await makeSigned(dir, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:temporal.keel.test\nextendedKeyUsage=serverAuth\n');
  await makeSigned(dir, 'client', 'extendedKeyUsage=clientAuth\n');
  const file = (name: string) => path.join(dir, name);
  return {
    dir,
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    otherCaCert: file('other-ca.crt'),
    otherCaKey: file('other-ca.key'),
  };
}
