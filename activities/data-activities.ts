// Thin Temporal adapters over the data plane: ingest (snapshotDataset) and validation (validateDataset).
// Both are idempotent: a snapshot row is keyed by sha256, a validation report by run id.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq } from 'drizzle-orm';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { ArtifactIntegrityError, ArtifactNotFoundError } from '../artifacts/artifact-store.js';
import type { KeelConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { datasets, datasetSnapshots, modelAliases, models, modelVersions, validationReports } from '../db/schema.js';
import { describeSource, type DataPlaneSettings, type DatasetSource } from '../data/dataset-source.js';
import { DataPlaneError, SourceNotFoundError } from '../data/errors.js';
import { profileSnapshot, type DatasetProfile } from '../data/profile-snapshot.js';
import { snapshotDataset } from '../data/snapshot-dataset.js';
import { validateProfile, type ValidationReport } from '../data/validate-profile.js';
import type {
  DatasetSource as SpecDatasetSource,
  SnapshotDatasetInput,
  SnapshotDatasetResult,
  ValidateDatasetInput,
  ValidateDatasetResult,
} from '../workflows/definitions.js';

export interface DataActivityDeps {
  db: Db;
  artifacts: ArtifactStore;
  settings: DataPlaneSettings;
}

/** The data-plane settings from Keel's config; scratch space lives under the data directory. */
export function dataPlaneSettings(
  config: Pick<
    KeelConfig,
    'dataDir' | 'dataRoots' | 'sqlConnections' | 'allowPrivateUrls' | 'allowHttpUrls' | 'allowedPrivateNetworks' | 'duckdbMemoryLimit'
  >,
): DataPlaneSettings {
  return {
    dataRoots: config.dataRoots,
    workDir: path.join(config.dataDir, 'tmp', 'data-plane'),
    sqlConnections: config.sqlConnections,
    allowPrivateUrls: config.allowPrivateUrls,
    allowHttpUrls: config.allowHttpUrls,
    allowedPrivateNetworks: config.allowedPrivateNetworks,
    duckdbMemoryLimit: config.duckdbMemoryLimit,
  };
}

/** A run spec's `{ uri }` or `{ connection, query }` as a data-plane source. */
export function sourceFromSpec(source: SpecDatasetSource): DatasetSource {
  if ('connection' in source) return { kind: 'sql', connection: source.connection, query: source.query };
  const uri = source.uri.trim();
  if (/^https?:\/\//i.test(uri)) return { kind: 'url', url: uri };
  if (/^file:\/\//i.test(uri)) return { kind: 'file', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return { kind: 'url', url: uri }; // refused with a clear scheme message
  return { kind: 'file', path: uri };
}

/** Data-plane errors become non-retryable failures typed by their code; anything else stays retryable. */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof DataPlaneError) {
    return ApplicationFailure.create({
      type: error.code,
      message: error.message,
      nonRetryable: true,
      details: [error.details],
    });
  }
  if (error instanceof ArtifactIntegrityError || error instanceof ArtifactNotFoundError) {
    return ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: true });
  }
  return error;
}

