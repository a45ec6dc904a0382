// The evaluate activity: a thin adapter over evaluation/ (candidate vs champion on the holdout, parity, gates).
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { evaluateCandidate, storedEvaluationResult } from '../evaluation/evaluate-candidate.js';
import { withFailureMapping } from '../errors/to-application-failure.js';
import type { EvaluateModelInput, EvaluateModelResult, PipelineActivities } from '../workflows/contracts/pipeline-activities.js';
import { keepHeartbeating } from './heartbeat.js';

export interface EvaluateActivityDeps {
  db: Db;
  artifacts: ArtifactStore;
}

export function createEvaluateActivities(deps: EvaluateActivityDeps) {
  return {
    async evaluateModel(input: EvaluateModelInput): Promise<EvaluateModelResult> {
      const stored = await storedEvaluationResult(deps.db, input.runId);
      if (stored) return stored;
      const stopHeartbeats = keepHeartbeating(`evaluating run ${input.runId}`);
      try {
        return await withFailureMapping(() => evaluateCandidate(deps, input));
      } finally {
        stopHeartbeats();
      }
    },
  } satisfies Pick<PipelineActivities, 'evaluateModel'>;
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
