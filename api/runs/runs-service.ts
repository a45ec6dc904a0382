// Use-cases behind /v1/runs: start (idempotent), list, show, review (four eyes), cancel.
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { msToNumber, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { Db } from '../../db/client.js';
import { findApiKeyUser } from '../../db/repositories/api-keys.js';
import { getApprovalByRunId } from '../../db/repositories/approvals.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { getEvaluationReportByRunId } from '../../db/repositories/evaluation-reports.js';
import { getModelVersionByRunId } from '../../db/repositories/model-versions.js';
import {
  failUnstartedRun,
  getRun,
  getRunByIdempotencyKey,
  insertRun,
  listRecentRuns,
  listUnstartedRuns,
  markRunWorkflowStarted,
} from '../../db/repositories/runs.js';
import { getValidationReportByRunId } from '../../db/repositories/validation-reports.js';
import type { RunRow, RunStage } from '../../db/schema.js';
import type { PipelineInput } from '../../workflows/contracts/pipeline-input.js';
import type { ReviewResult } from '../../workflows/contracts/review.js';
import type { BuiltInTrainerSpec, RunSpec, Task } from '../../workflows/contracts/run-spec.js';
import { reviewUpdate, statusQuery, type PipelineStatus } from '../../workflows/pipeline-messages.js';
import { RUN_STATUSES, type RunStatus } from '../../workflows/run-status.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { TASK_QUEUES } from '../../workflows/task-queues.js';
import { pipelineWorkflowId } from '../../workflows/workflow-ids.js';
import type { Principal } from '../auth/principal.js';
import { KeelError } from '../../errors/keel-error.js';
import { defaultGbdtParams, GBDT_EXECUTION_PARAMS, MAX_GBDT_THREADS, resolveGbdtParams } from '../../ml/gbdt/params.js';
import { defaultLinearParams, resolveLinearParams } from '../../ml/linear/linear-params.js';
import { MIN_CLASSES } from '../../ml/model.js';
import { TrainerParamError } from '../../ml/trainer-param-error.js';
import { isWorkflowClosedOrMissing } from '../errors.js';
import { runSpecHash } from '../../runs/run-spec-hash.js';
import { signReview } from './review-signature.js';
import { readTrainingProgress } from './training-progress-view.js';
import { redactUrl, redactUrlsDeep, redactUrlsIn } from '../../runs/redact-urls.js';

export interface RunsDeps {
  db: Db;
  client: Client;
  taskQueues?: { pipeline: string; training: string };
  /** Longest a review waits for a pipeline worker to take it before 503; default DEFAULT_REVIEW_DEADLINE_MS. */
  reviewDeadlineMs?: number;
  /** KEEL_SIGNING_KEY: reviews are signed with it (the workers verify them by the same key). */
  signingKey?: string;
}

export { canonicalJson } from '../../runs/run-spec-hash.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Checks the schema cannot express; errors name the field. `taskQueues`: the queues this deployment's own workers poll
 * (KEEL_PIPELINE_TASK_QUEUE, KEEL_TRAINING_TASK_QUEUE), refused, like the default names, as an external trainer's.
 */
export function checkRunSpec(spec: RunSpec, field = 'body', taskQueues?: { pipeline: string; training: string }): void {
  // The field stays in the schema because recorded runs carry it; a requester may no longer approve their own run.
  if (spec.policy?.autoApprove === true) {
    throw new KeelError(
      'VALIDATION_FAILED',
      `${field}/policy/autoApprove is not allowed: auto-approval is the model's approval policy, set by ops (PUT /v1/models/${spec.model}/policy)`,
    );
  }
  if (spec.sources && !spec.transform) {
    throw new KeelError('VALIDATION_FAILED', `${field}/sources needs a transform that joins them`);
  }
  if (spec.sources && Object.keys(spec.sources).some((name) => name.toLowerCase() === 'source')) {
    throw new KeelError('VALIDATION_FAILED', `${field}/sources/source: "source" is the main dataset's name`);
  }
  if (spec.features?.includes(spec.target)) {
    throw new KeelError('VALIDATION_FAILED', `${field}/features must not contain the target column "${spec.target}"`);
  }
  if (spec.trainer?.kind === 'external') {
    // Keel's own workers would take the external contract's input as their own and fail it, or train the wrong thing.
    const queue = spec.trainer.taskQueue;
    const own = [...Object.entries(TASK_QUEUES), ...Object.entries(taskQueues ?? {})].find(([, name]) => name === queue);
    if (own) {
      throw new KeelError(
        'VALIDATION_FAILED',
        `${field}/trainer/taskQueue "${queue}" is Keel's own ${own[0]} task queue: name the queue your trainer's worker polls (e.g. "trainers-python")`,
        { field: `${field}/trainer/taskQueue` },
      );
    }
  }
  checkDuration(spec.policy?.approvalTimeout, `${field}/policy/approvalTimeout`);
  if (spec.trainer?.kind === 'external') {
    for (const name of ['timeout', 'heartbeatTimeout', 'scheduleToStartTimeout'] as const) {
      checkDuration(spec.trainer[name], `${field}/trainer/${name}`);
    }
  }
  // Gate keys and values (min/max, maxRegression >= 0) are the schema's: GatesSchema refuses what misses it.
  const seed = spec.trainer?.params?.seed;
  if (seed !== undefined && !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)) {
    throw new KeelError('VALIDATION_FAILED', `${field}/trainer/params/seed must be an integer from 0 to ${MAX_SEED}`, { field: `${field}/trainer/params/seed` });
  }
  // The GBDT's execution setting: refused here rather than failing the run (or every run of a schedule) at train.
  const threads = spec.trainer?.kind === 'gbdt' ? spec.trainer.params?.numThreads : undefined;
  if (threads !== undefined && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_GBDT_THREADS)) {
    throw new KeelError('VALIDATION_FAILED', `${field}/trainer/params/numThreads must be an integer in [1, ${MAX_GBDT_THREADS}]`, {
      field: `${field}/trainer/params/numThreads`,
    });
  }
  if (spec.trainer?.kind === 'gbdt' || spec.trainer?.kind === 'linear') checkBuiltInTrainerParams(spec.trainer, spec.task, `${field}/trainer/params`);
}

