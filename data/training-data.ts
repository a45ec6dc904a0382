// Turns a Parquet snapshot into the trainer's columnar dataset: picks the features, encodes the target as a
// label, and checks both, so a bad spec fails with a message naming the column instead of deep in a trainer.
// Evaluation uses the same function on the same snapshot, so both see identical labels.
import type { Column, ColumnarDataset } from '../ml/dataset.js';
import { MAX_CLASSES, MIN_CLASSES, type Task } from '../ml/model.js';
import { openDuckDb } from './duckdb-session.js';
import { decodeColumn, decodeColumns, isTextCodes, readCodedColumnsWith, type CodedColumn, type CodedDataset, type ReadColumnsOptions } from './read-snapshot-columns.js';
import { quoteString } from './sql-literal.js';
import { KeelError } from '../errors/keel-error.js';

/** A problem with the spec or the data that no retry can fix. */
export class TrainingDataError extends KeelError {
  constructor(
    message: string,
    readonly column?: string,
  ) {
    super('TRAINING_FAILED', message, column === undefined ? undefined : { column });
  }
}

export interface TrainingDataSpec {
  target: string;
  task: Task;
  /** Feature columns; default every column but the target, in snapshot order. */
  features?: string[];
}

export interface TrainingData {
  /** All rows of the snapshot, with `label` set. */
  dataset: ColumnarDataset;
  /** Feature names in model order. */
  features: string[];
  /**
   * For a text binary target: `[negative, positive]` in code-point order (the larger value is label 1, as in
   * scikit-learn's LabelEncoder). For a multiclass target: every class, label k = classes[k] (text in code-point
   * order, integers in numeric order, written as decimal strings). Null for numeric and boolean binary targets and
   * for regression, whose labels are the values themselves.
   */
  labelClasses: string[] | null;
  /** Features no trainer can use (entirely missing, or one value on every row): kept in the schema, never split on. */
  ignoredFeatures: { name: string; reason: string }[];
}

export async function describeParquet(path: string): Promise<{ name: string; type: string }[]> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const described = await session.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(path)})`);
    return described.getRowsJS().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
  } finally {
    session.close();
  }
}

/** `TrainingData` with text features still coded: what the train stage keeps until it selects its parts' rows. */
export type CodedTrainingData = Omit<TrainingData, 'dataset'> & { dataset: CodedDataset & { label: Float64Array } };

export async function loadTrainingData(
  snapshotPath: string,
  spec: TrainingDataSpec,
  reading: Pick<ReadColumnsOptions, 'signal' | 'onRows'> = {},
): Promise<TrainingData> {
  const { dataset, ...data } = await loadCodedTrainingData(snapshotPath, spec, reading);
  return { ...data, dataset: { rowCount: dataset.rowCount, columns: decodeColumns(dataset.columns), label: dataset.label } };
}

/** `loadTrainingData`, text features left as codes (`selectCodedRows` decodes only the rows a part takes). */
export async function loadCodedTrainingData(
  snapshotPath: string,
  spec: TrainingDataSpec,
  reading: Pick<ReadColumnsOptions, 'signal' | 'onRows'> = {},
): Promise<CodedTrainingData> {
  // One DuckDB session for the checks and the read: opening one costs tens of milliseconds.
  const session = await openDuckDb({ threads: 1 });
  let read: CodedDataset;
  let features: string[];
  try {
    const described = await session.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(snapshotPath)})`);
    const columns = described.getRowsJS().map((row) => ({ name: String(row[0]) }));
    features = checkedFeatures(spec, columns);
    // The target is read like a feature (text stays text) and encoded here, where its values can be checked.
    read = await readCodedColumnsWith(session.connection, snapshotPath, { features: [...features, spec.target], ...reading });
  } finally {
    session.close();
  }
  const featureColumns: Record<string, CodedColumn> = {};
  for (const name of features) featureColumns[name] = read.columns[name];
  const { label, labelClasses } = encodeLabel(spec.target, spec.task, decodeColumn(read.columns[spec.target]));
  const ignoredFeatures = features.flatMap((name) => {
    const reason = unusableReason(featureColumns[name]);
    return reason === null ? [] : [{ name, reason }];
  });
  return { dataset: { rowCount: read.rowCount, columns: featureColumns, label }, features, labelClasses, ignoredFeatures };
}

/** The features to train on (default: every column but the target), refused with a message naming the column. */
function checkedFeatures(spec: TrainingDataSpec, columns: { name: string }[]): string[] {
  const names = new Set(columns.map((c) => c.name));
  if (!names.has(spec.target)) throw new TrainingDataError(`target column "${spec.target}" is not in the snapshot`, spec.target);
  const features = spec.features ?? columns.map((c) => c.name).filter((name) => name !== spec.target);
  if (features.length === 0) throw new TrainingDataError('there are no feature columns besides the target');
  const seen = new Set<string>();
  for (const name of features) {
    if (!names.has(name)) throw new TrainingDataError(`feature "${name}" is not a column of the snapshot`, name);
    if (name === spec.target) throw new TrainingDataError(`feature "${name}" is the target itself`, name);
    if (seen.has(name)) throw new TrainingDataError(`feature "${name}" is listed twice`, name);
    seen.add(name);
  }
  return features;
}

/** Why a feature column carries no signal (every value missing, or one value and no missing), or null. */
export function unusableReason(column: Column | CodedColumn): string | null {
  if (!Array.isArray(column) && isTextCodes(column)) return unusableCodesReason(column.codes, column.dictionary);
  let first: number | string | null | undefined;
  let missing = 0;
  for (let i = 0; i < column.length; i++) {
    const value = column[i];
    const isMissing = value === null || (typeof value === 'number' && Number.isNaN(value));
    if (isMissing) missing++;
    else if (first === undefined) first = value;
    else if (value !== first) return null;
  }
  if (first === undefined) return 'entirely missing';
  return missing === 0 ? `constant (${String(first)})` : null;
}

