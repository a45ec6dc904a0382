// Use cases behind /v1/models/:name/monitoring: the policy ops set (audited, the monitor told) and the reports.
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/client.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { getModelByName } from '../../db/repositories/models.js';
import { modelNotFound } from '../../db/repositories/registry-errors.js';
import { getMonitoringPolicy, putMonitoringPolicy } from '../../db/repositories/monitoring-policies.js';
import { listMonitoringReports } from '../../db/repositories/monitoring-reports.js';
import type { ModelRow, MonitoringPolicyRow } from '../../db/schema.js';
import { signalMonitoringPolicyChanged } from '../../monitoring/monitor-client.js';
import { durationToMs } from '../../monitoring/duration.js';
import { MAX_POLICY_DURATION_MS, monitoringPolicyWithDefaults, type MonitoringPolicyInput } from '../../monitoring/policy.js';
import { monitoringReportView } from '../../monitoring/report-views.js';
import { KeelError } from '../../errors/keel-error.js';
import { isStorableTime } from '../audit/query-time.js';

/** A monitor waking more often than this would report on windows too small to mean anything. */
const MIN_INTERVAL_MS = 1_000;

async function requireModel(db: Db, name: string): Promise<ModelRow> {
  const model = await getModelByName(db, name);
  if (!model) throw modelNotFound(name);
  return model;
}

function policyView(model: string, row: MonitoringPolicyRow | undefined) {
  return {
    model,
    ...monitoringPolicyWithDefaults((row?.policy ?? {}) as MonitoringPolicyInput),
    updatedBy: row?.updatedBy ?? null,
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

export async function getMonitoringPolicyView(db: Db, name: string) {
  const model = await requireModel(db, name);
  return policyView(model.name, await getMonitoringPolicy(db, model.id));
}

export async function setMonitoringPolicy(
  deps: { db: Db; client?: Client; log?: { warn(object: object, message: string): void } },
  args: { model: string; policy: MonitoringPolicyInput; actor: { actor: string; actorKeyId: string; role: string } },
) {
  // The schema bounds durations given in milliseconds; one given as text ('99999999999w') is bounded here.
  for (const field of ['interval', 'cooldown'] as const) checkPolicyDuration(args.policy[field], field);
  const effective = monitoringPolicyWithDefaults(args.policy);
  if (effective.intervalMs < MIN_INTERVAL_MS) {
    throw new KeelError('VALIDATION_FAILED', `body/interval must be at least ${MIN_INTERVAL_MS} ms`, { field: 'interval' });
  }
  const model = await requireModel(deps.db, args.model);
  const row = await deps.db.transaction(async (tx) => {
    const before = await getMonitoringPolicy(tx, model.id);
    const saved = await putMonitoringPolicy(tx, { modelId: model.id, policy: args.policy, updatedBy: args.actor.actor });
    await writeAudit(tx, {
      ...args.actor,
      action: 'model.monitoring_policy',
      subject: `model:${model.name}`,
      before: before?.policy ?? null,
      after: args.policy,
    });
    return saved;
  });
  // After the commit: the running monitor sleeps the new interval from now on (the next report reads the rest).
  if (deps.client) {
    await signalMonitoringPolicyChanged(deps.client, { model: model.name, intervalMs: effective.intervalMs }).catch((error: unknown) =>
      deps.log?.warn({ err: error, model: model.name }, 'the monitor could not be told of the new policy'),
    );
  }
  return policyView(model.name, row);
}

function checkPolicyDuration(value: string | number | undefined, field: 'interval' | 'cooldown'): void {
  if (value === undefined) return;
  let ms: number;
  try {
    ms = durationToMs(value);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms <= MAX_POLICY_DURATION_MS)) {
    throw new KeelError('VALIDATION_FAILED', `body/${field} must be at most 365 days, got ${JSON.stringify(value)}`, { field });
  }
}

export async function listMonitoringReportViews(db: Db, args: { model: string; from?: string; to?: string; limit: number }) {
  const model = await requireModel(db, args.model);
  const from = parseTime(args.from, 'from');
  const to = parseTime(args.to, 'to');
  if (from && to && from > to) throw new KeelError('VALIDATION_FAILED', 'querystring/from must not be after querystring/to');
  const rows = await listMonitoringReports(db, { modelId: model.id, from, to, limit: args.limit });
  return { model: model.name, reports: rows.map(monitoringReportView) };
}

function parseTime(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (!isStorableTime(time)) throw new KeelError('VALIDATION_FAILED', `querystring/${field} must be an ISO-8601 time in the years 0001–9999`, { field });
  return time;
}