/** The trainers' PRNG state is a uint32: a seed past it would only fold onto one of these (and 1e308 is "an integer"). */
const MAX_SEED = 2 ** 32 - 1;

/**
 * Keel's own trainers' parameters, checked as the training will check them (names, types, ranges such as
 * numIterations ≤ 100,000), so a typo is a 400 naming the parameter rather than a run (or every run of a schedule)
 * that fails at training, or, for a value the checks let through, trains for ever.
 */
function checkBuiltInTrainerParams(trainer: BuiltInTrainerSpec, task: Task, field: string): void {
  const params = trainer.params ?? {};
  const known = trainer.kind === 'gbdt' ? [...Object.keys(defaultGbdtParams), ...GBDT_EXECUTION_PARAMS] : Object.keys(defaultLinearParams);
  for (const name of Object.keys(params)) {
    if (name !== 'seed' && !known.includes(name)) {
      throw new KeelError('VALIDATION_FAILED', `${field}/${name} is not a parameter of the ${trainer.kind} trainer (known: ${known.join(', ')}, seed)`, {
        field: `${field}/${name}`,
      });
    }
  }
  // numThreads and seed are checked above; the class count is the data's, so any valid one stands in for it.
  const { numThreads: _numThreads, seed: _seed, ...modelParams } = params;
  const input = { ...modelParams, task, ...(task === 'multiclass' ? { numClass: MIN_CLASSES } : {}) };
  try {
    if (trainer.kind === 'gbdt') resolveGbdtParams(input);
    else resolveLinearParams(input);
  } catch (error) {
    if (!(error instanceof TrainerParamError)) throw error;
    throw new KeelError('VALIDATION_FAILED', `${field}/${error.param}: ${error.message}`, { field: `${field}/${error.param}` });
  }
}

/** Longest duration a run spec may give (Temporal's own limit is far above; anything longer is a typo). */
const MAX_SPEC_DURATION_MS = 366 * 24 * 3_600_000;

