// The pipeline's stage bookkeeping: which stage a run is in, how long each took, the search attributes ops filter
// on, and the run's row (through the recordRunProgress local activity). The `status` query answers from `state`.
import { CancellationScope, upsertSearchAttributes } from '@temporalio/workflow';
import type { RecordRunProgressInput } from './contracts/pipeline-activities.js';
import type { PipelineStatus } from './pipeline-messages.js';
import { SEARCH_ATTRIBUTES } from './search-attributes.js';
import type { PipelineStage, RunStatus } from './run-status.js';

export interface StageTracker {
  readonly state: PipelineStatus;
  /** Closes the open stage's timing, opens `stage`, and records it. */
  enter(stage: PipelineStage, status?: RunStatus): Promise<void>;
  /**
   * Closes the open stage's timing and records the run's outcome. Never cancelled: the run's row reaches its
   * terminal status even when the run was cancelled (the local activity retries until the database answers).
   */
  finish(status: RunStatus, reason?: string): Promise<PipelineStatus>;
}

export function createStageTracker(args: {
  runId: string;
  model: string;
  recordRunProgress: (input: RecordRunProgressInput) => Promise<void>;
}): StageTracker {
  const { runId, model, recordRunProgress } = args;
  const state: PipelineStatus = { runId, model, stage: 'ingest', status: 'running', timings: [] };

  const closeOpenStage = (now: Date) => {
    const open = state.timings[state.timings.length - 1];
    if (open && !open.finishedAt) {
      open.finishedAt = now.toISOString();
      open.durationMs = now.getTime() - Date.parse(open.startedAt);
    }
  };

  return {
    state,
    async enter(stage, status = 'running') {
      const now = new Date();
      closeOpenStage(now);
      state.stage = stage;
      state.status = status;
      state.timings.push({ stage, startedAt: now.toISOString() });
      upsertSearchAttributes({ [SEARCH_ATTRIBUTES.model]: [model], [SEARCH_ATTRIBUTES.stage]: [stage] });
      await recordRunProgress({
        runId,
        stage,
        status,
        snapshotSha256: state.snapshotSha256,
        modelVersion: state.modelVersion,
      });
    },
    async finish(status, reason) {
      closeOpenStage(new Date());
      state.stage = 'done';
      state.status = status;
      state.reason = reason;
      // KeelStage carries the outcome once a run is over, so ops can filter e.g. KeelStage = "deploy_failed".
      upsertSearchAttributes({ [SEARCH_ATTRIBUTES.stage]: [status] });
      await CancellationScope.nonCancellable(() =>
        recordRunProgress({
          runId,
          stage: 'done',
          status,
          reason,
          snapshotSha256: state.snapshotSha256,
          modelVersion: state.modelVersion,
        }),
      );
      return state;
    },
  };
}
