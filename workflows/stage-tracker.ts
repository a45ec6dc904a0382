// The pipeline's stage bookkeeping: which stage a run is in, how long each took, the search attributes ops filter
// on, and the run's row (through the recordRunProgress local activity). The `status` query answers from `state`.
import { CancellationScope, upsertSearchAttributes } from '@temporalio/workflow';
import type { RecordRunProgressInput, TrainStageTimings } from './contracts/pipeline-activities.js';
import type { PipelineStatus } from './pipeline-messages.js';
import { SEARCH_ATTRIBUTES } from './search-attributes.js';
import type { PipelineStage, RunStatus, StagePart } from './run-status.js';

export interface StageTracker {
  readonly state: PipelineStatus;
  /** Closes the open stage's timing, opens `stage`, and records it. */
  enter(stage: PipelineStage, status?: RunStatus): Promise<void>;
  /** Attaches the open stage's parts as its activity measured them: state only, no command. */
  noteParts(parts: StagePart[]): void;
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
    noteParts(parts) {
      const open = state.timings[state.timings.length - 1];
      if (open) open.parts = parts;
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

/** The training activity's part timings in the order a run goes through them. */
export function trainStageParts(timings: TrainStageTimings): StagePart[] {
  return [
    { part: 'load', durationMs: timings.loadMs },
    { part: 'split', durationMs: timings.splitMs },
    { part: 'train', durationMs: timings.trainMs },
    { part: 'metrics', durationMs: timings.metricsMs },
    { part: 'export', durationMs: timings.exportMs },
    { part: 'store', durationMs: timings.storeMs },
  ];
}
