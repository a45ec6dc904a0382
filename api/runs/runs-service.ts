// Use-cases behind /v1/runs: start (idempotent), list, show, review (four eyes), cancel.
import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { and, desc, eq, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { evaluationReports, modelVersions, models, runs, validationReports, type RunRow } from '../../db/schema.js';
import {
  FAILURE_TYPES,
  pipelineWorkflowId,
  reviewUpdate,
  RUN_STATUSES,
  SEARCH_ATTRIBUTES,
  statusQuery,
  TASK_QUEUES,
  type PipelineInput,
  type PipelineStatus,
  type ReviewResult,
  type RunSpec,
  type RunStatus,
} from '../../workflows/definitions.js';
import { writeAudit } from '../audit.js';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../errors.js';
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
    throw new ApiError(400, 'VALIDATION_FAILED', `${field}/sources needs a transform that joins them`);
  }
  if (spec.sources && Object.keys(spec.sources).some((name) => name.toLowerCase() === 'source')) {
    throw new ApiError(400, 'VALIDATION_FAILED', `${field}/sources/source: "source" is the main dataset's name`);
  }
  if (spec.features?.includes(spec.target)) {
    throw new ApiError(400, 'VALIDATION_FAILED', `${field}/features must not contain the target column "${spec.target}"`);
  }
  for (const [metric, bounds] of Object.entries(spec.gates ?? {})) {
    if (metric === 'maxRegression') {
      for (const [name, drop] of Object.entries(bounds as Record<string, number>)) {
        if (!(drop >= 0)) throw new ApiError(400, 'VALIDATION_FAILED', `${field}/gates/maxRegression/${name} must be >= 0`);
      }
      continue;
    }
    for (const key of Object.keys(bounds as Record<string, number>)) {
      if (key !== 'min' && key !== 'max') {
        throw new ApiError(400, 'VALIDATION_FAILED', `${field}/gates/${metric}/${key} is not allowed (use min or max)`);
      }
    }
  }
  if (spec.trainer?.params && 'seed' in spec.trainer.params && !Number.isInteger(spec.trainer.params.seed)) {
    throw new ApiError(400, 'VALIDATION_FAILED', `${field}/trainer/params/seed must be an integer`);
  }
}

export interface RunSummary {
  id: string;
  model: string;
  status: string;
  stage: string;
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
  args: { spec: RunSpec; principal: Principal; idempotencyKey?: string },
): Promise<{ run: RunSummary; replayed: boolean }> {
  checkRunSpec(args.spec);
  const specHash = runSpecHash(args.spec);
  // Keys are scoped to the caller: two clients choosing the same key do not collide.
  const scopedKey = args.idempotencyKey ? `${args.principal.keyId}:${args.idempotencyKey}` : null;
  if (scopedKey) {
    const existing = await findRunByIdempotencyKey(deps.db, scopedKey);
    if (existing) return replayOrConflict(existing, specHash);
  }
  // With a key the run id derives from it, so even a lost response retried elsewhere maps to one workflow.
  const runId = scopedKey ? `r-${sha256(scopedKey).slice(0, 24)}` : `r-${randomUUID()}`;
  const workflowId = pipelineWorkflowId(args.spec.model, runId);
  try {
    const row = await deps.db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(runs)
        .values({
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
        })
        .returning();
      await writeAudit(tx, {
        actor: args.principal.name,
        actorKeyId: args.principal.keyId,
        role: 'engineer',
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
      return inserted!;
    });
    return { run: toSummary(row), replayed: false };
  } catch (error) {
    if (scopedKey && isUniqueViolation(error)) {
      // A concurrent request with the same key won the race.
      const existing = await findRunByIdempotencyKey(deps.db, scopedKey);
      if (existing) return replayOrConflict(existing, specHash);
    }
    throw error;
  }
}