function activityContext(): Context | undefined {
  // Also called from plain tests, where there is no activity context.
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

const HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * Runs one long step (a DuckDB COPY or profile can take minutes on big data) while heartbeating, so the
 * workflow's heartbeat timeout only fires for a dead worker, and cancellation reaches the step's signal.
 */
async function withHeartbeats<T>(step: string, work: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const context = activityContext();
  context?.heartbeat(step);
  const timer = context ? setInterval(() => context.heartbeat(step), HEARTBEAT_INTERVAL_MS) : undefined;
  try {
    return await work(context?.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/** A snapshot's profile stored for later use as a reference: without bins computed against some other reference. */
function storableProfile(profile: DatasetProfile): DatasetProfile {
  return {
    ...profile,
    columns: profile.columns.map(({ onReferenceEdges: _ignored, ...column }) => column),
  };
}

export function createDataActivities(deps: DataActivityDeps) {
  const { db, artifacts, settings } = deps;

  async function snapshotRow(sha256: string) {
    const [row] = await db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, sha256)).limit(1);
    return row;
  }

  /** The profile of a stored snapshot, computing and saving it on first use. */
  async function storedProfile(sha256: string): Promise<DatasetProfile> {
    const row = await snapshotRow(sha256);
    if (row?.profile) return row.profile as DatasetProfile;
    const profile = await profileSnapshot(await artifacts.localPath(sha256), {
      duckdb: { threads: settings.duckdbThreads, memoryLimit: settings.duckdbMemoryLimit },
    });
    await db.update(datasetSnapshots).set({ profile }).where(eq(datasetSnapshots.sha256, sha256));
    return profile;
  }

  /** The training snapshot of the model's production version: the last accepted data. */
  async function referenceSnapshotSha(model: string): Promise<string | null> {
    const [row] = await db
      .select({ sha256: modelVersions.snapshotSha256 })
      .from(models)
      .innerJoin(modelAliases, and(eq(modelAliases.modelId, models.id), eq(modelAliases.alias, 'production')))
      .innerJoin(
        modelVersions,
        and(eq(modelVersions.modelId, models.id), eq(modelVersions.version, modelAliases.version)),
      )
      .where(eq(models.name, model))
      .limit(1);
    return row?.sha256 ?? null;
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
        snapshot = await withHeartbeats('snapshot', (signal) =>
          snapshotDataset({ source, sources, transform: input.transform }, { artifacts, settings, signal }),
        );
      } catch (error) {
        throw toActivityFailure(error);
      }
      const sourceRecord = input.sources ? { ...input.source, joined: input.sources } : input.source;
      const sourceKey = describeSource(source);
      await db.insert(datasets).values({ sourceKey, source: sourceRecord }).onConflictDoNothing();
      const [dataset] = await db.select({ id: datasets.id }).from(datasets).where(eq(datasets.sourceKey, sourceKey));
      // The same bytes from any run are one snapshot; the first run to write it is its creator.
      await db
        .insert(datasetSnapshots)
        .values({
          datasetId: dataset?.id ?? null,
          sha256: snapshot.sha256,
          uri: snapshot.uri,
          sizeBytes: snapshot.sizeBytes,
          rowCount: snapshot.rowCount,
          columns: snapshot.columns,
          source: sourceRecord,
          transform: input.transform ?? null,
          createdByRun: input.runId,
          createdBy: input.requestedBy.name,
        })
        .onConflictDoNothing({ target: datasetSnapshots.sha256 });
      const row = await snapshotRow(snapshot.sha256);
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
      const [existing] = await db.select().from(validationReports).where(eq(validationReports.runId, input.runId)).limit(1);
      if (existing) {
        if (!existing.passed) throw rejection(existing.id, existing.summary);
        return { reportId: existing.id, passed: true, summary: existing.summary, referenceSha256: existing.referenceSha256 };
      }
      try {
        if (!(await snapshotRow(input.snapshotSha256))) {
          throw new SourceNotFoundError(`snapshot ${input.snapshotSha256} is not recorded`, { sha256: input.snapshotSha256 });
        }
        const referenceSha256 = await referenceSnapshotSha(input.model);
        const reference = referenceSha256
          ? await withHeartbeats('profile reference', () => storedProfile(referenceSha256))
          : undefined;
        const profile = await withHeartbeats('profile snapshot', async () =>
          profileSnapshot(await artifacts.localPath(input.snapshotSha256), {
            reference,
            duckdb: { threads: settings.duckdbThreads, memoryLimit: settings.duckdbMemoryLimit },
          }),
        );
        await db
          .update(datasetSnapshots)
          .set({ profile: storableProfile(profile) })
          .where(eq(datasetSnapshots.sha256, input.snapshotSha256));
        const report: ValidationReport = validateProfile(profile, {
          target: input.target,
          task: input.task,
          expectations: input.expectations,
          reference,
        });
        const inserted = await db
          .insert(validationReports)
          .values({
            runId: input.runId,
            snapshotSha256: input.snapshotSha256,
            referenceSha256,
            passed: report.passed,
            report: { ...report, profile },
            summary: report.summary,
          })
          .onConflictDoNothing({ target: validationReports.runId })
          .returning({ id: validationReports.id });
        // A concurrent attempt of the same run may have written first: its report stands.
        const [stored] = inserted.length
          ? [{ id: inserted[0]!.id, passed: report.passed, summary: report.summary, referenceSha256 }]
          : await db
              .select({
                id: validationReports.id,
                passed: validationReports.passed,
                summary: validationReports.summary,
                referenceSha256: validationReports.referenceSha256,
              })
              .from(validationReports)
              .where(eq(validationReports.runId, input.runId));
        if (!stored) throw new Error(`validation report of run ${input.runId} vanished after insert`);
        if (!stored.passed) throw rejection(stored.id, stored.summary);
        return { reportId: stored.id, passed: true, summary: stored.summary, referenceSha256: stored.referenceSha256 };
      } catch (error) {
        throw toActivityFailure(error);
      }
    },
  };
}

export type DataActivities = ReturnType<typeof createDataActivities>;
