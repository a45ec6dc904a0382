// Bookkeeping of runs that no API request created (Temporal Schedules start them).
import type { Db } from '../db/client.js';
import { writeAudit } from '../db/repositories/audit.js';
import { insertScheduledRun } from '../db/repositories/scheduled-runs.js';
import { runSpecHash } from '../runs/run-spec-hash.js';
import { requesterUserOf } from '../workflows/contracts/actor.js';
import type { RegisterScheduledRunInput } from '../workflows/contracts/pipeline-activities.js';

export function createRunActivities({ db }: { db: Db }) {
  return {
    async registerScheduledRun(input: RegisterScheduledRunInput): Promise<void> {
      // Idempotent: a retried local activity finds the row already there, and audits nothing again.
      await db.transaction(async (tx) => {
        const created = await insertScheduledRun(tx, {
          id: input.runId,
          workflowId: input.workflowId,
          model: input.spec.model,
          spec: input.spec,
          specHash: runSpecHash(input.spec),
          requestedBy: input.requestedBy.keyId,
          requestedByName: input.requestedBy.name,
          requestedByUser: requesterUserOf(input.requestedBy) ?? null,
          scheduleId: input.scheduleId,
        });
        if (!created) return;
        // The schedule acted on behalf of the key that created it; no role was exercised at this moment.
        await writeAudit(tx, {
          actor: `schedule:${input.scheduleId}`,
          actorKeyId: input.requestedBy.keyId,
          role: null,
          action: 'run.start',
          subject: `run:${input.runId}`,
          after: { model: input.spec.model, dataset: input.spec.dataset, task: input.spec.task, target: input.spec.target },
          details: { scheduleId: input.scheduleId, scheduleCreatedBy: input.requestedBy.name },
          requestId: input.workflowId,
        });
      });
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
