// Use-cases behind /v1/runs: start (idempotent), list, show, review (four eyes), cancel.
import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Db } from '../../db/client.js';
import { getApprovalByRunId } from '../../db/repositories/approvals.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { getEvaluationReportByRunId } from '../../db/repositories/evaluation-reports.js';
import { getModelVersionByRunId } from '../../db/repositories/model-versions.js';
import { getRun, getRunByIdempotencyKey, insertRun, listRecentRuns } from '../../db/repositories/runs.js';
import { getValidationReportByRunId } from '../../db/repositories/validation-reports.js';
import type { RunRow, RunStage } from '../../db/schema.js';
import type { PipelineInput } from '../../workflows/contracts/pipeline-input.js';
import type { ReviewResult } from '../../workflows/contracts/review.js';
import type { RunSpec } from '../../workflows/contracts/run-spec.js';
import { reviewUpdate, statusQuery, type PipelineStatus } from '../../workflows/pipeline-messages.js';
import { RUN_STATUSES, type RunStatus } from '../../workflows/run-status.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { TASK_QUEUES } from '../../workflows/task-queues.js';
import { pipelineWorkflowId } from '../../workflows/workflow-ids.js';
import type { Principal } from '../auth/principal.js';
import { KeelError } from '../../errors/keel-error.js';
import { isWorkflowClosedOrMissing } from '../errors.js';
import { runSpecHash } from '../../runs/run-spec-hash.js';

export interface RunsDeps {
  db: Db;
  client: Client;
  taskQueues?: { pipeline: string; training: string };
}

export { canonicalJson } from '../../runs/run-spec-hash.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Checks the schema cannot express; errors name the field. */
export function checkRunSpec(spec: RunSpec, field = 'body'): void {
  if (spec.sources && !spec.transform) {
    throw new KeelError('VALIDATION_FAILED', `${field}/sources needs a transform that joins them`);
  }
  if (spec.sources && Object.keys(spec.sources).some((name) => name.toLowerCase() === 'source')) {
    throw new KeelError('VALIDATION_FAILED', `${field}/sources/source: "source" is the main dataset's name`);
  }
  if (spec.features?.includes(spec.target)) {
    throw new KeelError('VALIDATION_FAILED', `${field}/features must not contain the target column "${spec.target}"`);
  }
  for (const [metric, bounds] of Object.entries(spec.gates ?? {})) {
    if (metric === 'maxRegression') {
      for (const [name, drop] of Object.entries(bounds as Record<string, number>)) {
        if (!(drop >= 0)) throw new KeelError('VALIDATION_FAILED', `${field}/gates/maxRegression/${name} must be >= 0`);
      }
      continue;
    }
    for (const key of Object.keys(bounds as Record<string, number>)) {
      if (key !== 'min' && key !== 'max') {
        throw new KeelError('VALIDATION_FAILED', `${field}/gates/${metric}/${key} is not allowed (use min or max)`);
      }
    }
  }
  if (spec.trainer?.params && 'seed' in spec.trainer.params && !Number.isInteger(spec.trainer.params.seed)) {
    throw new KeelError('VALIDATION_FAILED', `${field}/trainer/params/seed must be an integer`);
  }
}

