// Ingest: read a source (file, URL, SQL), optionally apply feature SQL, and freeze the result as an
// immutable, content-addressed Parquet snapshot. DuckDB writes the Parquet; rows never pass through JS.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { resolveAllowedPath } from './allowed-path.js';
import { formatFromName, type DataPlaneSettings, type ResolvedSource, type FileFormat } from './dataset-source.js';
import { openDuckDb } from './duckdb-session.js';
import { SourceUnreadableError, TransformRejectedError, errorSummary, firstLine } from './errors.js';
import { tableExpressionFor, unreadable, type LocalInput } from './file-reader.js';
import { quoteIdentifier, quoteString, quoteStringList } from './sql-literal.js';
import { describeRelation, writeSourceSample } from './source-schema.js';
import { extractSqlSource } from './sql-source.js';
import type { ServingSource } from '../workflows/contracts/serving-recipe.js';
import { checkedTransform } from './transform-guard.js';
import { downloadUrl } from './url-download.js';

export interface SnapshotRequest {
  /** The main input, visible to the transform as the relation `source`. */
  source: ResolvedSource;
  /** Extra named inputs for joins, visible to the transform under their names. */
  sources?: Record<string, ResolvedSource>;
  /** Feature SQL: one DuckDB SELECT over `source` (and the named inputs). */
  transform?: string;
}

export interface SnapshotColumn {
  name: string;
  type: string;
}

export interface DatasetSnapshot {
  sha256: string;
  uri: string;
  sizeBytes: number;
  rowCount: number;
  columns: SnapshotColumn[];
  /** The source shape before the transform and a sample of source rows: the start of the serving recipe. */
  servingSource: ServingSource;
}

export interface SnapshotDeps {
  artifacts: ArtifactStore;
  settings: DataPlaneSettings;
  /** Aborting interrupts the running DuckDB query or download (activity cancellation). */
  signal?: AbortSignal;
}

const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function inputsOf(request: SnapshotRequest): [string, ResolvedSource][] {
  const extra = Object.entries(request.sources ?? {});
  for (const [name] of extra) {
    if (!INPUT_NAME.test(name) || name.toLowerCase() === 'source') {
      throw new TransformRejectedError(
        `input name ${JSON.stringify(name)} must be a plain identifier other than "source"`,
      );
    }
  }
  return [['source', request.source], ...extra];
}

/** Brings one source onto local disk (downloads and SQL extracts go into `workDir`) and says how to read it. */
async function materialize(
  name: string,
  source: ResolvedSource,
  workDir: string,
  settings: DataPlaneSettings,
  signal: AbortSignal | undefined,
): Promise<LocalInput> {
  switch (source.kind) {
    case 'file': {
      const path = await resolveAllowedPath(source.path, settings.dataRoots);
      return { path, format: formatFromName(path, source.format), csv: source.csv, label: `file ${JSON.stringify(source.path)}` };
    }
    case 'url': {
      const destination = join(workDir, `input-${name}.download`);
      const downloaded = await downloadUrl(source.url, destination, {
        allowPrivateUrls: settings.allowPrivateUrls,
        allowedPrivateNetworks: settings.allowedPrivateNetworks,
        allowHttpUrls: settings.allowHttpUrls,
        maxDownloadBytes: settings.maxDownloadBytes,
        caCertificates: settings.urlCaCertificates,
        signal,
      });
      const format: FileFormat | undefined =
        formatFromName(source.url, source.format) ?? formatFromName(downloaded.finalUrl) ?? formatFromContentType(downloaded.contentType);
      return { path: downloaded.path, format, csv: source.csv, label: `URL ${source.url}` };
    }
    case 'sql': {
      const extract = await extractSqlSource(source.connection, source.query, join(workDir, `input-${name}.csv`), {
        connections: settings.sqlConnections,
        statementTimeoutMs: settings.sqlStatementTimeoutMs,
        signal,
      });
      return {
        path: extract.path,
        format: 'csv',
        label: `SQL query on ${source.connection}`,
        columnTypes: extract.columns,
      };
    }
  }
}

function formatFromContentType(contentType: string | undefined): FileFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!type) return undefined;
  if (type === 'text/csv' || type === 'application/csv') return 'csv';
  if (type.includes('parquet')) return 'parquet';
  if (type === 'application/x-ndjson' || type === 'application/jsonl') return 'ndjson';
  if (type === 'application/json') return 'json';
  return undefined;
}

/** Column names and types of a query, without running it. */
async function describeQuery(connection: DuckDBConnection, query: string): Promise<SnapshotColumn[]> {
  const prepared = await connection.prepare(query);
  try {
    return Array.from({ length: prepared.columnCount }, (_, index) => ({
      name: prepared.columnName(index),
      type: prepared.columnType(index).toString(),
    }));
  } finally {
    prepared.destroySync();
  }
}

