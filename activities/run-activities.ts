// Bookkeeping of runs that no API request created (Temporal Schedules start them).
import { createHash } from 'node:crypto';
import type { Db } from '../db/client.js';
import { runs } from '../db/schema.js';
import type { RegisterScheduledRunInput } from '../workflows/contracts/pipeline-activities.js';

export function createRunActivities({ db }: { db: Db }) {
  return {
    async registerScheduledRun(input: RegisterScheduledRunInput): Promise<void> {
      // Idempotent: a retried local activity finds the row already there.
      await db
        .insert(runs)
        .values({
          id: input.runId,
          workflowId: input.workflowId,
          model: input.spec.model,
          spec: input.spec,
          specHash: createHash('sha256').update(JSON.stringify(input.spec)).digest('hex'),
          requestedBy: input.requestedBy.keyId,
          requestedByName: input.requestedBy.name,
          scheduleId: input.scheduleId,
          status: 'running',
          stage: 'queued',
        })
        .onConflictDoNothing({ target: runs.id });
    },
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;