function unusableCodesReason(codes: Int32Array, dictionary: string[]): string | null {
  let first = -1;
  let missing = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code < 0) missing++;
    else if (first < 0) first = code;
    else if (code !== first) return null;
  }
  if (first < 0) return 'entirely missing';
  return missing === 0 ? `constant (${dictionary[first]})` : null;
}

export function encodeLabel(target: string, task: Task, column: Column): { label: Float64Array; labelClasses: string[] | null } {
  if (task === 'multiclass') return encodeMulticlassLabel(target, column);
  const n = column.length;
  if (column instanceof Float64Array) {
    for (let i = 0; i < n; i++) {
      const y = column[i];
      if (!Number.isFinite(y)) {
        throw new TrainingDataError(`target "${target}" has a missing or non-finite value at row ${i}; drop or fill those rows`, target);
      }
      if (task === 'binary' && y !== 0 && y !== 1) {
        throw new TrainingDataError(`target "${target}" is not binary: row ${i} is ${y}, expected 0/1 or true/false`, target);
      }
    }
    if (task === 'binary') {
      let ones = 0;
      for (let i = 0; i < n; i++) ones += column[i];
      if (ones === 0 || ones === n) {
        throw new TrainingDataError(`binary target "${target}" has one class: ${ones === 0 ? 0 : 1} (${n} rows); a binary target needs rows of both classes`, target);
      }
    }
    return { label: column.slice(), labelClasses: null };
  }
  if (task === 'regression') throw new TrainingDataError(`target "${target}" is text; a regression target must be numeric`, target);
  const distinct = new Set<string>();
  for (let i = 0; i < n; i++) {
    const value = column[i];
    if (value === null) throw new TrainingDataError(`target "${target}" is missing at row ${i}; drop or fill those rows`, target);
    distinct.add(value);
    if (distinct.size > 2) {
      const shown = [...distinct].map((v) => JSON.stringify(v)).join(', ');
      throw new TrainingDataError(`target "${target}" is not binary: it has more than two values (${shown}, …)`, target);
    }
  }
  if (distinct.size < 2) {
    const only = [...distinct][0];
    const shown = only === undefined ? 'no values' : `one class: ${only} (${n} rows)`;
    throw new TrainingDataError(`binary target "${target}" has ${shown}; a binary target needs rows of both classes`, target);
  }
  const [negative, positive] = [...distinct].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) as [string, string];
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) label[i] = column[i] === positive ? 1 : 0;
  return { label, labelClasses: [negative, positive] };
}

/** The rows at `indices` (e.g. one part of splitRows) as a new dataset. */
export function selectRows(data: ColumnarDataset, indices: Uint32Array): ColumnarDataset {
  const columns: Record<string, Column> = {};
  for (const [name, column] of Object.entries(data.columns)) {
    if (column instanceof Float64Array) {
      const out = new Float64Array(indices.length);
      for (let i = 0; i < indices.length; i++) out[i] = column[indices[i]];
      columns[name] = out;
    } else {
      const out = new Array<string | null>(indices.length);
      for (let i = 0; i < indices.length; i++) out[i] = column[indices[i]];
      columns[name] = out;
    }
  }
  let label: Float64Array | undefined;
  if (data.label !== undefined) {
    label = new Float64Array(indices.length);
    for (let i = 0; i < indices.length; i++) label[i] = data.label[indices[i]];
  }
  return label === undefined ? { rowCount: indices.length, columns } : { rowCount: indices.length, columns, label };
}

/**
 * A multiclass target: text or integer values, 3 to MAX_CLASSES distinct ones, no missing value. Label k is the
 * k-th class in sorted order (code-point order for text, numeric order for integers).
 */
function encodeMulticlassLabel(target: string, column: Column): { label: Float64Array; labelClasses: string[] } {
  const n = column.length;
  const distinct = new Set<string | number>();
  for (let i = 0; i < n; i++) {
    const value = column[i];
    if (value === null || (typeof value === 'number' && Number.isNaN(value))) {
      throw new TrainingDataError(`target "${target}" is missing at row ${i}; drop or fill those rows`, target);
    }
    if (typeof value === 'number' && !Number.isInteger(value)) {
      throw new TrainingDataError(`multiclass target "${target}" must be text or integers: row ${i} is ${value}`, target);
    }
    distinct.add(value);
    if (distinct.size > MAX_CLASSES) {
      throw new TrainingDataError(
        `multiclass target "${target}" has more than ${MAX_CLASSES} classes; a multiclass task takes ${MIN_CLASSES} to ${MAX_CLASSES} (use 'regression' for a number)`,
        target,
      );
    }
  }
  if (distinct.size < MIN_CLASSES) {
    const shown = [...distinct].map((v) => JSON.stringify(v)).join(', ');
    const hint = distinct.size === 2 ? "; use task 'binary' for two classes" : '';
    throw new TrainingDataError(
      `multiclass target "${target}" has ${distinct.size} ${distinct.size === 1 ? 'class' : 'classes'} (${shown}); a multiclass task needs ${MIN_CLASSES} to ${MAX_CLASSES}${hint}`,
      target,
    );
  }
  const sorted = [...distinct].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
  const codeOf = new Map<string | number, number>(sorted.map((value, code) => [value, code]));
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) label[i] = codeOf.get(column[i] as string | number)!;
  return { label, labelClasses: sorted.map(String) };
}
