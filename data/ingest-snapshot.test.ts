// The ingest stage as a plain function against the real data plane and Postgres: no Temporal.
import { writeFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { datasetSnapshots } from '../db/schema.js';
import { KeelError } from '../errors/keel-error.js';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { ingestSnapshot, sourceFromSpec, type IngestDeps } from './ingest-snapshot.js';

let database: TestDatabase;
let sandbox: DataSandbox;
let deps: IngestDeps;
const requestedBy = { keyId: null, name: 'engineer-1' };
const weatherSpec = { uri: 'seattle-weather.csv' };

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  sandbox = await createDataSandbox();
  deps = { db: database.db, artifacts: sandbox.artifacts, settings: sandbox.settings };
});

afterEach(async () => {
  await sandbox.cleanup();
});

describe('ingestSnapshot', () => {
  it('joins a named extra source in the feature SQL and records both sources', async () => {
    await insertRunRow(database.db, 'run-join');
    await writeFile(`${sandbox.dataRoot}/conditions.csv`, 'weather,kind\nrain,wet\ndrizzle,wet\nsun,dry\nsnow,wet\nfog,dry\n');
    const joined = await ingestSnapshot(deps, {
      runId: 'run-join',
      source: weatherSpec,
      sources: { conditions: { uri: 'conditions.csv' } },
      transform: "SELECT s.temp_max, s.wind, c.kind = 'wet' AS wet FROM source s JOIN conditions c USING (weather)",
      requestedBy,
    });
    expect(joined.rowCount).toBe(1461);
    expect(joined.columns.map((column) => column.name)).toEqual(['temp_max', 'wind', 'wet']);
    const [row] = await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, joined.sha256));
    expect(row?.source).toEqual({ ...weatherSpec, joined: { conditions: { uri: 'conditions.csv' } } });
  });

  it('records one snapshot row per content, even when retried or run by another run', async () => {
    await insertRunRow(database.db, 'run-a');
    await insertRunRow(database.db, 'run-b');
    const first = await ingestSnapshot(deps, { runId: 'run-a', source: weatherSpec, requestedBy });
    const retried = await ingestSnapshot(deps, { runId: 'run-a', source: weatherSpec, requestedBy });
    const other = await ingestSnapshot(deps, { runId: 'run-b', source: weatherSpec, requestedBy });
    expect(retried).toEqual(first);
    expect(other.snapshotId).toBe(first.snapshotId);
    expect(first.rowCount).toBe(1461);
    const rows = await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, first.sha256));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ createdByRun: 'run-a', createdBy: 'engineer-1', rowCount: 1461, source: weatherSpec });
  });

  it('when aborted, then it stops its DuckDB query and writes nothing', async () => {
    const abort = new AbortController();
    const pending = ingestSnapshot(
      deps,
      { runId: 'run-abort', source: weatherSpec, transform: 'SELECT a.x, b.x AS y FROM range(100000) a(x), range(100000) b(x)', requestedBy },
      abort.signal,
    );
    setTimeout(() => abort.abort(), 500);
    await expect(pending).rejects.toBeTruthy();
    expect(await sandbox.files()).toEqual([]);
  });

  it('refuses a source outside the data roots with SOURCE_NOT_ALLOWED, writing nothing', async () => {
    const error = await ingestSnapshot(deps, { runId: 'run-escape', source: { uri: '../../etc/passwd' }, requestedBy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelError);
    expect(error).toMatchObject({ code: 'SOURCE_NOT_ALLOWED', retryable: false });
    expect((error as Error).message).toMatch(/outside the allowed data roots/);
    expect(await sandbox.files()).toEqual([]);
    expect(await database.db.select().from(datasetSnapshots).where(eq(datasetSnapshots.createdByRun, 'run-escape'))).toEqual([]);
  });

  it('refuses feature SQL that is not a single SELECT with TRANSFORM_REJECTED', async () => {
    await expect(
      ingestSnapshot(deps, { runId: 'run-drop', source: weatherSpec, transform: 'SELECT * FROM source; DROP VIEW source', requestedBy }),
    ).rejects.toMatchObject({ code: 'TRANSFORM_REJECTED' });
  });
});

describe('sourceFromSpec', () => {
  it('maps run-spec sources onto data-plane sources', () => {
    expect(sourceFromSpec({ uri: 'https://example.com/a.csv' })).toEqual({ kind: 'url', url: 'https://example.com/a.csv' });
    expect(sourceFromSpec({ uri: 'file:///data/a.csv' })).toEqual({ kind: 'file', path: '/data/a.csv' });
    expect(sourceFromSpec({ uri: 'weather/a.parquet' })).toEqual({ kind: 'file', path: 'weather/a.parquet' });
    expect(sourceFromSpec({ uri: 'ftp://example.com/a.csv' })).toEqual({ kind: 'url', url: 'ftp://example.com/a.csv' });
    expect(sourceFromSpec({ connection: 'warehouse', query: 'SELECT 1' })).toEqual({
      kind: 'sql',
      connection: 'warehouse',
      query: 'SELECT 1',
    });
  });
});
