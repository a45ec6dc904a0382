// The evaluate activity: a thin adapter over evaluation/ (candidate vs champion on the holdout, parity, gates).
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { evaluateCandidate, storedEvaluationResult } from '../evaluation/evaluate-candidate.js';
import { withFailureMapping } from '../errors/to-application-failure.js';
import type { EvaluateModelInput, EvaluateModelResult, PipelineActivities } from '../workflows/contracts/pipeline-activities.js';
import { withHeartbeats } from './heartbeat.js';

export interface EvaluateActivityDeps {
  db: Db;
  artifacts: ArtifactStore;
  /**
   * Where the (CPU-bound) evaluation runs: the pipeline worker passes its thread pool, so the worker's event loop
   * keeps serving workflows, and a cancellation stops the scoring. Default: here, in this thread.
   */
  runEvaluation?: (input: EvaluateModelInput, signal: AbortSignal | undefined) => Promise<EvaluateModelResult>;
}

export function createEvaluateActivities(deps: EvaluateActivityDeps) {
  const runEvaluation = deps.runEvaluation ?? ((input: EvaluateModelInput) => evaluateCandidate(deps, input));
  return {
    async evaluateModel(input: EvaluateModelInput): Promise<EvaluateModelResult> {
      const stored = await storedEvaluationResult(deps.db, input.runId);
      if (stored) return stored;
      return withFailureMapping(() => withHeartbeats(`evaluating run ${input.runId}`, (signal) => runEvaluation(input, signal)));
    },
  } satisfies Pick<PipelineActivities, 'evaluateModel'>;
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
