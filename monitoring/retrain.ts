// A breach's retraining run: the production version's run spec again, on the source re-read, requested by the
// system (so any reviewer may review it), deduplicated by workflow id `retrain/<model>/<window>`.
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Db } from '../db/client.js';
import { writeAudit } from '../db/repositories/audit.js';
import { getAliasVersion, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { setMonitoringReportRetrain } from '../db/repositories/monitoring-reports.js';
import { findOpenRunOf, getRun, insertRunOnce } from '../db/repositories/runs.js';
import { runSpecHash } from '../runs/run-spec-hash.js';
import type { StartRetrainInput, StartRetrainResult } from '../workflows/contracts/monitor-activities.js';
import type { PipelineInput } from '../workflows/contracts/pipeline-input.js';
import type { RunSpec } from '../workflows/contracts/run-spec.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { TASK_QUEUES } from '../workflows/task-queues.js';
import { retrainRunId, retrainWorkflowId } from '../workflows/workflow-ids.js';
import type { RetrainDecision } from './compute-report.js';

/** Who asks for a retrain: no key, so the four-eyes rule lets any reviewer decide. */
export const MONITOR_REQUESTER = { keyId: null, name: 'system:monitor' } as const;

export interface StartRetrainDeps {
  db: Db;
  client: Client;
  /** Task queue the pipeline workflow runs on. */
  taskQueue?: string;
  /** Task queue of the training activity, when not the default. */
  trainingTaskQueue?: string;
}

export async function startRetrain(deps: StartRetrainDeps, input: StartRetrainInput): Promise<StartRetrainResult> {
  const { db } = deps;
  const runId = retrainRunId(input.model, input.windowEnd);
  const workflowId = retrainWorkflowId(input.model, input.windowEnd);
  const skip = async (reason: string): Promise<StartRetrainResult> => {
    const decision: RetrainDecision = { action: 'skipped', reason };
    if (input.reportId) await setMonitoringReportRetrain(db, input.reportId, decision);
    return { started: false, runId: null, workflowId: null, reason };
  };

  const model = await getModelByName(db, input.model);
  const version = model ? await getAliasVersion(db, model.id, PRODUCTION_ALIAS) : null;
  const versionRow = model && version !== null ? await getModelVersion(db, model.id, version) : undefined;
  if (!model || !versionRow) return skip(`model "${input.model}" has no production version to retrain`);
  const sourceRun = await getRun(db, versionRow.runId);
  if (!sourceRun) return skip(`the run ${versionRow.runId} that produced version ${version} has no stored spec`);

  // Never two retrains of one model at once (a retried attempt finds its own run and carries on).
  const running = await findOpenRunOf(db, input.model, MONITOR_REQUESTER.name);
  if (running && running.id !== runId) return skip(`retrain run ${running.id} of "${input.model}" has not finished yet`);

  const spec = retrainSpec(sourceRun.spec as RunSpec);
  const reason = `drift breach in the window ending ${input.windowEnd}: retraining version ${version}'s spec on fresh data`;
  const pipelineInput: PipelineInput = {
    runId,
    spec,
    requestedBy: { ...MONITOR_REQUESTER },
    ...(deps.trainingTaskQueue && deps.trainingTaskQueue !== TASK_QUEUES.training ? { trainingTaskQueue: deps.trainingTaskQueue } : {}),
  };
  await db.transaction(async (tx) => {
    const inserted = await insertRunOnce(tx, {
      id: runId,
      workflowId,
      model: input.model,
      spec,
      specHash: runSpecHash(spec),
      requestedBy: null,
      requestedByName: MONITOR_REQUESTER.name,
      status: 'running',
      stage: 'queued',
    });
    if (inserted) {
      await writeAudit(tx, {
        actor: MONITOR_REQUESTER.name,
        actorKeyId: null,
        role: null,
        action: 'run.start',
        subject: `run:${runId}`,
        after: { model: input.model, reason, fromVersion: version, fromRun: sourceRun.id, reportId: input.reportId },
      });
    }
    try {
      await deps.client.workflow.start('pipeline', {
        taskQueue: deps.taskQueue ?? TASK_QUEUES.pipeline,
        workflowId,
        // A retrain of this window that already ended is not started again.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [pipelineInput],
        searchAttributes: { [SEARCH_ATTRIBUTES.model]: [input.model], [SEARCH_ATTRIBUTES.stage]: ['queued'] },
        memo: { requestedBy: MONITOR_REQUESTER.name, reason },
      });
    } catch (error) {
      // Started by an earlier attempt: the workflow id is the deduplication.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  });
  const decision: RetrainDecision = { action: 'started', runId, workflowId, reason };
  if (input.reportId) await setMonitoringReportRetrain(db, input.reportId, decision);
  return { started: true, runId, workflowId, reason };
}

/**
 * The production run's spec, but a person reviews the result: a retrain the system started on its own never
 * deploys itself, whatever the original run's policy said (its approval timeout stays).
 */
export function retrainSpec(spec: RunSpec): RunSpec {
  return { ...spec, policy: { ...spec.policy, autoApprove: false } };
}
