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
