import { randomUUID } from 'node:crypto';
import {
  ScheduleOverlapPolicy,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type ScheduleHandle,
  type WorkflowHandle,
} from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineInput } from '../workflows/contracts/pipeline-input.js';
import type { ReviewInput } from '../workflows/contracts/review.js';
import type { Policy } from '../workflows/contracts/run-spec.js';
import { reviewUpdate, statusQuery, type PipelineStatus } from '../workflows/pipeline-messages.js';
import { pipelineWorkflowId, scheduledWorkflowIdPrefix } from '../workflows/workflow-ids.js';
import { LATE_CANCEL_REASON, type pipeline } from '../workflows/pipeline.js';
import { toErrorResponse } from '../api/errors.js';
import { signReview } from '../api/runs/review-signature.js';
import { bundleKeelWorkflows } from '../workers/workflow-bundle.js';
import type { ApprovalPolicy } from '../registry/auto-approval.js';
import { keepHistory as keepHistoryFile } from './support/keep-history.js';
import { createScriptedActivities, type Recorder, type Script } from './support/scripted-activities.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

// `KEEL_RECORD_HISTORIES=1 npx vitest run test/pipeline-workflow.test.ts` records the replay fixtures that are missing;
// an existing history is never overwritten (it guards the workflow code it was recorded from).

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [temporal, bundle] = await Promise.all([connectTestTemporal(), bundleKeelWorkflows(SIGNING_KEY)]);
});

afterAll(async () => {
  await temporal?.close();
});

// The workers' bundle carries this key; reviews are signed with it as the API signs them.
const SIGNING_KEY = `test-signing-key-${randomUUID()}`;
const engineer = { keyId: randomUUID(), name: 'engineer-alice', user: 'alice' };
const reviewer: ReviewInput['reviewer'] = { keyId: randomUUID(), name: 'reviewer-bob', user: 'bob' };
/** The model approval policy ops set: auto-approval, first deployments allowed. */
const OPS_POLICY: ApprovalPolicy = { version: 3, autoApprove: true, allowFirstDeployment: true, gates: {} };

/** A review as the API sends it: the reviewer's user signed with the run id, decision and time. */
function signed(
  runId: string,
  decision: 'approve' | 'reject',
  options: { comment?: string; by?: ReviewInput['reviewer']; signedAt?: number } = {},
): ReviewInput {
  const by = options.by ?? reviewer;
  return {
    decision,
    ...(options.comment !== undefined ? { comment: options.comment } : {}),
    reviewer: by,
    signature: signReview(SIGNING_KEY, { runId, user: by.user!, decision, signedAt: options.signedAt ?? Date.now() }),
  };
}

interface Harness {
  handle: WorkflowHandle<typeof pipeline>;
  runId: string;
  recorder: Recorder;
  /** Runs `body` while both workers poll; returns its result. */
  during<T>(body: () => Promise<T>): Promise<T>;
}

interface ScriptedWorkers {
  recorder: Recorder;
  taskQueue: string;
  trainingTaskQueue: string;
  during: Harness['during'];
}

async function startScriptedWorkers(script: Script): Promise<ScriptedWorkers> {
  const { activities, recorder } = createScriptedActivities(script);
  const taskQueue = uniqueName('pipeline');
  const trainingTaskQueue = uniqueName('training');
  const [pipelineWorker, trainingWorker] = await Promise.all([
    Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities }),
    Worker.create({ connection: temporal.workerConnection, taskQueue: trainingTaskQueue, activities }),
  ]);
  const during = <T>(body: () => Promise<T>) => pipelineWorker.runUntil(trainingWorker.runUntil(body));
  return { recorder, taskQueue, trainingTaskQueue, during };
}

