// The ingest stage: read the run's source (and any named extra sources) through the optional feature SQL into a
// content-addressed Parquet snapshot, and record it. Idempotent: the same bytes from any run are one snapshot row,
// and the first run to write it is its creator.
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { ensureDataset, recordSnapshot } from '../db/repositories/dataset-snapshots.js';
import type { SnapshotDatasetInput, SnapshotDatasetResult } from '../workflows/contracts/pipeline-activities.js';
import type { DatasetSource } from '../workflows/contracts/run-spec.js';
import { describeSource, type DataPlaneSettings, type ResolvedSource } from './dataset-source.js';
import { snapshotDataset } from './snapshot-dataset.js';
import { redactUrlsDeep } from '../runs/redact-urls.js';

export interface IngestDeps {
  db: Db;
  artifacts: ArtifactStore;
  settings: DataPlaneSettings;
}

/** A run spec's `{ uri }` or `{ connection, query }` as a data-plane source. */
export function sourceFromSpec(source: DatasetSource): ResolvedSource {
  if ('connection' in source) return { kind: 'sql', connection: source.connection, query: source.query };
  const uri = source.uri.trim();
  if (/^https?:\/\//i.test(uri)) return { kind: 'url', url: uri };
  if (/^file:\/\//i.test(uri)) return { kind: 'file', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return { kind: 'url', url: uri }; // refused with a clear scheme message
  return { kind: 'file', path: uri };
}

/** Snapshots the run's data and records it; `signal` stops a long DuckDB query. Data-plane errors are KeelErrors. */
export async function ingestSnapshot(deps: IngestDeps, input: SnapshotDatasetInput, signal?: AbortSignal): Promise<SnapshotDatasetResult> {
  const { db, artifacts, settings } = deps;
  const source = sourceFromSpec(input.source);
  const sources = input.sources
    ? Object.fromEntries(Object.entries(input.sources).map(([name, extra]) => [name, sourceFromSpec(extra)]))
    : undefined;
  const snapshot = await snapshotDataset({ source, sources, transform: input.transform }, { artifacts, settings, signal });
  // Stored for lineage only (the run spec keeps what re-reads it): no URL tokens or credentials in it.
  const sourceRecord = redactUrlsDeep(input.sources ? { ...input.source, joined: input.sources } : input.source);
  const datasetId = await ensureDataset(db, describeSource(source), sourceRecord);
  const row = await recordSnapshot(db, {
    datasetId,
    sha256: snapshot.sha256,
    uri: snapshot.uri,
    sizeBytes: snapshot.sizeBytes,
    rowCount: snapshot.rowCount,
    columns: snapshot.columns,
    source: sourceRecord,
    transform: input.transform ?? null,
    createdByRun: input.runId,
    createdBy: input.requestedBy.name,
  });
  if (!row) throw new Error(`snapshot ${snapshot.sha256} vanished after insert`);
  return {
    snapshotId: row.id,
    sha256: row.sha256,
    uri: row.uri,
    rowCount: row.rowCount,
    columns: row.columns,
    servingSource: snapshot.servingSource,
  };
}
