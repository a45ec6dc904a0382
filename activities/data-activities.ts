// Thin Temporal adapters over the data plane: ingest (snapshotDataset) and validation (validateDataset).
// Both are idempotent: a snapshot row is keyed by sha256, a validation report by run id.
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import {
  ensureDataset,
  getProductionSnapshotSha256,
  getSnapshot,
  recordSnapshot,
  setSnapshotProfile,
} from '../db/repositories/dataset-snapshots.js';
import { getValidationReportByRunId, saveValidationReport } from '../db/repositories/validation-reports.js';
import { describeSource, type DataPlaneSettings, type ResolvedSource } from '../data/dataset-source.js';
import { SourceNotFoundError } from '../data/errors.js';
import { profileSnapshot, type DatasetProfile } from '../data/profile-snapshot.js';
import { snapshotDataset } from '../data/snapshot-dataset.js';
import { validateProfile, type ValidationReport } from '../data/validate-profile.js';
import type {
  SnapshotDatasetInput,
  SnapshotDatasetResult,
  ValidateDatasetInput,
  ValidateDatasetResult,
} from '../workflows/contracts/pipeline-activities.js';
import type { DatasetSource } from '../workflows/contracts/run-spec.js';
import { toApplicationFailure } from '../errors/to-application-failure.js';
import { withHeartbeats } from './heartbeat.js';

export interface DataActivityDeps {
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

/** Long DuckDB steps heartbeat this often. */
const HEARTBEAT_INTERVAL_MS = 10_000;

/** A snapshot's profile stored for later use as a reference: without bins computed against some other reference. */
function storableProfile(profile: DatasetProfile): DatasetProfile {
  return {
    ...profile,
    columns: profile.columns.map(({ onReferenceEdges: _ignored, ...column }) => column),
  };
}

export function createDataActivities(deps: DataActivityDeps) {
  const { db, artifacts, settings } = deps;

  /** The profile of a stored snapshot, computing and saving it on first use. */
  async function storedProfile(sha256: string): Promise<DatasetProfile> {
    const row = await getSnapshot(db, sha256);
    if (row?.profile) return row.profile as DatasetProfile;
    const profile = await profileSnapshot(await artifacts.localPath(sha256), {
      duckdb: { threads: settings.duckdbThreads, memoryLimit: settings.duckdbMemoryLimit },
    });
    await setSnapshotProfile(db, sha256, profile);
    return profile;
  }

  function rejection(reportId: string, summary: string): ApplicationFailure {
    return ApplicationFailure.create({
      type: 'DATA_REJECTED',
      message: summary,
      nonRetryable: true,
      details: [{ reportId, summary }],
    });
  }

  return {
    async snapshotDataset(input: SnapshotDatasetInput): Promise<SnapshotDatasetResult> {
      const source = sourceFromSpec(input.source);
      const sources = input.sources
        ? Object.fromEntries(Object.entries(input.sources).map(([name, extra]) => [name, sourceFromSpec(extra)]))
        : undefined;
      let snapshot;
      try {
        snapshot = await withHeartbeats(
          'snapshot',
          (signal) => snapshotDataset({ source, sources, transform: input.transform }, { artifacts, settings, signal }),
          HEARTBEAT_INTERVAL_MS,
        );
      } catch (error) {
        throw toApplicationFailure(error);
      }
      const sourceRecord = input.sources ? { ...input.source, joined: input.sources } : input.source;
      const datasetId = await ensureDataset(db, describeSource(source), sourceRecord);
      // The same bytes from any run are one snapshot; the first run to write it is its creator.
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
    },

    async validateDataset(input: ValidateDatasetInput): Promise<ValidateDatasetResult> {
      const existing = await getValidationReportByRunId(db, input.runId);
      if (existing) {
        if (!existing.passed) throw rejection(existing.id, existing.summary);
        return { reportId: existing.id, passed: true, summary: existing.summary, referenceSha256: existing.referenceSha256 };
      }
      try {
        if (!(await getSnapshot(db, input.snapshotSha256))) {
          throw new SourceNotFoundError(`snapshot ${input.snapshotSha256} is not recorded`, { sha256: input.snapshotSha256 });
        }
        const referenceSha256 = await getProductionSnapshotSha256(db, input.model);
        const reference = referenceSha256
          ? await withHeartbeats('profile reference', () => storedProfile(referenceSha256), HEARTBEAT_INTERVAL_MS)
          : undefined;
        const profile = await withHeartbeats(
          'profile snapshot',
          async () =>
            profileSnapshot(await artifacts.localPath(input.snapshotSha256), {
              reference,
              duckdb: { threads: settings.duckdbThreads, memoryLimit: settings.duckdbMemoryLimit },
            }),
          HEARTBEAT_INTERVAL_MS,
        );
        await setSnapshotProfile(db, input.snapshotSha256, storableProfile(profile));
        const report: ValidationReport = validateProfile(profile, {
          target: input.target,
          task: input.task,
          expectations: input.expectations,
          reference,
        });
        // A concurrent attempt of the same run may have written first: its report stands.
        const stored = await saveValidationReport(db, {
          runId: input.runId,
          snapshotSha256: input.snapshotSha256,
          referenceSha256,
          passed: report.passed,
          report: { ...report, profile },
          summary: report.summary,
        });
        if (!stored) throw new Error(`validation report of run ${input.runId} vanished after insert`);
        if (!stored.passed) throw rejection(stored.id, stored.summary);
        return { reportId: stored.id, passed: true, summary: stored.summary, referenceSha256: stored.referenceSha256 };
      } catch (error) {
        throw toApplicationFailure(error);
      }
    },
  };
}

export type DataActivities = ReturnType<typeof createDataActivities>;