async function startRun(
  name: string,
  script: Script,
  policy?: Policy,
  options: { scheduled?: boolean } = {},
): Promise<Harness> {
  const { recorder, taskQueue, trainingTaskQueue, during } = await startScriptedWorkers(script);
  const runId = uniqueName(name);
  const input: PipelineInput = {
    runId: options.scheduled ? undefined : runId,
    scheduleId: options.scheduled ? 'nightly' : undefined,
    spec: {
      model: 'flights',
      dataset: { uri: 'file:///data/flights.csv' },
      target: 'delayed',
      task: 'binary',
      policy,
    },
    requestedBy: engineer,
    trainingTaskQueue,
  };
  const handle = await temporal.client.workflow.start<typeof pipeline>('pipeline', {
    taskQueue,
    workflowId: pipelineWorkflowId('flights', options.scheduled ? `sched-nightly-${runId}` : runId),
    args: [input],
  });
  return { handle, runId: options.scheduled ? `sched-nightly-${runId}` : runId, recorder, during };
}

async function awaitStage(handle: Harness['handle'], stage: PipelineStatus['stage']): Promise<PipelineStatus> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const status = await handle.query(statusQuery);
    if (status.stage === stage) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`run never reached stage ${stage}`);
}

/** Waits until a workflow task completed after the cancel request, i.e. the workflow has seen the cancel. */
async function awaitCancelSeen(handle: Harness['handle']): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const events = (await handle.fetchHistory()).events ?? [];
    const requested = events.findIndex((event) => event.workflowExecutionCancelRequestedEventAttributes);
    if (requested >= 0 && events.slice(requested).some((event) => event.workflowTaskCompletedEventAttributes)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the workflow never processed the cancel request');
}

/** The retry policies of the activities the run scheduled, by activity type. */
async function scheduledRetryPolicies(handle: Harness['handle']) {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((event) => {
    const scheduled = event.activityTaskScheduledEventAttributes;
    return scheduled ? [{ type: scheduled.activityType?.name, retryPolicy: scheduled.retryPolicy, scheduleToClose: scheduled.scheduleToCloseTimeout }] : [];
  });
}

async function keepHistory(name: string, handle: Harness['handle']): Promise<void> {
  await keepHistoryFile(`pipeline-${name}`, handle);
}

/** The id of the first workflow the schedule started (Temporal appends the scheduled time to the prefix). */
async function firstScheduledWorkflowId(schedule: ScheduleHandle): Promise<string> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const { info } = await schedule.describe();
    const started = info.recentActions[0] ?? info.runningActions[0];
    if (started) return started.action.workflow.workflowId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`schedule ${schedule.scheduleId} never started a run`);
}

async function searchAttribute(handle: Harness['handle'], key: string): Promise<unknown> {
  const description = await handle.describe();
  return description.searchAttributes[key];
}

