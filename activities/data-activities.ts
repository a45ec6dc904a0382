// Thin Temporal adapters over the data plane: ingest (data/ingest-snapshot.ts) and validation
// (data/validate-snapshot.ts). They heartbeat through long DuckDB steps, hand ingest the cancellation signal,
// and map errors to ApplicationFailure (a rejection is DATA_REJECTED with details [{ reportId, summary }]).
import { ingestSnapshot, type IngestDeps } from '../data/ingest-snapshot.js';
import { validateSnapshot } from '../data/validate-snapshot.js';
import { withFailureMapping } from '../errors/to-application-failure.js';
import type { PipelineActivities, SnapshotDatasetInput, SnapshotDatasetResult, ValidateDatasetInput, ValidateDatasetResult } from '../workflows/contracts/pipeline-activities.js';
import { withHeartbeats } from './heartbeat.js';

export type DataActivityDeps = IngestDeps;

/** Long DuckDB steps heartbeat this often. */
const HEARTBEAT_INTERVAL_MS = 10_000;

export function createDataActivities(deps: DataActivityDeps) {
  return {
    async snapshotDataset(input: SnapshotDatasetInput): Promise<SnapshotDatasetResult> {
      return withFailureMapping(() => withHeartbeats('snapshot', (signal) => ingestSnapshot(deps, input, signal), HEARTBEAT_INTERVAL_MS));
    },

    async validateDataset(input: ValidateDatasetInput): Promise<ValidateDatasetResult> {
      return withFailureMapping(() => validateSnapshot(deps, input, (name, work) => withHeartbeats(name, work, HEARTBEAT_INTERVAL_MS)));
    },
  } satisfies Pick<PipelineActivities, 'snapshotDataset' | 'validateDataset'>;
}

export type DataActivities = ReturnType<typeof createDataActivities>;