/**
 * A duration the workflow hands to Temporal: it must parse as Temporal parses it (the schema's pattern lets through
 * e.g. a tab between number and unit, which Temporal's parser refuses only when the workflow reaches that stage), be at
 * least 1 ms (Temporal reads 0, or what rounds to 0 ns, as "no timeout") and at most a bit over a year (a typo).
 */
function checkDuration(value: string | undefined, field: string): void {
  if (value === undefined) return;
  let ms: number;
  try {
    ms = msToNumber(value as Parameters<typeof msToNumber>[0]);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms >= 1 && ms <= MAX_SPEC_DURATION_MS)) {
    throw new KeelError('VALIDATION_FAILED', `${field} must be a duration from 1 ms to 366 days such as "10 minutes", got "${value}"`, { field });
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
    reason: row.reason === null ? null : redactUrlsIn(row.reason),
    requestedBy: row.requestedByUser ?? row.requestedByName,
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
  principal: Pick<Principal, 'keyId' | 'name' | 'user'>,
  trainingTaskQueue?: string,
): PipelineInput {
  return {
    runId,
    spec,
    requestedBy: { keyId: principal.keyId, name: principal.name, user: principal.user },
    // Only when not the default, so ordinary runs carry no routing detail.
    ...(trainingTaskQueue && trainingTaskQueue !== TASK_QUEUES.training ? { trainingTaskQueue } : {}),
  };
}

export async function startRun(
  deps: RunsDeps,
  args: { spec: RunSpec; principal: Principal; role: string; requestId?: string; idempotencyKey?: string },
): Promise<{ run: RunSummary; replayed: boolean }> {
  checkRunSpec(args.spec, 'body', deps.taskQueues);
  const specHash = runSpecHash(args.spec);
  // Keys are scoped to the caller: two clients choosing the same key do not collide.
  const scopedKey = args.idempotencyKey ? `${args.principal.keyId}:${args.idempotencyKey}` : null;
  if (scopedKey) {
    const existing = await getRunByIdempotencyKey(deps.db, scopedKey);
    if (existing) return replay(deps, existing, specHash);
  }
  // With a key the run id derives from it, so even a lost response retried elsewhere maps to one workflow.
  const runId = scopedKey ? `r-${sha256(scopedKey).slice(0, 24)}` : `r-${randomUUID()}`;
  const workflowId = pipelineWorkflowId(args.spec.model, runId);
  let row: RunRow;
  try {
    // Step 1, a short transaction: the run and its audit row. No Temporal call inside it, so a slow Temporal
    // holds no database connection.
    row = await deps.db.transaction(async (tx) => {
      const inserted = await insertRun(tx, {
        id: runId,
        workflowId,
        model: args.spec.model,
        spec: args.spec,
        specHash,
        idempotencyKey: scopedKey,
        requestedBy: args.principal.keyId,
        requestedByName: args.principal.name,
        requestedByUser: args.principal.user,
        status: 'running',
        stage: 'queued',
        workflowStartedAt: null,
      });
      await writeAudit(tx, {
        actor: args.principal.user,
        actorKeyId: args.principal.keyId,
        role: args.role,
        requestId: args.requestId,
        action: 'run.start',
        subject: `run:${runId}`,
        after: { model: args.spec.model, dataset: args.spec.dataset, task: args.spec.task, target: args.spec.target },
      });
      return inserted;
    });
  } catch (error) {
    if (scopedKey && isUniqueViolation(error)) {
      // A concurrent request with the same key won the race.
      const existing = await getRunByIdempotencyKey(deps.db, scopedKey);
      if (existing) return replay(deps, existing, specHash);
    }
    throw error;
  }
  try {
    // Steps 2 and 3: the workflow, then the stamp that it exists.
    return { run: toSummary(await ensureWorkflowStarted(deps, row)), replayed: false };
  } catch (error) {
    // Without a key no retry can find this row again: say in it why the run never began. (Should the start have
    // reached Temporal after all, the workflow's first progress report sets the row running again.)
    if (!scopedKey) await markNeverStarted(deps.db, row.id, error).catch(() => undefined);
    throw error;
  }
}

