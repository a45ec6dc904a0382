// The pipeline queue's side of an external trainer (docs/training-contract.md): the rows it trains on, written
// before it runs, and its answer checked after. Thin adapters over training/external-*.ts.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { withFailureMapping } from '../errors/to-application-failure.js';
import { prepareExternalTrainingRows } from '../training/external-training-rows.js';
import { verifyExternalModel } from '../training/verify-external-model.js';
import type { PipelineActivities, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import type { ExternalTrainingRows, PrepareExternalTrainingInput, VerifyExternalModelInput } from '../workflows/contracts/training-contract.js';
import { withHeartbeats } from './heartbeat.js';

export function createExternalTrainingActivities(deps: { artifacts: ArtifactStore }) {
  return {
    async prepareExternalTraining(input: PrepareExternalTrainingInput): Promise<ExternalTrainingRows> {
      return withFailureMapping(() =>
        withHeartbeats(`preparing the rows of run ${input.runId} for an external trainer`, (signal) =>
          prepareExternalTrainingRows(deps.artifacts, input, signal),
        ),
      );
    },
    async verifyExternalModel(input: VerifyExternalModelInput): Promise<TrainModelResult> {
      return withFailureMapping(() => withHeartbeats(`verifying the external model of run ${input.runId}`, () => verifyExternalModel(deps.artifacts, input)));
    },
  } satisfies Pick<PipelineActivities, 'prepareExternalTraining' | 'verifyExternalModel'>;
}
