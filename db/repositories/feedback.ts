// Delayed labels: one per prediction, written only for predictions the model's log knows.
import { sql } from 'drizzle-orm';
import { feedback } from '../schema.js';
import type { DbOrTx } from '../client.js';

export interface NewFeedback {
  predictionId: string;
  label: number;
}

/**
 * Inserts labels; an existing label is kept (`overwrite` false) or replaced (`overwrite` true).
 * Returns the prediction ids whose label was written.
 */
export async function writeFeedback(
  db: DbOrTx,
  modelId: string,
  rows: readonly NewFeedback[],
  overwrite: boolean,
): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const insert = db.insert(feedback).values(rows.map((row) => ({ predictionId: row.predictionId, modelId, label: row.label })));
  const written = overwrite
    ? await insert
        .onConflictDoUpdate({
          target: feedback.predictionId,
          set: { label: sql`excluded.label`, updatedAt: sql`now()` },
          setWhere: sql`${feedback.modelId} = excluded.model_id`,
        })
        .returning({ id: feedback.predictionId })
    : await insert.onConflictDoNothing({ target: feedback.predictionId }).returning({ id: feedback.predictionId });
  return new Set(written.map((row) => row.id));
}
