// Nightly retrains as Temporal Schedules (overlap: skip), not cron in a process.
import { ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import { ScheduleAlreadyRunning } from '@temporalio/client';
import type { Db } from '../../db/client.js';
import type { PipelineInput } from '../../workflows/contracts/pipeline-input.js';
import type { RunSpec } from '../../workflows/contracts/run-spec.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { TASK_QUEUES } from '../../workflows/task-queues.js';
import { scheduledWorkflowIdPrefix } from '../../workflows/workflow-ids.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { hasRole, type Principal } from '../auth/principal.js';
import { requesterUserOf } from '../../workflows/contracts/actor.js';
import { KeelError } from '../../errors/keel-error.js';
import { grpcStatusOf, GrpcStatus } from '../errors.js';
import { checkRunSpec, specSummary } from '../runs/runs-service.js';

export interface SchedulesDeps {
  db: Db;
  client: Client;
  taskQueues?: { pipeline: string; training: string };
}

export interface ScheduleView {
  id: string;
  cron: string[];
  model: string | null;
  paused: boolean;
  note: string | null;
  nextRunAt: string[];
  recentRuns: { workflowId: string; scheduledAt: string }[];
}

/**
 * Keel's own schedules carry this prefix in Temporal (the API's schedule `id` is what follows it). Nothing else in a
 * shared namespace is listed, changed or deleted through the API.
 */
export const KEEL_SCHEDULE_PREFIX = 'keel-';

export function temporalScheduleId(id: string): string {
  return `${KEEL_SCHEDULE_PREFIX}${id}`;
}

/** A 5-field cron (or an @-macro); Temporal parses it, this catches the obvious mistakes with a clear message. */
const CRON_PATTERN = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;

export async function createSchedule(
  deps: SchedulesDeps,
  args: { id: string; cron: string; run: RunSpec; principal: Principal; role: string; requestId?: string },
): Promise<ScheduleView> {
  const cron = args.cron.trim();
  if (!CRON_PATTERN.test(cron)) {
    throw new KeelError('VALIDATION_FAILED', `body/cron must be a 5-field cron expression such as "0 2 * * *", got "${args.cron}"`);
  }
  checkRunSpec(args.run, 'body/run', deps.taskQueues);
  const input: PipelineInput = {
    spec: args.run,
    scheduleId: args.id,
    // The schedule's owner is the requester of every run it starts (four eyes: the owner never reviews them).
    requestedBy: { keyId: args.principal.keyId, name: args.principal.name, user: args.principal.user },
    ...(deps.taskQueues && deps.taskQueues.training !== TASK_QUEUES.training ? { trainingTaskQueue: deps.taskQueues.training } : {}),
  };
  try {
    await deps.client.schedule.create({
      scheduleId: temporalScheduleId(args.id),
      spec: { cronExpressions: [cron] },
      action: {
        type: 'startWorkflow',
        workflowType: 'pipeline',
        // Temporal appends the scheduled time, so each run gets its own id under this prefix.
        workflowId: scheduledWorkflowIdPrefix(args.run.model, args.id),
        taskQueue: deps.taskQueues?.pipeline ?? TASK_QUEUES.pipeline,
        args: [input],
        memo: { spec: specSummary(args.run), requestedBy: args.principal.user, scheduleId: args.id },
        searchAttributes: { [SEARCH_ATTRIBUTES.model]: [args.run.model], [SEARCH_ATTRIBUTES.stage]: ['queued'] },
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { model: args.run.model, createdBy: args.principal.user },
      state: { note: `created by ${args.principal.user}` },
    });
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) {
      throw new KeelError('CONFLICT', `schedule ${args.id} already exists`);
    }
    if (grpcStatusOf(error) === GrpcStatus.INVALID_ARGUMENT) {
      throw new KeelError('VALIDATION_FAILED', `body/cron was refused by Temporal: ${(error as Error).message}`);
    }
    throw error;
  }
  await writeAudit(deps.db, {
    actor: args.principal.user,
    actorKeyId: args.principal.keyId,
    role: args.role,
    requestId: args.requestId,
    action: 'schedule.create',
    subject: `schedule:${args.id}`,
    after: { cron, run: specSummary(args.run) },
  });
  return describeSchedule(deps, args.id);
}

function fromDescription(id: string, description: ScheduleDescription | ScheduleSummary): ScheduleView {
  const memo = (description.memo ?? {}) as { model?: string };
  return {
    id,
    cron: cronOf(description),
    model: memo.model ?? null,
    paused: description.state.paused,
    note: description.state.note ?? null,
    nextRunAt: description.info.nextActionTimes.map((time) => time.toISOString()),
    recentRuns: description.info.recentActions.map((action) => ({
      workflowId: 'workflow' in action.action ? action.action.workflow.workflowId : '',
      scheduledAt: action.scheduledAt.toISOString(),
    })),
  };
}

/** Temporal stores cron as calendar specs; give back the comment it keeps, or a readable form. */
function cronOf(description: ScheduleDescription | ScheduleSummary): string[] {
  return (description.spec?.calendars ?? []).map((calendar) =>
    calendar.comment && calendar.comment !== '' ? calendar.comment : JSON.stringify(calendar),
  );
}

export async function describeSchedule(deps: SchedulesDeps, id: string): Promise<ScheduleView> {
  const description = await deps.client.schedule.getHandle(temporalScheduleId(id)).describe();
  return fromDescription(id, description);
}

export async function listSchedules(deps: SchedulesDeps): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const summary of deps.client.schedule.list({ pageSize: 100 })) {
    if (!summary.scheduleId.startsWith(KEEL_SCHEDULE_PREFIX)) continue;
    views.push(fromDescription(summary.scheduleId.slice(KEEL_SCHEDULE_PREFIX.length), summary));
  }
  return views.sort((a, b) => a.id.localeCompare(b.id));
}

