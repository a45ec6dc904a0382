// Bookkeeping of runs that no API request created (Temporal Schedules start them).
import type { Db } from '../db/client.js';
import { insertScheduledRun } from '../db/repositories/scheduled-runs.js';
import { runSpecHash } from '../runs/run-spec-hash.js';
import { requesterUserOf } from '../workflows/contracts/actor.js';
import type { RegisterScheduledRunInput } from '../workflows/contracts/pipeline-activities.js';

export function createRunActivities({ db }: { db: Db }) {
  return {
    async registerScheduledRun(input: RegisterScheduledRunInput): Promise<void> {
      // Idempotent: a retried local activity finds the row already there.
      await insertScheduledRun(db, {
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
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
