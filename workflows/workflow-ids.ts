// Business workflow ids: one place builds them, so the API, the activities and ops all find the same workflow.
export function systemCheckWorkflowId(suffix: string): string {
  return `system-check/${suffix}`;
}

export function pipelineWorkflowId(model: string, runId: string): string {
  return `pipeline/${model}/${runId}`;
}

/** A schedule's runs: Temporal appends the scheduled time to this prefix, so each run's id is unique. */
export function scheduledWorkflowIdPrefix(model: string, scheduleId: string): string {
  return pipelineWorkflowId(model, `sched-${scheduleId}`);
}

/** `pipeline/<model>/<runId>` → `<runId>` (run ids may themselves contain `/`-free timestamps). */
export function runIdFromWorkflowId(workflowId: string): string {
  return workflowId.split('/').slice(2).join('/');
}

export function monitorWorkflowId(model: string): string {
  return `monitor/${model}`;
}

/** `2025-01-02T03:04:05.678Z` → `20250102T030405678Z`: a window end as a workflow-id and run-id segment. */
export function windowKey(windowEnd: string): string {
  return windowEnd.replace(/[-:.]/g, '');
}

/** One retrain per model and monitoring window: a second start for the same window is deduplicated by Temporal. */
export function retrainWorkflowId(model: string, windowEnd: string): string {
  return `retrain/${model}/${windowKey(windowEnd)}`;
}

/** Run ids are global (runs.id), so the model is part of a retrain's. */
export function retrainRunId(model: string, windowEnd: string): string {
  return `retrain-${model}-${windowKey(windowEnd)}`;
}