export type ScheduleAction = 'pause' | 'unpause' | 'trigger';

export async function changeSchedule(
  deps: SchedulesDeps,
  args: { id: string; action: ScheduleAction; principal: Principal; role: string; requestId?: string; note?: string },
): Promise<ScheduleView> {
  const handle = deps.client.schedule.getHandle(temporalScheduleId(args.id));
  const before = await handle.describe();
  const note = args.note ?? `${args.action}d by ${args.principal.user}`;
  if (args.action === 'pause') await handle.pause(note);
  if (args.action === 'unpause') await handle.unpause(note);
  if (args.action === 'trigger') await triggerAsRequester(deps, args.id, before, args.principal);
  await writeAudit(deps.db, {
    actor: args.principal.user,
    actorKeyId: args.principal.keyId,
    role: args.role,
    requestId: args.requestId,
    action: `schedule.${args.action}`,
    subject: `schedule:${args.id}`,
    before: { paused: before.state.paused },
    after: args.action === 'trigger' ? { triggered: true } : { paused: args.action === 'pause' },
  });
  return describeSchedule(deps, args.id);
}

/**
 * A manual trigger starts the schedule's run now with the triggering user as its requester (four eyes: that user
 * cannot review it), under the schedule's id prefix; Temporal's own trigger would start it as the schedule's owner.
 */
async function triggerAsRequester(deps: SchedulesDeps, id: string, description: ScheduleDescription, principal: Principal): Promise<void> {
  const action = description.action;
  const input = action.type === 'startWorkflow' ? (action.args?.[0] as PipelineInput | undefined) : undefined;
  if (action.type !== 'startWorkflow' || !input?.spec) throw new KeelError('CONFLICT', `schedule ${id} does not start a pipeline run`);
  await deps.client.workflow.start('pipeline', {
    taskQueue: action.taskQueue,
    workflowId: `${action.workflowId}-manual-${new Date().toISOString()}`,
    args: [{ ...input, requestedBy: { keyId: principal.keyId, name: principal.name, user: principal.user } }],
    memo: { spec: specSummary(input.spec), requestedBy: principal.user, scheduleId: id, trigger: 'manual' },
    searchAttributes: { [SEARCH_ATTRIBUTES.model]: [input.spec.model], [SEARCH_ATTRIBUTES.stage]: ['queued'] },
  });
}

/** The user whose runs the schedule starts (its creator), from the action's input, else the schedule's memo. */
function scheduleOwner(description: ScheduleDescription): string | null {
  const action = description.action;
  const input = action.type === 'startWorkflow' ? (action.args?.[0] as PipelineInput | undefined) : undefined;
  const fromInput = input?.requestedBy ? requesterUserOf(input.requestedBy) : undefined;
  return fromInput ?? (description.memo as { createdBy?: string } | undefined)?.createdBy ?? null;
}

export async function deleteSchedule(
  deps: SchedulesDeps,
  args: { id: string; principal: Principal; role: string; requestId?: string },
): Promise<void> {
  const handle = deps.client.schedule.getHandle(temporalScheduleId(args.id));
  const before = await handle.describe();
  const owner = scheduleOwner(before);
  // Only the owner or ops (admin passes as ops, as on every route) may delete: another engineer may not.
  if (!hasRole(args.principal, 'ops') && args.principal.user !== owner) {
    throw new KeelError('FORBIDDEN', `schedule ${args.id} belongs to ${owner ?? 'an unknown owner'}; only its owner or ops may delete it`, {
      owner,
    });
  }
  await handle.delete();
  await writeAudit(deps.db, {
    actor: args.principal.user,
    actorKeyId: args.principal.keyId,
    role: args.role,
    requestId: args.requestId,
    action: 'schedule.delete',
    subject: `schedule:${args.id}`,
    before: { paused: before.state.paused, model: (before.memo as { model?: string } | undefined)?.model ?? null },
  });
}
