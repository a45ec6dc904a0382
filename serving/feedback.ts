// Feedback (delayed labels) for logged predictions: unknown ids are reported, a second label is refused unless
// overwritten, and each batch is written in one transaction after the whole request was checked.
import type { Db } from '../db/client.js';
import { writeFeedback, type NewFeedback } from '../db/repositories/feedback.js';
import { findLoggedPredictionIds } from '../db/repositories/predictions.js';
import { FeedbackInvalidError, readLabelBatches, type LabelDatasetSettings } from '../data/label-dataset.js';
import { KeelError } from '../errors/keel-error.js';
import type { PredictionLog } from './prediction-log.js';

export { FeedbackInvalidError } from '../data/label-dataset.js';

export type FeedbackTask = 'binary' | 'regression' | 'multiclass';

export interface FeedbackResult {
  /** Labels written (new, or replaced with `overwrite`). */
  accepted: number;
  /** Ids that are not predictions of this model. */
  unknown: string[];
  /** Ids that already had a label (or came twice) and were left as they were. */
  duplicates: string[];
}

export interface FeedbackTarget {
  modelId: string;
  task: FeedbackTask;
}

export interface FeedbackDeps {
  db: Db;
  /** Flushed first, so a prediction still in memory counts as known. */
  predictionLog: PredictionLog;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Delayed labels of multiclass models are not stored yet (no live accuracy for them): refused before anything is read. */
function assertFeedbackTask(task: FeedbackTask): asserts task is 'binary' | 'regression' {
  if (task === 'multiclass') {
    throw new FeedbackInvalidError('feedback labels for multiclass models are not taken yet: live accuracy is not computed for them', {
      field: 'label',
    });
  }
}

/** Checks request items against the model's task: 400 naming the item index and field. */
export function parseFeedbackItems(task: FeedbackTask, items: readonly Record<string, unknown>[]): NewFeedback[] {
  assertFeedbackTask(task);
  return items.map((item, index) => {
    const predictionId = item.predictionId;
    if (typeof predictionId !== 'string' || !UUID.test(predictionId)) {
      throw new FeedbackInvalidError(`items[${index}].predictionId must be a prediction id (uuid)`, { index, field: 'predictionId' });
    }
    const field = task === 'binary' ? 'label' : 'value';
    const other = task === 'binary' ? 'value' : 'label';
    if (other in item) {
      throw new FeedbackInvalidError(`items[${index}].${other} is not taken by a ${task} model; send ${field}`, { index, field: other });
    }
    const raw = item[field];
    if (task === 'binary') {
      const label = raw === true ? 1 : raw === false ? 0 : raw;
      if (label !== 0 && label !== 1) {
        throw new FeedbackInvalidError(`items[${index}].label must be 0 or 1 (or true/false)`, { index, field });
      }
      return { predictionId: predictionId.toLowerCase(), label };
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      throw new FeedbackInvalidError(`items[${index}].value must be a finite number`, { index, field });
    }
    return { predictionId: predictionId.toLowerCase(), label: raw };
  });
}

/** Records checked labels for one model (one transaction). */
export async function recordFeedback(
  deps: FeedbackDeps,
  target: FeedbackTarget,
  labels: readonly NewFeedback[],
  overwrite: boolean,
): Promise<FeedbackResult> {
  await flushLog(deps.predictionLog);
  return recordBatch(deps.db, target, labels, overwrite);
}

/** Records labels read from a dataset file, batch by batch (one transaction each), after checking every row. */
export async function recordFeedbackFromDataset(
  deps: FeedbackDeps & { settings: LabelDatasetSettings },
  target: FeedbackTarget,
  dataset: { path: string; idColumn: string; labelColumn: string },
  overwrite: boolean,
  batchRows = 5000,
): Promise<FeedbackResult> {
  const task = target.task;
  assertFeedbackTask(task);
  await flushLog(deps.predictionLog);
  const total: FeedbackResult = { accepted: 0, unknown: [], duplicates: [] };
  const seen = new Set<string>();
  for await (const batch of readLabelBatches({ ...dataset, task }, deps.settings, batchRows)) {
    // An id repeated across batches is a duplicate of its first occurrence, as within one request.
    const fresh: NewFeedback[] = [];
    for (const label of batch) {
      if (seen.has(label.predictionId) && !overwrite) total.duplicates.push(label.predictionId);
      else fresh.push(label);
      seen.add(label.predictionId);
    }
    const result = await recordBatch(deps.db, target, fresh, overwrite);
    total.accepted += result.accepted;
    total.unknown.push(...result.unknown);
    total.duplicates.push(...result.duplicates);
  }
  return total;
}

/** Predictions still in memory must be in Postgres before ids are looked up there. */
async function flushLog(log: PredictionLog): Promise<void> {
  try {
    await log.flush();
  } catch (error) {
    throw new KeelError('SERVICE_UNAVAILABLE', 'recent predictions cannot be written to Postgres yet; retry shortly', undefined, { cause: error });
  }
}

async function recordBatch(db: Db, target: FeedbackTarget, labels: readonly NewFeedback[], overwrite: boolean): Promise<FeedbackResult> {
  // Within one batch the first label of an id counts, or the last one with `overwrite`.
  const byId = new Map<string, NewFeedback>();
  const duplicates: string[] = [];
  for (const label of labels) {
    if (byId.has(label.predictionId) && !overwrite) duplicates.push(label.predictionId);
    else byId.set(label.predictionId, label);
  }
  return db.transaction(async (tx) => {
    const known = await findLoggedPredictionIds(tx, target.modelId, [...byId.keys()]);
    const unknown = [...byId.keys()].filter((id) => !known.has(id));
    const rows = [...byId.values()].filter((label) => known.has(label.predictionId));
    const written = await writeFeedback(tx, target.modelId, rows, overwrite);
    for (const row of rows) if (!written.has(row.predictionId)) duplicates.push(row.predictionId);
    return { accepted: written.size, unknown, duplicates };
  });
}
