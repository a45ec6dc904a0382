// Delayed labels: one per prediction, written only for predictions the model's log knows.
import { sql } from 'drizzle-orm';
import { feedback } from '../schema.js';
import { idLookupSql } from './predictions.js';
import type { DbOrTx } from '../client.js';

/** A binary (0/1) or regression label, or a multiclass model's true class by name. */
export type NewFeedback = { predictionId: string; label: number } | { predictionId: string; labelClass: string };

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
  const insert = db.insert(feedback).values(
    rows.map((row) =>
      'labelClass' in row
        ? { predictionId: row.predictionId, modelId, label: null, labelClass: row.labelClass }
        : { predictionId: row.predictionId, modelId, label: row.label, labelClass: null },
    ),
  );
  const written = overwrite
    ? await insert
        .onConflictDoUpdate({
          target: feedback.predictionId,
          set: { label: sql`excluded.label`, labelClass: sql`excluded.label_class`, updatedAt: sql`now()` },
          setWhere: sql`${feedback.modelId} = excluded.model_id`,
        })
        .returning({ id: feedback.predictionId })
    : await insert.onConflictDoNothing({ target: feedback.predictionId }).returning({ id: feedback.predictionId });
  return new Set(written.map((row) => row.id));
}

/** Multiclass: each given prediction's classes (the keys of its logged probabilities), for checking a true class. */
export async function loggedPredictionClasses(db: DbOrTx, modelId: string, ids: readonly string[]): Promise<Map<string, string[]>> {
  if (ids.length === 0) return new Map();
  const result = await db.execute<{ id: string; classes: string[] }>(
    sql`SELECT q.id, ARRAY(SELECT jsonb_object_keys(r.outputs -> (x.i - 1) -> 'probabilities')) AS classes
          FROM ${idLookupSql(modelId, ids)}`,
  );
  return new Map(result.rows.map((row) => [row.id, row.classes]));
}