function replayOrConflict(existing: RunRow, specHash: string): { run: RunSummary; replayed: boolean } {
  if (existing.specHash !== specHash) {
    throw new ApiError(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key was already used for run ${existing.id} with a different body`,
      { runId: existing.id },
    );
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

async function findRunByIdempotencyKey(db: Db, scopedKey: string): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.idempotencyKey, scopedKey)).limit(1);
  return row;
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
  if (filter.status !== undefined && !(RUN_STATUSES as readonly string[]).includes(filter.status)) {
    throw new ApiError(400, 'VALIDATION_FAILED', `querystring/status must be one of ${RUN_STATUSES.join(', ')}`);
  }
  const conditions: SQL[] = [];
  if (filter.model) conditions.push(eq(runs.model, filter.model));
  if (filter.status) conditions.push(eq(runs.status, filter.status as RunStatus));
  const rows = await db
    .select()
    .from(runs)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(runs.createdAt))
    .limit(filter.limit);
  return rows.map(toSummary);
}

export async function getRunRow(db: Db, id: string): Promise<RunRow> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id)).limit(1);
  if (!row) throw new ApiError(404, 'NOT_FOUND', `run ${id} not found`);
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
  const [validation] = await deps.db.select().from(validationReports).where(eq(validationReports.runId, id)).limit(1);
  const [evaluation] = await deps.db.select().from(evaluationReports).where(eq(evaluationReports.runId, id)).limit(1);
  const [version] = await deps.db
    .select({ version: modelVersions.version, status: modelVersions.status, artifactSha256: modelVersions.artifactSha256 })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(eq(modelVersions.runId, id))
    .limit(1);
  const live = await queryStatus(deps.client, row.workflowId);
  return {
    ...toSummary(row),
    spec: row.spec,
    timings: live?.timings ?? null,
    review: live?.review ?? null,
    validation: validation
      ? { reportId: validation.id, passed: validation.passed, summary: validation.summary, report: validation.report }
      : null,
    evaluation: evaluation
      ? { reportId: evaluation.id, gatesPassed: evaluation.gatesPassed, championVersion: evaluation.championVersion, report: evaluation.report }
      : null,
    version: version ?? null,
  };
}

export async function reviewRun(
  deps: RunsDeps,
  args: { id: string; decision: 'approve' | 'reject'; comment?: string; principal: Principal },
): Promise<ReviewResult> {
  const row = await getRunRow(deps.db, args.id);
  if (row.requestedBy !== null && row.requestedBy === args.principal.keyId) {
    throw new ApiError(403, 'REQUESTER_CANNOT_REVIEW', 'the key that started a run cannot review it (four eyes)');
  }
  // The row reaches awaiting_review before the workflow waits, so this answers without a round trip to a worker.
  if (row.status !== 'awaiting_review') {
    throw new ApiError(409, 'NOT_AWAITING_REVIEW', `run ${args.id} is ${row.status} (stage ${row.stage}), not awaiting review`);
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
    if (error instanceof WorkflowUpdateFailedError) {
      const type = (error.cause as { type?: string } | undefined)?.type;
      const message = (error.cause as { message?: string } | undefined)?.message ?? error.message;
      if (type === FAILURE_TYPES.notAwaitingReview) throw new ApiError(409, 'NOT_AWAITING_REVIEW', message);
      if (type === FAILURE_TYPES.requesterCannotReview) throw new ApiError(403, 'REQUESTER_CANNOT_REVIEW', message);
    }
    if (error instanceof WorkflowNotFoundError || isClosedWorkflowError(error)) {
      throw new ApiError(409, 'NOT_AWAITING_REVIEW', `run ${args.id} is ${row.status}, not awaiting review`);
    }
    throw error;
  }
}

function isClosedWorkflowError(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : '';
  return /workflow execution already completed|already completed/i.test(text);
}

const FINISHED: readonly string[] = ['deployed', 'rejected', 'expired', 'data_rejected', 'failed', 'deploy_failed', 'cancelled'];

export async function cancelRun(
  deps: RunsDeps,
  args: { id: string; principal: Principal; role: string },
): Promise<RunSummary> {
  const row = await getRunRow(deps.db, args.id);
  if (FINISHED.includes(row.status)) {
    throw new ApiError(409, 'RUN_FINISHED', `run ${args.id} already ended as ${row.status}`);
  }
  try {
    await deps.client.workflow.getHandle(row.workflowId).cancel();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError || isClosedWorkflowError(error)) {
      throw new ApiError(409, 'RUN_FINISHED', `run ${args.id} has already ended`);
    }
    throw error;
  }
  await writeAudit(deps.db, {
    actor: args.principal.name,
    actorKeyId: args.principal.keyId,
    role: args.role,
    action: 'run.cancel',
    subject: `run:${args.id}`,
    before: { status: row.status, stage: row.stage },
    after: { cancelRequested: true },
  });
  return toSummary(row);
}