/**
 * Reads the request's sources, applies its transform inside a locked-down DuckDB, writes the result as Parquet
 * and stores it under its sha256. Any failure leaves nothing behind: scratch files are removed in `finally`.
 */
export async function snapshotDataset(request: SnapshotRequest, deps: SnapshotDeps): Promise<DatasetSnapshot> {
  const inputs = inputsOf(request);
  await mkdir(deps.settings.workDir, { recursive: true });
  const workDir = await mkdtemp(join(deps.settings.workDir, 'snapshot-'));
  const spillDir = join(workDir, 'spill');
  await mkdir(spillDir);
  const session = await openDuckDb({
    memoryLimit: deps.settings.duckdbMemoryLimit,
    threads: deps.settings.duckdbThreads,
    tempDirectory: spillDir,
  });
  const interrupt = () => session.connection.interrupt();
  deps.signal?.addEventListener('abort', interrupt);
  try {
    deps.signal?.throwIfAborted();
    const { connection } = session;
    const readablePaths: string[] = [];
    const labels: string[] = [];
    const inputSchemas: Record<string, SnapshotColumn[]> = {};
    for (const [name, source] of inputs) {
      const input = await materialize(name, source, workDir, deps.settings, deps.signal);
      labels.push(input.label);
      const expression = await tableExpressionFor(connection, input);
      await connection.run(`CREATE VIEW ${quoteIdentifier(name)} AS SELECT * FROM ${expression}`);
      inputSchemas[name] = await describeRelation(connection, name);
      readablePaths.push(input.path);
    }
    // From here on DuckDB may read only the inputs and write only inside this snapshot's scratch directory,
    // and nothing (not the transform either) can change that back.
    await connection.run(`SET allowed_directories = ${quoteStringList([`${workDir}/`])}`);
    await connection.run(`SET allowed_paths = ${quoteStringList(readablePaths)}`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');

    const query = request.transform === undefined ? 'SELECT * FROM source' : await checkedTransform(connection, request.transform);
    let columns: SnapshotColumn[];
    try {
      columns = await describeQuery(connection, query);
    } catch (error) {
      if (request.transform === undefined) throw unreadable(labels.join(' + '), error);
      throw new TransformRejectedError(`the transform cannot run: ${firstLine(error)}`);
    }
    if (columns.length === 0) throw new TransformRejectedError('the transform returns no columns');
    if (new Set(columns.map((column) => column.name)).size !== columns.length) {
      throw new TransformRejectedError(
        `the result has duplicate column names (${columns.map((column) => column.name).join(', ')}); alias them`,
      );
    }

    const output = join(workDir, `${randomUUID()}.parquet`);
    let rowCount: number;
    // An abort that fired between queries interrupted nothing: stop before the long COPY starts.
    deps.signal?.throwIfAborted();
    try {
      // The newline keeps a trailing `--` comment in the transform from swallowing the closing parenthesis.
      const result = await connection.run(
        `COPY (${query}\n) TO ${quoteString(output)} (FORMAT parquet)`,
      );
      rowCount = result.rowsChanged;
    } catch (error) {
      deps.signal?.throwIfAborted();
      const message = errorSummary(error);
      if (/permission error|disabled by configuration/i.test(message)) {
        throw new TransformRejectedError(`the transform tried to reach something other than its inputs: ${message}`);
      }
      throw new SourceUnreadableError(`${labels.join(' + ')} could not be read: ${message}`, { sources: labels });
    }
    // Without a transform the snapshot is the source, so sampling the written Parquet avoids a second read.
    deps.signal?.throwIfAborted();
    const samplePath = join(workDir, `${randomUUID()}-source-sample.parquet`);
    const sampleRows = await writeSourceSample(
      connection,
      request.transform === undefined ? `read_parquet(${quoteString(output)})` : 'source',
      samplePath,
    );
    const stored = await deps.artifacts.putFile(output, { extension: '.parquet', move: true });
    const sample = await deps.artifacts.putFile(samplePath, { extension: '.parquet', move: true });
    const { source: sourceSchema = [], ...namedSchemas } = inputSchemas;
    return {
      sha256: stored.sha256,
      uri: stored.uri,
      sizeBytes: stored.size,
      rowCount,
      columns,
      servingSource: {
        source: sourceSchema,
        sources: namedSchemas,
        transform: request.transform === undefined ? null : query,
        sampleSha256: sample.sha256,
        sampleRows,
      },
    };
  } catch (error) {
    // Whichever query the abort interrupted, the caller learns of the abort, not of a DuckDB INTERRUPT.
    deps.signal?.throwIfAborted();
    throw error;
  } finally {
    deps.signal?.removeEventListener('abort', interrupt);
    session.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
