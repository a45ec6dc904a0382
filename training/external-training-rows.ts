// What Keel hands an external trainer besides the snapshot: every row's part (train / valid / holdout, the run's
// stable split) and its encoded label, as a small Parquet file in the artifact store, so a trainer in any language
// trains on exactly the rows Keel's evaluation will not score and encodes the target exactly as Keel does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { openDuckDb } from '../data/duckdb-session.js';
import { columnKind } from '../data/profile-snapshot.js';
import { splitForRun } from '../data/split-assignment.js';
import { quoteString } from '../data/sql-literal.js';
import { describeParquet, loadTrainingData, TrainingDataError } from '../data/training-data.js';
import type { ContractFeature, ExternalTrainingRows, PrepareExternalTrainingInput } from '../workflows/contracts/training-contract.js';
import { asTrainingFailure } from './train-model.js';

export const PART_CODES = { train: 0, valid: 1, holdout: 2 } as const;

export async function prepareExternalTrainingRows(
  artifacts: ArtifactStore,
  input: PrepareExternalTrainingInput,
  signal?: AbortSignal,
): Promise<ExternalTrainingRows> {
  try {
    return await prepare(artifacts, input, signal);
  } catch (error) {
    throw asTrainingFailure(error);
  }
}

async function prepare(artifacts: ArtifactStore, input: PrepareExternalTrainingInput, signal?: AbortSignal): Promise<ExternalTrainingRows> {
  const snapshotPath = await artifacts.localPath(input.snapshotSha256);
  // The same reading as Keel's own trainer: feature checks, label encoding, unusable features.
  const data = await loadTrainingData(snapshotPath, { target: input.target, task: input.task, features: input.features }, { signal });
  signal?.throwIfAborted();
  const rowCount = data.dataset.rowCount;
  const split = await splitForRun(snapshotPath, { ...input, features: data.features, rowCount });
  if (split.train.length === 0 || split.valid.length === 0 || split.holdout.length === 0) {
    throw new TrainingDataError(
      `the snapshot has ${rowCount} rows, split into ${split.train.length} training, ${split.valid.length} validation and ` +
        `${split.holdout.length} holdout rows; every part needs at least one row: add rows`,
    );
  }
  const parts = new Uint8Array(rowCount);
  for (const row of split.valid) parts[row] = PART_CODES.valid;
  for (const row of split.holdout) parts[row] = PART_CODES.holdout;

  const types = new Map((await describeParquet(snapshotPath)).map((column) => [column.name, column.type]));
  const features: ContractFeature[] = data.features.map((name) => {
    const sourceType = types.get(name)!;
    const kind = columnKind(sourceType);
    return { name, kind: kind === 'categorical' || kind === 'other' ? 'categorical' : 'numeric', sourceType };
  });
  const rows = await storeRowsParquet(artifacts, parts, data.dataset.label!, signal);
  return {
    rows,
    rowCount,
    trainRows: split.train.length,
    validRows: split.valid.length,
    holdoutRows: split.holdout.length,
    features,
    labelClasses: data.labelClasses,
    split: split.resolved,
    ignoredFeatures: data.ignoredFeatures,
  };
}

/** `part` UTINYINT and `label` DOUBLE per row, in row order, written by DuckDB and stored content-addressed. */
async function storeRowsParquet(
  artifacts: ArtifactStore,
  parts: Uint8Array,
  labels: Float64Array,
  signal?: AbortSignal,
): Promise<{ sha256: string; uri: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-external-rows-'));
  const session = await openDuckDb({ threads: 1 });
  try {
    const { connection } = session;
    await connection.run('CREATE TABLE rows (part UTINYINT NOT NULL, label DOUBLE NOT NULL)');
    const appender = await connection.createAppender('rows');
    for (let row = 0; row < parts.length; row++) {
      appender.appendUTinyInt(parts[row]!);
      appender.appendDouble(labels[row]!);
      appender.endRow();
      if ((row & 0xffff) === 0xffff) signal?.throwIfAborted();
    }
    appender.closeSync();
    const file = join(dir, 'rows.parquet');
    // One thread and insertion order: the file's rows are the snapshot's rows in order.
    await connection.run(`COPY (SELECT part, label FROM rows) TO ${quoteString(file)} (FORMAT parquet)`);
    const stored = await artifacts.putFile(file, { extension: '.parquet', move: true });
    return { sha256: stored.sha256, uri: stored.uri };
  } finally {
    session.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads the `part` column back (verification and tests). */
export async function readParts(path: string): Promise<Uint8Array> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const reader = await session.connection.runAndReadAll(`SELECT part FROM read_parquet(${quoteString(path)})`);
    return Uint8Array.from(reader.getRowsJS().map((row) => Number(row[0])));
  } finally {
    session.close();
  }
}

/** An external trainer's predictions on the holdout rows, by snapshot row. */
export interface HoldoutPredictions {
  /** Snapshot row → offset into `values` (× K for multiclass). */
  offsetOfRow: Map<number, number>;
  values: Float64Array;
  width: number;
}

/**
 * Reads the trainer's predictions Parquet (`row` BIGINT, `prediction` DOUBLE or LIST(DOUBLE) of `width` values).
 * Throws TrainingDataError naming what is wrong: a missing column, a row twice, a list of the wrong length.
 */
export async function readHoldoutPredictions(path: string, width: number): Promise<HoldoutPredictions> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const { connection } = session;
    const relation = `read_parquet(${quoteString(path)})`;
    let rows: unknown[][];
    try {
      const select = width === 1 ? `SELECT "row"::BIGINT, "prediction"::DOUBLE FROM ${relation}` : `SELECT "row"::BIGINT, "prediction"::DOUBLE[] FROM ${relation}`;
      rows = (await connection.runAndReadAll(select)).getRowsJS();
    } catch (error) {
      throw new TrainingDataError(`the holdout predictions are not a Parquet file with "row" and "prediction" columns: ${(error as Error).message}`);
    }
    const values = new Float64Array(rows.length * width);
    const offsetOfRow = new Map<number, number>();
    rows.forEach(([row, prediction], index) => {
      const rowNumber = Number(row);
      if (offsetOfRow.has(rowNumber)) throw new TrainingDataError(`the holdout predictions list row ${rowNumber} twice`);
      offsetOfRow.set(rowNumber, index * width);
      if (width === 1) {
        values[index] = prediction === null ? Number.NaN : Number(prediction);
        return;
      }
      const list = (prediction as { items?: unknown[] } | unknown[] | null) ?? [];
      const items = Array.isArray(list) ? list : (list.items ?? []);
      if (items.length !== width) {
        throw new TrainingDataError(`the holdout prediction of row ${rowNumber} has ${items.length} class probabilities, the model has ${width} classes`);
      }
      items.forEach((item, k) => (values[index * width + k] = item === null ? Number.NaN : Number(item)));
    });
    return { offsetOfRow, values, width };
  } finally {
    session.close();
  }
}

/** The predictions of `rows` in that order (NaN where the trainer gave none, so a parity check fails on it). */
export function predictionsOfRows(predictions: HoldoutPredictions, rows: ArrayLike<number>): Float64Array {
  const { width } = predictions;
  const out = new Float64Array(rows.length * width).fill(Number.NaN);
  for (let i = 0; i < rows.length; i++) {
    const offset = predictions.offsetOfRow.get(rows[i]!);
    if (offset === undefined) continue;
    for (let k = 0; k < width; k++) out[i * width + k] = predictions.values[offset + k]!;
  }
  return out;
}
