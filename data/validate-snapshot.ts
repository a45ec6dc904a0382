// The validate stage: profile the run's snapshot against the reference (the model's production snapshot, when
// there is one), check it against the spec's expectations, store the report once per run, and refuse rejected
// data with DataRejectedError naming the report. A retried run gets the report its first attempt stored.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { getProductionSnapshotSha256, getSnapshot, setSnapshotProfile } from '../db/repositories/dataset-snapshots.js';
import { getValidationReportByRunId, saveValidationReport } from '../db/repositories/validation-reports.js';
import type { ValidateDatasetInput, ValidateDatasetResult } from '../workflows/contracts/pipeline-activities.js';
import type { DataPlaneSettings } from './dataset-source.js';
import { DataRejectedError, SourceNotFoundError } from './errors.js';
import { profileSnapshot, type DatasetProfile } from './profile-snapshot.js';
import { validateProfile, type ValidationReport } from './validate-profile.js';

export interface ValidationDeps {
  db: Db;
  artifacts: ArtifactStore;
  settings: DataPlaneSettings;
}

/** Runs one long step under a name (the activity heartbeats the name while it runs and hands it its cancellation). */
export type RunStep = <T>(name: string, work: (signal: AbortSignal | undefined) => Promise<T>) => Promise<T>;

const justRun: RunStep = (_name, work) => work(undefined);

export async function validateSnapshot(deps: ValidationDeps, input: ValidateDatasetInput, step: RunStep = justRun): Promise<ValidateDatasetResult> {
  const { db, artifacts, settings } = deps;
  const existing = await getValidationReportByRunId(db, input.runId);
  if (existing) {
    if (!existing.passed) throw rejection(existing.id, existing.summary);
    return { reportId: existing.id, passed: true, summary: existing.summary, referenceSha256: existing.referenceSha256 };
  }
  if (!(await getSnapshot(db, input.snapshotSha256))) {
    throw new SourceNotFoundError(`snapshot ${input.snapshotSha256} is not recorded`, { sha256: input.snapshotSha256 });
  }
  const duckdb = { threads: settings.duckdbThreads, memoryLimit: settings.duckdbMemoryLimit };
  const referenceSha256 = await getProductionSnapshotSha256(db, input.model);
  const reference = referenceSha256 ? await step('profile reference', (signal) => storedProfile(deps, referenceSha256, signal)) : undefined;
  const profile = await step('profile snapshot', async (signal) =>
    profileSnapshot(await artifacts.localPath(input.snapshotSha256), { reference, duckdb, signal }),
  );
  await setSnapshotProfile(db, input.snapshotSha256, storableProfile(profile));
  const report: ValidationReport = validateProfile(profile, {
    target: input.target,
    task: input.task,
    ...(input.features ? { features: input.features } : {}),
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
}

/** The pipeline reads the report id and summary from the failure's details. */
function rejection(reportId: string, summary: string): DataRejectedError {
  return new DataRejectedError(summary, { reportId, summary });
}

/** The profile of a stored snapshot, computing and saving it on first use. */
async function storedProfile(deps: ValidationDeps, sha256: string, signal: AbortSignal | undefined): Promise<DatasetProfile> {
  const row = await getSnapshot(deps.db, sha256);
  if (row?.profile) return row.profile as DatasetProfile;
  const profile = await profileSnapshot(await deps.artifacts.localPath(sha256), {
    duckdb: { threads: deps.settings.duckdbThreads, memoryLimit: deps.settings.duckdbMemoryLimit },
    signal,
  });
  await setSnapshotProfile(deps.db, sha256, profile);
  return profile;
}

/** A snapshot's profile stored for later use as a reference: without bins computed against some other reference. */
function storableProfile(profile: DatasetProfile): DatasetProfile {
  return {
    ...profile,
    columns: profile.columns.map(({ onReferenceEdges: _edges, onReferenceValues: _values, ...column }) => column),
  };
}
