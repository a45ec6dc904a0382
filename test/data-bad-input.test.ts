// Every kind of broken input ends in a named error or a failing report, and never leaves a file behind.
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFile, symlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { profileSnapshot, type DatasetProfile } from '../data/profile-snapshot.js';
import { snapshotDataset, type SnapshotRequest } from '../data/snapshot-dataset.js';
import { validateProfile } from '../data/validate-profile.js';
import type { DataPlaneSettings } from '../data/dataset-source.js';
import { createDataSandbox, FIXTURES, type DataSandbox } from './data-sandbox.js';

let sandbox: DataSandbox;

beforeEach(async () => {
  sandbox = await createDataSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

function ingest(request: SnapshotRequest, settings: Partial<DataPlaneSettings> = {}) {
  return snapshotDataset(request, { artifacts: sandbox.artifacts, settings: { ...sandbox.settings, ...settings } });
}

const file = (path: string, extra: Partial<Extract<SnapshotRequest['source'], { kind: 'file' }>> = {}) =>
  ({ source: { kind: 'file', path, ...extra } }) as SnapshotRequest;

/** Ingests and expects a named error; then asserts nothing was written anywhere. */
async function expectRefused(request: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await expect(request).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  expect(await sandbox.files()).toEqual([]);
}

let referenceProfile: DatasetProfile;

async function profileOf(request: SnapshotRequest, reference?: DatasetProfile): Promise<DatasetProfile> {
  const snapshot = await ingest(request);
  return profileSnapshot(await sandbox.artifacts.localPath(snapshot.sha256), { reference });
}

describe('ingesting broken files', () => {
  beforeAll(async () => {
    const local = await createDataSandbox();
    try {
      const snapshot = await snapshotDataset(
        { source: { kind: 'file', path: 'seattle-weather.csv' } },
        { artifacts: local.artifacts, settings: local.settings },
      );
      referenceProfile = await profileSnapshot(await local.artifacts.localPath(snapshot.sha256));
    } finally {
      await local.cleanup();
    }
  });

  it('rejects a CSV with ragged rows as unreadable', async () => {
    await expectRefused(ingest(file('bad/ragged.csv')), 'SOURCE_UNREADABLE', /bad\/ragged\.csv.*could not be read/);
  });

  it('when a bad row comes after the rows DuckDB samples, then the copy fails and no snapshot file remains', async () => {
    const good = Array.from({ length: 60_000 }, (_, i) => `${i},${i % 7},label${i % 3}`).join('\n');
    await writeFile(join(sandbox.dataRoot, 'late-bad-row.csv'), `id,x,label\n${good}\n60000,not-a-number,label0\n`);
    await expectRefused(ingest(file('late-bad-row.csv')), 'SOURCE_UNREADABLE', /late-bad-row\.csv.*could not be read/);
  });

  it('rejects a CSV with an unbalanced quote as unreadable', async () => {
    await expectRefused(ingest(file('bad/unbalanced-quote.csv')), 'SOURCE_UNREADABLE', /unbalanced-quote\.csv/);
  });

  it('rejects an empty file as unreadable', async () => {
    await expectRefused(ingest(file('bad/empty.csv')), 'SOURCE_UNREADABLE', /empty\.csv.* is empty/);
  });

  it('when a file has only a header, then the snapshot has zero rows and validation fails on row count', async () => {
    const snapshot = await ingest(file('bad/header-only.csv'));
    expect(snapshot.rowCount).toBe(0);
    expect(snapshot.columns.map((column) => column.name)).toEqual(['date', 'temp_max', 'weather']);
    const profile = await profileSnapshot(await sandbox.artifacts.localPath(snapshot.sha256));
    const report = validateProfile(profile, { target: 'weather' });
    expect(report.passed).toBe(false);
    expect(report.checks.find((check) => check.name === 'min_rows')).toMatchObject({ passed: false, severity: 'error' });
  });

  it('reads a UTF-8 file with a byte-order mark without the mark in the first column name', async () => {
    const snapshot = await ingest(file('bad/utf8-bom.csv'));
    expect(snapshot.columns).toEqual([
      { name: 'date', type: 'DATE' },
      { name: 'temp_max', type: 'DOUBLE' },
      { name: 'weather', type: 'VARCHAR' },
    ]);
    expect(snapshot.rowCount).toBe(2);
  });

  it('reads CRLF line ends without carriage returns in the values', async () => {
    const snapshot = await ingest(file('bad/crlf.csv'));
    const profile = await profileSnapshot(await sandbox.artifacts.localPath(snapshot.sha256));
    const weather = profile.columns.find((column) => column.name === 'weather')!;
    expect(weather.topValues?.map((entry) => entry.value).sort()).toEqual(['drizzle', 'rain']);
    expect(profile.columns.find((column) => column.name === 'temp_max')!.type).toBe('DOUBLE');
  });

  it('sniffs ";" as the delimiter, and reads decimal commas when declared', async () => {
    const sniffed = await ingest(file('bad/semicolon.csv'));
    expect(sniffed.columns.map((column) => column.name)).toEqual(['date', 'temp_max', 'weather']);
    const declared = await ingest(file('bad/semicolon.csv', { csv: { delimiter: ';', decimalSeparator: ',' } }));
    expect(declared.columns[1]).toEqual({ name: 'temp_max', type: 'DOUBLE' });
    const profile = await profileSnapshot(await sandbox.artifacts.localPath(declared.sha256));
    expect(profile.columns[1]!.max).toBe(12.8);
  });

  it('when a column is numeric in the reference and text now, then the report fails on its type', async () => {
    const profile = await profileOf(file('bad/numeric-now-text.csv'), referenceProfile);
    const report = validateProfile(profile, { target: 'weather', reference: referenceProfile });
    expect(report.passed).toBe(false);
    expect(report.checks.find((check) => check.name === 'column_type' && check.column === 'temp_max')).toMatchObject({
      passed: false,
      severity: 'error',
      observed: 'VARCHAR',
      expected: 'DOUBLE',
    });
    expect(report.summary).toMatch(/temp_max" is VARCHAR/);
  });

  it('when values are NaN, inf or 1e400, then they are counted and the report fails', async () => {
    const profile = await profileOf(file('bad/nan-infinity.csv'));
    const tempMax = profile.columns.find((column) => column.name === 'temp_max')!;
    expect(tempMax).toMatchObject({ type: 'DOUBLE', nanCount: 1, infinityCount: 3, min: 12.8, max: 12.8 });
    const report = validateProfile(profile, { target: 'weather' });
    expect(report.passed).toBe(false);
    expect(report.checks.find((check) => check.name === 'nan_infinity')).toMatchObject({
      observed: { nan: 1, infinity: 3 },
      passed: false,
    });
  });
});

describe('refusing paths outside the data roots', () => {
  it('rejects a ../ escape', async () => {
    await expectRefused(ingest(file('../../../etc/passwd')), 'SOURCE_NOT_ALLOWED', /outside the allowed data roots/);
  });

  it('rejects a symlink inside the root that points outside it', async () => {
    const outside = join(sandbox.root, 'secret.csv');
    await writeFile(outside, 'a,b\n1,2\n');
    await symlink(outside, join(sandbox.dataRoot, 'innocent.csv'));
    await expectRefused(ingest(file('innocent.csv')), 'SOURCE_NOT_ALLOWED', /innocent\.csv.*outside the allowed/);
  });

  it('follows a symlink that stays inside the root', async () => {
    await mkdir(join(sandbox.dataRoot, 'links'));
    await symlink(join(sandbox.dataRoot, 'seattle-weather.csv'), join(sandbox.dataRoot, 'links', 'weather.csv'));
    const snapshot = await ingest(file('links/weather.csv'));
    expect(snapshot.rowCount).toBe(1461);
  });

  it('reports a missing file as not found', async () => {
    await expectRefused(ingest(file('nope.csv')), 'SOURCE_NOT_FOUND', /nope\.csv/);
  });
});

describe('URL sources', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const weather = await readFile(join(FIXTURES, 'seattle-weather.csv'));
    server = createServer((request, response) => {
      if (request.url === '/weather.csv') {
        response.writeHead(200, { 'content-type': 'text/csv' }).end(weather);
      } else if (request.url === '/to-metadata') {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      } else if (request.url === '/to-private') {
        response.writeHead(301, { location: 'http://10.0.0.1/data.csv' }).end();
      } else if (request.url === '/hop') {
        response.writeHead(307, { location: '/weather.csv' }).end();
      } else {
        response.writeHead(404).end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const admitLoopback = { allowHttpUrls: true, allowedPrivateNetworks: ['127.0.0.1/32'] };

  it('when an admin allows the address, then a URL is downloaded and gives the same snapshot as the file', async () => {
    const fromUrl = await ingest({ source: { kind: 'url', url: `${base}/hop` , format: 'csv' } }, admitLoopback);
    const fromFile = await ingest(file('seattle-weather.csv'));
    expect(fromUrl.rowCount).toBe(1461);
    expect(fromUrl.sha256).toBe(fromFile.sha256);
    expect((await sandbox.files()).filter((path) => path.startsWith('work'))).toEqual([]);
  });

  it('refuses a loopback URL when no admin allowance is set', async () => {
    await expectRefused(
      ingest({ source: { kind: 'url', url: `${base}/weather.csv` } }, { allowHttpUrls: true }),
      'SOURCE_NOT_ALLOWED',
      /non-public address 127\.0\.0\.1/,
    );
  });

  it('refuses plain http unless an admin allows it', async () => {
    await expectRefused(
      ingest({ source: { kind: 'url', url: `${base}/weather.csv` } }, { allowPrivateUrls: true }),
      'SOURCE_NOT_ALLOWED',
      /only https URLs are allowed/,
    );
  });

  it('reports a 404 URL as not found', async () => {
    await expectRefused(
      ingest({ source: { kind: 'url', url: `${base}/missing.csv` } }, admitLoopback),
      'SOURCE_NOT_FOUND',
      /missing\.csv returned 404/,
    );
  });

  it('refuses a redirect to the link-local metadata address', async () => {
    await expectRefused(
      ingest({ source: { kind: 'url', url: `${base}/to-metadata` } }, admitLoopback),
      'SOURCE_NOT_ALLOWED',
      /169\.254\.169\.254/,
    );
  });

  it('refuses a redirect to a private network address', async () => {
    await expectRefused(
      ingest({ source: { kind: 'url', url: `${base}/to-private` } }, admitLoopback),
      'SOURCE_NOT_ALLOWED',
      /10\.0\.0\.1/,
    );
  });
});

describe('https URL sources', () => {
  let server: Server;
  let base: string;
  let certificate: string;

  beforeAll(async () => {
    const weather = await readFile(join(FIXTURES, 'seattle-weather.csv'));
    certificate = await readFile(join(FIXTURES, 'tls/localhost-cert.pem'), 'utf8');
    const key = await readFile(join(FIXTURES, 'tls/localhost-key.pem'), 'utf8');
    server = createHttpsServer({ cert: certificate, key }, (request, response) => {
      if (request.url === '/weather.csv') response.writeHead(200, { 'content-type': 'text/csv' }).end(weather);
      else response.writeHead(302, { location: 'https://[fd00::1]/x.csv' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('downloads over https from an admin-allowed address with a trusted certificate', async () => {
    const snapshot = await ingest(
      { source: { kind: 'url', url: `${base}/weather.csv` } },
      { allowedPrivateNetworks: ['127.0.0.1/32'], urlCaCertificates: [certificate] },
    );
    expect(snapshot.rowCount).toBe(1461);
  });

  it('refuses a server whose certificate is not trusted', async () => {
    await expectRefused(
      ingest({ source: { kind: 'url', url: `${base}/weather.csv` } }, { allowedPrivateNetworks: ['127.0.0.1/32'] }),
      'SOURCE_UNREADABLE',
      /could not be fetched: .*(self-signed|certificate)/i,
    );
  });

  it('refuses an https redirect to a unique-local IPv6 address', async () => {
    await expectRefused(
      ingest(
        { source: { kind: 'url', url: `${base}/elsewhere` } },
        { allowedPrivateNetworks: ['127.0.0.1/32'], urlCaCertificates: [certificate] },
      ),
      'SOURCE_NOT_ALLOWED',
      /fd00::1/,
    );
  });
});

describe('feature SQL that tries to do more than SELECT', () => {
  const weather = { kind: 'file', path: 'seattle-weather.csv' } as const;

  it('rejects a DELETE', async () => {
    await expectRefused(ingest({ source: weather, transform: 'DELETE FROM source' }), 'TRANSFORM_REJECTED', /SELECT/);
  });

  it('rejects a SELECT followed by "; DROP"', async () => {
    await expectRefused(
      ingest({ source: weather, transform: 'SELECT * FROM source; DROP VIEW source' }),
      'TRANSFORM_REJECTED',
      /single SELECT statement, found 2/,
    );
  });

  it('rejects reading a file that is not an input', async () => {
    await expectRefused(
      ingest({ source: weather, transform: "SELECT * FROM read_csv('/etc/passwd')" }),
      'TRANSFORM_REJECTED',
      /disabled by configuration/,
    );
  });

  it('rejects a COPY to another location', async () => {
    await expectRefused(
      ingest({ source: weather, transform: `COPY (SELECT * FROM source) TO '${sandbox.root}/leak.csv'` }),
      'TRANSFORM_REJECTED',
      /SELECT/,
    );
  });

  it('rejects turning the sandbox settings back on', async () => {
    await expectRefused(
      ingest({ source: weather, transform: "SELECT current_setting('enable_external_access') AS x; SET enable_external_access = true" }),
      'TRANSFORM_REJECTED',
      /single SELECT/,
    );
  });
});
