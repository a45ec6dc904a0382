// The pipeline's patch ids: each guards a change to the commands the workflow issues, so runs recorded before it
// replay down the old branch (`patched(id)` is false for them) and new runs take the new one.
export const PIPELINE_PATCHES = {
  /** Activities retry transient failures for hours instead of 5 attempts; bookkeeping retries until it succeeds. */
  transientRetries: 'pipeline-transient-retries',
  /** A review accepted in the same activation as the approval timer decides the run (it used to be dropped). */
  reviewDecidedOnce: 'pipeline-review-decided-once',
  /** Deploy and the monitor notification run to their end even when a cancel arrives meanwhile. */
  deployNotCancellable: 'pipeline-deploy-not-cancellable',
  /** A run cancelled after registering withdraws its version that still waits for a review. */
  withdrawOnCancel: 'pipeline-withdraw-on-cancel',
  /** Auto-approval comes from the model's approval policy (set by ops), no longer from the run spec. */
  modelApprovalPolicy: 'pipeline-model-approval-policy',
  /** An external trainer's task queue that no worker polls ends the run (schedule-to-start) instead of waiting for ever. */
  externalScheduleToStart: 'pipeline-external-schedule-to-start',
} as const;