describe('pipeline workflow on the real dev server', () => {
  it('when a reviewer approves, then the version is deployed and the monitor is told', async () => {
    const run = await startRun('approve', {});
    const result = await run.during(async () => {
      const waiting = await awaitStage(run.handle, 'awaiting_review');
      expect(waiting.status).toBe('awaiting_review');
      expect(await searchAttribute(run.handle, 'KeelStage')).toEqual(['awaiting_review']);
      const review = await run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'approve', { comment: 'looks good' })] });
      expect(review).toMatchObject({ decision: 'approve', reviewer: 'bob' });
      return run.handle.result();
    });
    expect(result).toMatchObject({ status: 'deployed', stage: 'done', modelVersion: 1 });
    expect(result.timings.map((timing) => timing.stage)).toEqual([
      'ingest',
      'validate',
      'train',
      'evaluate',
      'register',
      'awaiting_review',
      'deploy',
      'monitor',
    ]);
    expect(result.timings.every((timing) => timing.durationMs !== undefined)).toBe(true);
    // The training activity's own parts, in the order a run goes through them; no other stage has parts.
    expect(result.timings.find((timing) => timing.stage === 'train')?.parts).toEqual([
      { part: 'load', durationMs: 50 },
      { part: 'split', durationMs: 30 },
      { part: 'train', durationMs: 400 },
      { part: 'metrics', durationMs: 20 },
      { part: 'export', durationMs: 10 },
      { part: 'store', durationMs: 10 },
    ]);
    expect(result.timings.filter((timing) => timing.parts !== undefined).map((timing) => timing.stage)).toEqual(['train']);
    expect(run.recorder.decisions[0]).toMatchObject({ version: 1, reviewerKeyId: reviewer.keyId, result: { decision: 'approve' } });
    expect(run.recorder.deployed).toEqual([1]);
    expect(run.recorder.monitorNotified).toEqual([1]);
    expect(run.recorder.progress.at(-1)).toMatchObject({ stage: 'done', status: 'deployed' });
    expect(await searchAttribute(run.handle, 'KeelModel')).toEqual(['flights']);
    await keepHistory('approve', run.handle);
  });

  it('when a reviewer rejects, then the run ends rejected and nothing is deployed', async () => {
    const run = await startRun('reject', {});
    const result = await run.during(async () => {
      await awaitStage(run.handle, 'awaiting_review');
      await run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'reject', { comment: 'AUC too low for launch' })] });
      return run.handle.result();
    });
    expect(result).toMatchObject({ status: 'rejected', reason: 'AUC too low for launch' });
    expect(run.recorder.deployed).toEqual([]);
    expect(run.recorder.decisions[0]?.result.decision).toBe('reject');
    await keepHistory('reject', run.handle);
  });

  it('when nobody reviews within the approval timeout, then the run expires', async () => {
    const run = await startRun('expire', {}, { approvalTimeout: '2 seconds' });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('expired');
    expect(run.recorder.decisions[0]?.result).toMatchObject({ decision: 'expire', reviewer: 'system' });
    expect(run.recorder.deployed).toEqual([]);
    await keepHistory('expire', run.handle);
  });

  it('when auto-approval is allowed and every gate passes, then it deploys without a reviewer', async () => {
    const run = await startRun('auto-approve', { approvalPolicy: OPS_POLICY });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('deployed');
    expect(run.recorder.decisions[0]?.result).toMatchObject({ decision: 'auto_approve', reviewer: 'policy:flights@v3', policyVersion: 3 });
    expect(run.recorder.deployed).toEqual([1]);
    await keepHistory('auto-approve', run.handle);
  });

  it('when auto-approval is allowed but a gate fails, then the run is rejected with the reason', async () => {
    const run = await startRun('auto-reject', { gatesPass: false, approvalPolicy: OPS_POLICY });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('rejected');
    expect(result.reason).toContain('auc 0.9 < min 0.95');
    expect(run.recorder.deployed).toEqual([]);
    await keepHistory('auto-reject', run.handle);
  });

  it('when validation fails, then the run ends data_rejected and nothing downstream runs', async () => {
    const run = await startRun('data-rejected', { validationFails: true });
    const result = await run.during(() => run.handle.result());
    expect(result).toMatchObject({ status: 'data_rejected', reason: 'column x: null rate 0.4 exceeds 0.1' });
    expect(result.timings.map((timing) => timing.stage)).toEqual(['ingest', 'validate']);
    expect(await searchAttribute(run.handle, 'KeelStage')).toEqual(['data_rejected']);
    await keepHistory('data-rejected', run.handle);
  });

  it('when the run is cancelled mid-training, then training stops and the run ends cancelled', async () => {
    const run = await startRun('cancel', { trainingHangs: true });
    await run.during(async () => {
      await run.recorder.trainingStarted;
      await run.handle.cancel();
      await expect(run.handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    expect(run.recorder.trainingCancelled).toBe(true);
    expect((await run.handle.describe()).status.name).toBe('CANCELLED');
    expect(run.recorder.progress.at(-1)).toMatchObject({ stage: 'done', status: 'cancelled' });
    await keepHistory('cancel', run.handle);
  });

  it('rejects a second review once the run has been decided', async () => {
    const run = await startRun('duplicate-review', {});
    await run.during(async () => {
      await awaitStage(run.handle, 'awaiting_review');
      await run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'approve')] });
      const other = { keyId: randomUUID(), name: 'reviewer-carol', user: 'carol' };
      const second = run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'reject', { by: other })] });
      await expect(second).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(second).rejects.toMatchObject({ cause: { type: 'NOT_AWAITING_REVIEW' } });
      return run.handle.result();
    });
    expect(run.recorder.decisions).toHaveLength(1);
    await keepHistory('duplicate-review', run.handle);
  });

  it("rejects a review from the run's requester's user, even through another key, and accepts another person's", async () => {
    const run = await startRun('requester-review', {});
    const result = await run.during(async () => {
      await awaitStage(run.handle, 'awaiting_review');
      const aliceReviewerKey = { keyId: randomUUID(), name: 'reviewer-alice', user: 'alice' };
      const ownReview = run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'approve', { by: aliceReviewerKey })] });
      await expect(ownReview).rejects.toMatchObject({ cause: { type: 'REQUESTER_CANNOT_REVIEW' } });
      expect((await run.handle.query(statusQuery)).status).toBe('awaiting_review');
      await run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'approve')] });
      return run.handle.result();
    });
    expect(result.status).toBe('deployed');
    await keepHistory('requester-review', run.handle);
  });

  it('when the smoke prediction fails after deploy, then the run ends deploy_failed', async () => {
    const run = await startRun('deploy-failed', { smokeFails: true, approvalPolicy: OPS_POLICY });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('deploy_failed');
    expect(result.reason).toContain('smoke prediction failed');
    expect(run.recorder.monitorNotified).toEqual([]);
    await keepHistory('deploy-failed', run.handle);
  });

  it('when the parity check fails, then the run ends failed with the difference and registers nothing', async () => {
    const run = await startRun('parity-failed', { parityFails: true });
    const result = await run.during(() => run.handle.result());
    expect(result).toMatchObject({ status: 'failed', stage: 'done' });
    expect(result.reason).toContain('parity check failed: onnxruntime differs from the trainer by 0.25');
    expect(result.timings.map((timing) => timing.stage)).toEqual(['ingest', 'validate', 'train', 'evaluate']);
    expect(run.recorder.decisions).toEqual([]);
    await keepHistory('parity-failed', run.handle);
  });

  it('when a schedule starts a run without a run id, then the id comes from the workflow id and the run is registered', async () => {
    const run = await startRun('scheduled', { approvalPolicy: OPS_POLICY }, undefined, { scheduled: true });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('deployed');
    expect(result.runId).toMatch(/^sched-nightly-scheduled-/);
    expect(run.recorder.scheduledRuns).toEqual([
      expect.objectContaining({ runId: result.runId, scheduleId: 'nightly', workflowId: run.handle.workflowId }),
    ]);
  });

  it('when a Temporal Schedule starts a run, then it runs under the id Temporal made and registers itself', async () => {
    const workers = await startScriptedWorkers({ approvalPolicy: OPS_POLICY });
    const scheduleId = uniqueName('nightly');
    const input: PipelineInput = {
      scheduleId,
      spec: { model: 'flights', dataset: { uri: 'file:///data/flights.csv' }, target: 'delayed', task: 'binary' },
      requestedBy: engineer,
      trainingTaskQueue: workers.trainingTaskQueue,
    };
    const schedule = await temporal.client.schedule.create({
      scheduleId,
      spec: { cronExpressions: ['0 2 * * *'] },
      action: {
        type: 'startWorkflow',
        workflowType: 'pipeline',
        workflowId: scheduledWorkflowIdPrefix('flights', scheduleId),
        taskQueue: workers.taskQueue,
        args: [input],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { triggerImmediately: true },
    });
    try {
      const workflowId = await firstScheduledWorkflowId(schedule);
      expect(workflowId.startsWith(`${scheduledWorkflowIdPrefix('flights', scheduleId)}-`)).toBe(true);
      const handle = temporal.client.workflow.getHandle<typeof pipeline>(workflowId);
      const result = await workers.during(() => handle.result());
      expect(result).toMatchObject({ status: 'deployed', runId: workflowId.split('/').slice(2).join('/') });
      expect(workers.recorder.scheduledRuns).toEqual([
        expect.objectContaining({ runId: result.runId, scheduleId, workflowId }),
      ]);
      await keepHistory('scheduled', handle);
    } finally {
      await schedule.delete();
    }
  });
  it('when a cancel arrives while deploying, then deploy and the monitor notification finish and the run ends deployed, saying the cancel came too late', async () => {
    const run = await startRun('deploy-late-cancel', { deployHolds: true, approvalPolicy: OPS_POLICY });
    const result = await run.during(async () => {
      try {
        await run.recorder.deployStarted;
        await run.handle.cancel();
        await awaitCancelSeen(run.handle);
        // The cancel has reached the workflow while production was moving: nothing may be marked cancelled yet.
        expect(run.recorder.progress.map((progress) => progress.status)).not.toContain('cancelled');
      } finally {
        run.recorder.releaseDeploy();
      }
      return run.handle.result();
    });
    expect(result).toMatchObject({ status: 'deployed', stage: 'done', reason: LATE_CANCEL_REASON });
    expect(run.recorder.deployed).toEqual([1]);
    expect(run.recorder.monitorNotified).toEqual([1]);
    expect(run.recorder.progress.at(-1)).toMatchObject({ stage: 'done', status: 'deployed', reason: LATE_CANCEL_REASON });
    expect((await run.handle.describe()).status.name).toBe('COMPLETED');
    await keepHistory('deploy-late-cancel', run.handle);
  });

  it('when a review arrives after the approval timer fired, then it is refused (409) and the run ends expired', async () => {
    const run = await startRun('expire-refuses-late-review', { reviewDecisionHolds: true }, { approvalTimeout: '1 second' });
    const result = await run.during(async () => {
      // The timer has fired and the expiry is being recorded: the row and the status query still say awaiting_review.
      try {
        await run.recorder.reviewDecisionStarted;
        expect((await run.handle.query(statusQuery)).status).toBe('awaiting_review');
        const late = await run.handle
          .executeUpdate(reviewUpdate, { args: [signed(run.runId, 'approve')] })
          .then(() => undefined, (error: unknown) => error);
        expect(late).toBeInstanceOf(WorkflowUpdateFailedError);
        expect(late).toMatchObject({ cause: { type: 'NOT_AWAITING_REVIEW' } });
        const answer = toErrorResponse(late);
        expect(answer.status).toBe(409);
        expect(answer.body.error.message).toContain('approval timeout');
      } finally {
        run.recorder.releaseReviewDecision();
      }
      return run.handle.result();
    });
    expect(result.status).toBe('expired');
    expect(run.recorder.decisions.map((decision) => decision.result.decision)).toEqual(['expire']);
    expect(run.recorder.deployed).toEqual([]);
    await keepHistory('expire-refuses-late-review', run.handle);
  });

  it('when a run is cancelled while awaiting review, then its version is withdrawn and the run ends cancelled', async () => {
    const run = await startRun('cancel-during-review', {});
    await run.during(async () => {
      await awaitStage(run.handle, 'awaiting_review');
      await run.handle.cancel();
      await expect(run.handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    expect((await run.handle.describe()).status.name).toBe('CANCELLED');
    expect(run.recorder.withdrawn).toEqual([{ runId: expect.stringMatching(/^cancel-during-review-/), reason: 'the run was cancelled while awaiting review' }]);
    expect(run.recorder.decisions).toEqual([]);
    expect(run.recorder.deployed).toEqual([]);
    expect(run.recorder.progress.at(-1)).toMatchObject({ stage: 'done', status: 'cancelled', modelVersion: 1 });
    await keepHistory('cancel-during-review', run.handle);
  });

  it('when an activity fails transiently more than five times, then it is retried and the run still deploys', async () => {
    const run = await startRun('transient-outage', { evaluateOutageAttempts: 5, approvalPolicy: OPS_POLICY });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('deployed');
    expect(run.recorder.evaluateAttempts).toBe(6);
    const policies = await scheduledRetryPolicies(run.handle);
    expect(policies.length).toBeGreaterThan(0);
    // No attempt limit (0 = unlimited); a day (two for training) bounds the waiting instead.
    for (const { retryPolicy, scheduleToClose } of policies) {
      expect(retryPolicy?.maximumAttempts ?? 0).toBe(0);
      expect(Number(scheduleToClose?.seconds ?? 0)).toBeGreaterThanOrEqual(24 * 3600);
    }
  });

  it('refuses reviews sent straight through the Temporal client unsigned, forged, replayed or stale, and a signed review by another person decides', async () => {
    const run = await startRun('signed-review', {});
    const result = await run.during(async () => {
      await awaitStage(run.handle, 'awaiting_review');
      const refusalType = (review: ReviewInput) =>
        run.handle.executeUpdate(reviewUpdate, { args: [review] }).then(
          () => 'accepted',
          (error: unknown) => (error as { cause?: { type?: string } }).cause?.type,
        );
      // As the Temporal CLI or Web UI would send it: no signature, any name.
      expect(await refusalType({ decision: 'approve', reviewer: { keyId: null, name: 'mallory', user: 'mallory' } })).toBe('REVIEW_IDENTITY_INVALID');
      // Forged: a made-up HMAC, or one made with another key.
      const forged = { ...signed(run.runId, 'approve'), signature: { signedAt: Date.now(), hmac: 'f'.repeat(64) } };
      expect(await refusalType(forged)).toBe('REVIEW_IDENTITY_INVALID');
      const otherKey = {
        ...signed(run.runId, 'approve'),
        signature: signReview('another-key-another-key-another-key', { runId: run.runId, user: 'bob', decision: 'approve', signedAt: Date.now() }),
      };
      expect(await refusalType(otherKey)).toBe('REVIEW_IDENTITY_INVALID');
      // Replayed: a real but old signature, a reject's signature on an approve, another run's signature.
      expect(await refusalType(signed(run.runId, 'approve', { signedAt: Date.now() - 10 * 60_000 }))).toBe('REVIEW_IDENTITY_INVALID');
      expect(await refusalType({ ...signed(run.runId, 'reject'), decision: 'approve' })).toBe('REVIEW_IDENTITY_INVALID');
      expect(await refusalType(signed('another-run', 'approve'))).toBe('REVIEW_IDENTITY_INVALID');
      expect((await run.handle.query(statusQuery)).status).toBe('awaiting_review');
      await run.handle.executeUpdate(reviewUpdate, { args: [signed(run.runId, 'approve', { comment: 'signed by the API' })] });
      return run.handle.result();
    });
    expect(result.status).toBe('deployed');
    expect(run.recorder.decisions).toHaveLength(1);
    expect(run.recorder.decisions[0]).toMatchObject({ reviewerKeyId: reviewer.keyId, result: { decision: 'approve', reviewer: 'bob' } });
    await keepHistory('signed-review', run.handle);
  });

  it("ignores a run spec's autoApprove: without the model's approval policy the run waits for a person", async () => {
    const run = await startRun('spec-auto-approve-ignored', {}, { autoApprove: true, approvalTimeout: '2 seconds' });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('expired');
    expect(run.recorder.autoApprovalRequests).toHaveLength(1);
    expect(run.recorder.decisions.map((decision) => decision.result.decision)).toEqual(['expire']);
    expect(run.recorder.deployed).toEqual([]);
  });

  it('when the approval policy auto-approves, then the decision names the policy version that allowed it', async () => {
    const run = await startRun('policy-auto-approve', { approvalPolicy: OPS_POLICY });
    const result = await run.during(() => run.handle.result());
    expect(result).toMatchObject({ status: 'deployed', review: { decision: 'auto_approve', reviewer: 'policy:flights@v3', policyVersion: 3 } });
    expect(run.recorder.autoApprovalRequests[0]).toMatchObject({ model: 'flights', evaluation: { champion: null, failedGates: [] } });
    await keepHistory('policy-auto-approve', run.handle);
  });

  it('when a version is in production but the champion was not compared, then the policy does not decide: a person must', async () => {
    const run = await startRun('policy-missing-comparison', { approvalPolicy: OPS_POLICY, productionVersion: 4 }, { approvalTimeout: '2 seconds' });
    const result = await run.during(() => run.handle.result());
    expect(result.status).toBe('expired');
    expect(run.recorder.deployed).toEqual([]);
  });
});
