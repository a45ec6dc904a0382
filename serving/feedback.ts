// Feedback (delayed labels) for logged predictions: unknown ids are reported, a second label is refused unless
// overwritten, and each batch is written in one transaction after the whole request was checked.
import type { Db } from '../db/client.js';
import { loggedPredictionClasses, writeFeedback, type NewFeedback } from '../db/repositories/feedback.js';
import { findLoggedPredictionIds } from '../db/repositories/predictions.js';
import { FeedbackInvalidError, MAX_ABS_REGRESSION_LABEL, readLabelBatches, type LabelDatasetSettings } from '../data/label-dataset.js';
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

/** Checks request items against the model's task: 400 naming the item index and field. */
export function parseFeedbackItems(task: FeedbackTask, items: readonly Record<string, unknown>[]): NewFeedback[] {
  return items.map((item, index) => {
    const predictionId = item.predictionId;
    if (typeof predictionId !== 'string' || !UUID.test(predictionId)) {
      throw new FeedbackInvalidError(`items[${index}].predictionId must be a prediction id (uuid)`, { index, field: 'predictionId' });
    }
    const field = task === 'regression' ? 'value' : 'label';
    const other = task === 'regression' ? 'label' : 'value';
    if (other in item) {
      throw new FeedbackInvalidError(`items[${index}].${other} is not taken by a ${task} model; send ${field}`, { index, field: other });
    }
    const raw = item[field];
    const id = predictionId.toLowerCase();
    if (task === 'multiclass') {
      // Class names are strings; a number is taken as its decimal text (classes "0", "1", "2" from an integer target).
      const labelClass = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
      if (typeof labelClass !== 'string' || labelClass.length === 0) {
        throw new FeedbackInvalidError(`items[${index}].label must be the true class's name (a non-empty string)`, { index, field });
      }
      return { predictionId: id, labelClass };
    }
    if (task === 'binary') {
      const label = raw === true ? 1 : raw === false ? 0 : raw;
      if (label !== 0 && label !== 1) {
        throw new FeedbackInvalidError(`items[${index}].label must be 0 or 1 (or true/false)`, { index, field });
      }
      return { predictionId: id, label };
    }
    if (typeof raw !== 'number' || !(Math.abs(raw) <= MAX_ABS_REGRESSION_LABEL)) {
      throw new FeedbackInvalidError(`items[${index}].value must be a finite number within ±${MAX_ABS_REGRESSION_LABEL}`, { index, field });
    }
    return { predictionId: id, label: raw };
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
  return recordBatch(deps.db, target, labels, overwrite, (i) => ({ message: `items[${i}].label`, details: { index: i, field: 'label' } }));
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
  await flushLog(deps.predictionLog);
  const request = { ...dataset, task };
  const where = (row: number): LabelLocation => ({
    message: `file ${JSON.stringify(dataset.path)} row ${row}: ${dataset.labelColumn}`,
    details: { row, field: dataset.labelColumn },
  });
  if (task === 'multiclass') {
    // Whether a class is one of the prediction's is known only in Postgres: check every row before writing any.
    let offset = 0;
    for await (const batch of readLabelBatches(request, deps.settings, batchRows)) {
      await deps.db.transaction((tx) => assertKnownClasses(tx, target.modelId, batch, (i) => where(offset + i)));
      offset += batch.length;
    }
  }
  const total: FeedbackResult = { accepted: 0, unknown: [], duplicates: [] };
  const seen = new Set<string>();
  let offset = 0;
  for await (const batch of readLabelBatches(request, deps.settings, batchRows)) {
    // An id repeated across batches is a duplicate of its first occurrence, as within one request.
    const fresh: NewFeedback[] = [];
    const rowOf: number[] = [];
    batch.forEach((label, i) => {
      if (seen.has(label.predictionId) && !overwrite) total.duplicates.push(label.predictionId);
      else {
        fresh.push(label);
        rowOf.push(offset + i);
      }
      seen.add(label.predictionId);
    });
    const result = await recordBatch(deps.db, target, fresh, overwrite, (i) => where(rowOf[i]!));
    total.accepted += result.accepted;
    total.unknown.push(...result.unknown);
    total.duplicates.push(...result.duplicates);
    offset += batch.length;
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

/** Where a label came from, for the error that refuses it: `items[3].label` or a file's row and column. */
interface LabelLocation {
  message: string;
  details: { index?: number; row?: number; field: string };
}

async function recordBatch(
  db: Db,
  target: FeedbackTarget,
  labels: readonly NewFeedback[],
  overwrite: boolean,
  locate: (index: number) => LabelLocation,
): Promise<FeedbackResult> {
  // Within one batch the first label of an id counts, or the last one with `overwrite`.
  const byId = new Map<string, NewFeedback>();
  const indexOf = new Map<string, number>();
  const duplicates: string[] = [];
  labels.forEach((label, i) => {
    if (byId.has(label.predictionId) && !overwrite) duplicates.push(label.predictionId);
    else {
      byId.set(label.predictionId, label);
      indexOf.set(label.predictionId, i);
    }
  });
  const entries = [...byId.values()];
  return db.transaction(async (tx) => {
    const known =
      target.task === 'multiclass'
        ? await assertKnownClasses(tx, target.modelId, entries, (i) => locate(indexOf.get(entries[i]!.predictionId)!))
        : await findLoggedPredictionIds(tx, target.modelId, [...byId.keys()]);
    const unknown = [...byId.keys()].filter((id) => !known.has(id));
    const rows = [...byId.values()].filter((label) => known.has(label.predictionId));
    const written = await writeFeedback(tx, target.modelId, rows, overwrite);
    for (const row of rows) if (!written.has(row.predictionId)) duplicates.push(row.predictionId);
    return { accepted: written.size, unknown, duplicates };
  });
}

/**
 * Multiclass: every label of a logged prediction must name one of that prediction's classes (its version's), or the
 * request is refused naming the label; returns the ids that are logged predictions of the model.
 */
async function assertKnownClasses(
  tx: Parameters<Parameters<Db['transaction']>[0]>[0],
  modelId: string,
  labels: readonly NewFeedback[],
  locate: (index: number) => LabelLocation,
): Promise<Set<string>> {
  const classesOf = await loggedPredictionClasses(tx, modelId, labels.map((label) => label.predictionId));
  labels.forEach((label, i) => {
    const classes = classesOf.get(label.predictionId);
    const labelClass = 'labelClass' in label ? label.labelClass : String(label.label);
    if (classes !== undefined && !classes.includes(labelClass)) {
      const where = locate(i);
      throw new FeedbackInvalidError(
        `${where.message} ${JSON.stringify(labelClass)} is not a class of the model version that made prediction ${label.predictionId} (its classes: ${classes.join(', ')})`,
        where.details,
      );
    }
  });
  return new Set(classesOf.keys());
}