/** A repeated Idempotency-Key: the same run, whose workflow is started now if the first attempt died before it. */
async function replay(deps: RunsDeps, existing: RunRow, specHash: string): Promise<{ run: RunSummary; replayed: boolean }> {
  const result = replayOrConflict(existing, specHash);
  if (existing.workflowStartedAt === null) await ensureWorkflowStarted(deps, existing);
  return result;
}

/** Longest the API waits for Temporal to start a workflow before it answers 503 (Temporal slow or down). */
const WORKFLOW_START_DEADLINE_MS = 10_000;

/**
 * Starts the run's workflow unless it exists, then stamps the row. Idempotent: the workflow id derives from the run
 * id, a running workflow with it is used as is, and a closed one is never started again, so however often a request
 * is retried (or repaired) there is one workflow per run.
 */
async function ensureWorkflowStarted(deps: RunsDeps, row: RunRow): Promise<RunRow> {
  if (row.workflowStartedAt !== null) return row;
  const spec = row.spec as RunSpec;
  const requester = { keyId: row.requestedBy ?? '', name: row.requestedByName ?? '', user: row.requestedByUser ?? row.requestedByName ?? '' };
  try {
    await deps.client.withDeadline(Date.now() + WORKFLOW_START_DEADLINE_MS, () =>
      deps.client.workflow.start('pipeline', {
        taskQueue: deps.taskQueues?.pipeline ?? TASK_QUEUES.pipeline,
        workflowId: row.workflowId,
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [pipelineInputFor(row.id, spec, requester, deps.taskQueues?.training)],
        searchAttributes: { [SEARCH_ATTRIBUTES.model]: [spec.model], [SEARCH_ATTRIBUTES.stage]: ['queued'] },
        memo: { spec: specSummary(spec), requestedBy: requester.user },
      }),
    );
  } catch (error) {
    // The run's workflow already ran and closed (REJECT_DUPLICATE): it is this run, not a reason to start another.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return (await markRunWorkflowStarted(deps.db, row.id, new Date())) ?? row;
}

/**
 * Finishes what a killed API left half done: for each run recorded more than `olderThanMs` ago whose workflow was
 * never stamped started, a workflow that exists is stamped; a run with an Idempotency-Key gets its workflow started
 * (what its client's retry would do); one without a key is ended `failed`, since its client saw the request fail
 * and may have started another. Returns what it did, by run id.
 */
export async function repairUnstartedRuns(
  deps: RunsDeps,
  { olderThanMs, limit = 100 }: { olderThanMs: number; limit?: number },
): Promise<Record<string, 'stamped' | 'started' | 'failed'>> {
  const outcome: Record<string, 'stamped' | 'started' | 'failed'> = {};
  for (const row of await listUnstartedRuns(deps.db, new Date(Date.now() - olderThanMs), limit)) {
    if (await workflowExists(deps.client, row.workflowId)) {
      await markRunWorkflowStarted(deps.db, row.id, new Date());
      outcome[row.id] = 'stamped';
    } else if (row.idempotencyKey !== null) {
      await ensureWorkflowStarted(deps, row);
      outcome[row.id] = 'started';
    } else {
      await failUnstartedRun(deps.db, row.id, 'the API stopped before the run\'s workflow started; start the run again', new Date());
      outcome[row.id] = 'failed';
    }
  }
  return outcome;
}

async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function markNeverStarted(db: Db, runId: string, error: unknown): Promise<void> {
  const cause = error instanceof Error ? error.message : String(error);
  await failUnstartedRun(db, runId, `the run's workflow could not be started (${cause}); start the run again`, new Date());
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
    dataset: 'uri' in spec.dataset ? redactUrl(spec.dataset.uri) : `sql:${spec.dataset.connection}`,
    trainer: spec.trainer?.kind ?? 'gbdt',
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
  // A deadline, not a race: the gRPC call (and its retries) ends with the answer, so none outlives the request.
  try {
    return await client.withDeadline(Date.now() + 2_000, () => client.workflow.getHandle(workflowId).query(statusQuery));
  } catch {
    return null;
  }
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
  const spec = row.spec as RunSpec;
  // Only a training heartbeats progress worth showing; other stages answer from the status query alone.
  const progress =
    (live?.stage ?? row.stage) === 'train' && (live?.status ?? row.status) === 'running'
      ? await readTrainingProgress(deps.client, row.workflowId, { task: spec.task, trainerKind: spec.trainer?.kind ?? 'gbdt' })
      : null;
  // The spec and reports keep their dataset URLs for the run itself; what is shown has no tokens or credentials.
  return redactUrlsDeep({
    ...toSummary(row),
    spec: row.spec,
    timings: live?.timings ?? null,
    progress,
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
  });
}

export async function reviewRun(
  deps: RunsDeps,
  args: { id: string; decision: 'approve' | 'reject'; comment?: string; principal: Principal },
): Promise<ReviewResult> {
  const row = await getRunRow(deps.db, args.id);
  // Four eyes per person: no key of the requester's user may review, whichever one started the run.
  const requesterUser = await requesterUserOfRun(deps.db, row);
  if (requesterUser === args.principal.user || (row.requestedBy !== null && row.requestedBy === args.principal.keyId)) {
    throw new KeelError('REQUESTER_CANNOT_REVIEW', `${args.principal.user} started run ${args.id} and cannot review it (four eyes: another person must)`);
  }
  // The row reaches awaiting_review before the workflow waits, so this answers without a round trip to a worker.
  if (row.status !== 'awaiting_review') {
    throw new KeelError('NOT_AWAITING_REVIEW', `run ${args.id} is ${row.status} (stage ${row.stage}), not awaiting review`);
  }
  const signingKey = deps.signingKey;
  if (!signingKey) throw new KeelError('SERVICE_UNAVAILABLE', 'this API process has no review signing key (KEEL_SIGNING_KEY)');
  const reviewer = { keyId: args.principal.keyId, name: args.principal.name };
  const deadlineMs = deps.reviewDeadlineMs ?? DEFAULT_REVIEW_DEADLINE_MS;
  try {
    return await deps.client.withDeadline(Date.now() + deadlineMs, () =>
      deps.client.workflow.getHandle(row.workflowId).executeUpdate(reviewUpdate, {
        args: [
          {
            decision: args.decision,
            comment: args.comment,
            reviewer: { keyId: args.principal.keyId, name: args.principal.name, user: args.principal.user },
            signature: signReview(signingKey, { runId: args.id, user: args.principal.user, decision: args.decision, signedAt: Date.now() }),
          },
        ],
        // One id per reviewer and decision: a retry after a 503 joins the update a returning worker may still apply
        // (and gets its answer) instead of sending a second one.
        updateId: `review/${reviewer.keyId}/${args.decision}`,
      }),
    );
  } catch (error) {
    // The update validator's refusals (typed NOT_AWAITING_REVIEW, REQUESTER_CANNOT_REVIEW) answer 409/403 through
    // the error handler, naming why the gate closed; a run that closed meanwhile is no longer awaiting review.
    if (isWorkflowClosedOrMissing(error)) {
      const ended = await getRunRow(deps.db, args.id).catch(() => row);
      throw new KeelError('NOT_AWAITING_REVIEW', `run ${args.id} has ended (${ended.status}); it no longer takes reviews`, undefined, { cause: error });
    }
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      // Only a running workflow (on a pipeline worker) can take the review; none did in time.
      throw new KeelError(
        'NO_WORKER',
        `no pipeline worker took the review of run ${args.id} within ${deadlineMs / 1000} s (is the pipeline worker running?); ` +
          'retry later: the same review is never applied twice',
        { cause: error },
      );
    }
    throw error;
  }
}

/** How long a review waits for the pipeline worker to take it; then 503 (KEEL_REVIEW_TIMEOUT_MS sets it per process). */
export const DEFAULT_REVIEW_DEADLINE_MS = 15_000;
/** The Retry-After of that 503: long enough for a restarted worker to come back. */
export const REVIEW_RETRY_AFTER_SECONDS = 10;

/** The run's requester's user: stored on the run, else its key's user (rows from before users), else its recorded name. */
async function requesterUserOfRun(db: Db, row: RunRow): Promise<string | null> {
  if (row.requestedByUser) return row.requestedByUser;
  if (row.requestedBy) return (await findApiKeyUser(db, row.requestedBy)) ?? row.requestedByName;
  return row.requestedByName;
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
    actor: args.principal.user,
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