export interface RunSummary {
  id: string;
  model: string;
  status: RunStatus;
  stage: RunStage;
  reason: string | null;
  requestedBy: string | null;
  scheduleId: string | null;
  modelVersion: number | null;
  snapshotSha256: string | null;
  workflowId: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

function toSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    model: row.model,
    status: row.status,
    stage: row.stage,
    reason: row.reason,
    requestedBy: row.requestedByName,
    scheduleId: row.scheduleId,
    modelVersion: row.modelVersion,
    snapshotSha256: row.snapshotSha256,
    workflowId: row.workflowId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export function pipelineInputFor(
  runId: string,
  spec: RunSpec,
  principal: Pick<Principal, 'keyId' | 'name'>,
  trainingTaskQueue?: string,
): PipelineInput {
  return {
    runId,
    spec,
    requestedBy: { keyId: principal.keyId, name: principal.name },
    // Only when not the default, so ordinary runs carry no routing detail.
    ...(trainingTaskQueue && trainingTaskQueue !== TASK_QUEUES.training ? { trainingTaskQueue } : {}),
  };
}

export async function startRun(
  deps: RunsDeps,
  args: { spec: RunSpec; principal: Principal; role: string; requestId?: string; idempotencyKey?: string },
): Promise<{ run: RunSummary; replayed: boolean }> {
  checkRunSpec(args.spec);
  const specHash = runSpecHash(args.spec);
  // Keys are scoped to the caller: two clients choosing the same key do not collide.
  const scopedKey = args.idempotencyKey ? `${args.principal.keyId}:${args.idempotencyKey}` : null;
  if (scopedKey) {
    const existing = await getRunByIdempotencyKey(deps.db, scopedKey);
    if (existing) return replayOrConflict(existing, specHash);
  }
  // With a key the run id derives from it, so even a lost response retried elsewhere maps to one workflow.
  const runId = scopedKey ? `r-${sha256(scopedKey).slice(0, 24)}` : `r-${randomUUID()}`;
  const workflowId = pipelineWorkflowId(args.spec.model, runId);
  try {
    const row = await deps.db.transaction(async (tx) => {
      const inserted = await insertRun(tx, {
        id: runId,
        workflowId,
        model: args.spec.model,
        spec: args.spec,
        specHash,
        idempotencyKey: scopedKey,
        requestedBy: args.principal.keyId,
        requestedByName: args.principal.name,
        status: 'running',
        stage: 'queued',
      });
      await writeAudit(tx, {
        actor: args.principal.name,
        actorKeyId: args.principal.keyId,
        role: args.role,
        requestId: args.requestId,
        action: 'run.start',
        subject: `run:${runId}`,
        after: { model: args.spec.model, dataset: args.spec.dataset, task: args.spec.task, target: args.spec.target },
      });
      try {
        await deps.client.workflow.start('pipeline', {
          taskQueue: deps.taskQueues?.pipeline ?? TASK_QUEUES.pipeline,
          workflowId,
          args: [pipelineInputFor(runId, args.spec, args.principal, deps.taskQueues?.training)],
          searchAttributes: { [SEARCH_ATTRIBUTES.model]: [args.spec.model], [SEARCH_ATTRIBUTES.stage]: ['queued'] },
          memo: { spec: specSummary(args.spec), requestedBy: args.principal.name },
        });
      } catch (error) {
        // Started by an earlier attempt whose row was rolled back: the workflow is this run.
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      return inserted;
    });
    return { run: toSummary(row), replayed: false };
  } catch (error) {
    if (scopedKey && isUniqueViolation(error)) {
      // A concurrent request with the same key won the race.
      const existing = await getRunByIdempotencyKey(deps.db, scopedKey);
      if (existing) return replayOrConflict(existing, specHash);
    }
    throw error;
  }
}

function replayOrConflict(existing: RunRow, specHash: string): { run: RunSummary; replayed: boolean } {
  if (existing.specHash !== specHash) {
    throw new KeelError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key was already used for run ${existing.id} with a different body`, {
      runId: existing.id,
    });
  }
  return { run: toSummary(existing), replayed: true };
}

function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  while (current && typeof current === 'object') {
    if ((current as { code?: string }).code === '23505') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** The memo ops see in the Temporal UI: what the run is, without the whole body. */
export function specSummary(spec: RunSpec): Record<string, unknown> {
  return {
    model: spec.model,
    task: spec.task,
    target: spec.target,
    dataset: 'uri' in spec.dataset ? spec.dataset.uri : `sql:${spec.dataset.connection}`,
    trainer: spec.trainer?.kind ?? 'gbdt',
    autoApprove: spec.policy?.autoApprove ?? false,
    hasTransform: spec.transform !== undefined,
  };
}

export async function listRuns(
  db: Db,
  filter: { model?: string; status?: string; limit: number },
): Promise<RunSummary[]> {
  const { status } = filter;
  if (status !== undefined && !isRunStatus(status)) {
    throw new KeelError('VALIDATION_FAILED', `querystring/status must be one of ${RUN_STATUSES.join(', ')}`);
  }
  const rows = await listRecentRuns(db, { model: filter.model, status, limit: filter.limit });
  return rows.map(toSummary);
}

function isRunStatus(value: string): value is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(value);
}

export async function getRunRow(db: Db, id: string): Promise<RunRow> {
  const row = await getRun(db, id);
  if (!row) throw new KeelError('NOT_FOUND', `run ${id} not found`);
  return row;
}

/** Live stage timings from the workflow; null if no worker answers quickly (the stored row still answers). */
async function queryStatus(client: Client, workflowId: string): Promise<PipelineStatus | null> {
  const query = client.workflow.getHandle(workflowId).query(statusQuery);
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), 2_000).unref());
  return Promise.race([query, timeout]).catch(() => null);
}

export async function getRunDetail(deps: RunsDeps, id: string) {
  const row = await getRunRow(deps.db, id);
  const [validation, evaluation, version, approval] = await Promise.all([
    getValidationReportByRunId(deps.db, id),
    getEvaluationReportByRunId(deps.db, id),
    getModelVersionByRunId(deps.db, id),
    getApprovalByRunId(deps.db, id),
  ]);
  const live = await queryStatus(deps.client, row.workflowId);
  return {
    ...toSummary(row),
    spec: row.spec,
    timings: live?.timings ?? null,
    // From Postgres: a workflow query says nothing once no worker answers or Temporal's retention removed the run.
    review: approval
      ? {
          decision: approval.decision,
          reviewer: approval.reviewer,
          ...(approval.comment !== null ? { comment: approval.comment } : {}),
          decidedAt: approval.createdAt.toISOString(),
        }
      : null,
    validation: validation
      ? { reportId: validation.id, passed: validation.passed, summary: validation.summary, report: validation.report }
      : null,
    evaluation: evaluation
      ? { reportId: evaluation.id, gatesPassed: evaluation.gatesPassed, championVersion: evaluation.championVersion, report: evaluation.report }
      : null,
    version: version ? { version: version.version, status: version.status, artifactSha256: version.artifactSha256 } : null,
  };
}

export async function reviewRun(
  deps: RunsDeps,
  args: { id: string; decision: 'approve' | 'reject'; comment?: string; principal: Principal },
): Promise<ReviewResult> {
  const row = await getRunRow(deps.db, args.id);
  if (row.requestedBy !== null && row.requestedBy === args.principal.keyId) {
    throw new KeelError('REQUESTER_CANNOT_REVIEW', 'the key that started a run cannot review it (four eyes)');
  }
  // The row reaches awaiting_review before the workflow waits, so this answers without a round trip to a worker.
  if (row.status !== 'awaiting_review') {
    throw new KeelError('NOT_AWAITING_REVIEW', `run ${args.id} is ${row.status} (stage ${row.stage}), not awaiting review`);
  }
  try {
    return await deps.client.workflow.getHandle(row.workflowId).executeUpdate(reviewUpdate, {
      args: [
        {
          decision: args.decision,
          comment: args.comment,
          reviewer: { keyId: args.principal.keyId, name: args.principal.name },
        },
      ],
    });
  } catch (error) {
    // The update validator's refusals (typed NOT_AWAITING_REVIEW, REQUESTER_CANNOT_REVIEW) answer 409/403 through
    // the error handler, naming why the gate closed; a run that closed meanwhile is no longer awaiting review.
    if (isWorkflowClosedOrMissing(error)) {
      const ended = await getRunRow(deps.db, args.id).catch(() => row);
      throw new KeelError('NOT_AWAITING_REVIEW', `run ${args.id} has ended (${ended.status}); it no longer takes reviews`, undefined, { cause: error });
    }
    throw error;
  }
}

const FINISHED: readonly RunStatus[] = ['deployed', 'rejected', 'expired', 'data_rejected', 'failed', 'deploy_failed', 'cancelled'];

export async function cancelRun(
  deps: RunsDeps,
  args: { id: string; principal: Principal; role: string; requestId?: string },
): Promise<RunSummary> {
  const row = await getRunRow(deps.db, args.id);
  if (FINISHED.includes(row.status)) {
    throw new KeelError('RUN_FINISHED', `run ${args.id} already ended as ${row.status}`);
  }
  try {
    await deps.client.workflow.getHandle(row.workflowId).cancel();
  } catch (error) {
    if (isWorkflowClosedOrMissing(error)) {
      throw new KeelError('RUN_FINISHED', `run ${args.id} has already ended`, undefined, { cause: error });
    }
    throw error;
  }
  await writeAudit(deps.db, {
    actor: args.principal.name,
    actorKeyId: args.principal.keyId,
    role: args.role,
    requestId: args.requestId,
    action: 'run.cancel',
    subject: `run:${args.id}`,
    before: { status: row.status, stage: row.stage },
    after: { cancelRequested: true },
  });
  return toSummary(row);
}
