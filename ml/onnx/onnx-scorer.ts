// Scores raw rows (or columns) with an exported Keel ONNX model on onnxruntime-node.
import * as ort from 'onnxruntime-node';
import type { RawRow, Task } from '../model.js';
import { OUTPUT_NAMES } from './export-model.js';
import { MISSING_CATEGORY } from './missing-category.js';
import { readOnnxMetadata, type OnnxFeatureSchema } from './onnx-metadata.js';

/** A row's value has the wrong type for its feature (serving answers 400 with `feature`). */
export class OnnxInputError extends Error {
  readonly feature: string;
  readonly rowIndex: number | undefined;
  constructor(feature: string, message: string, rowIndex?: number) {
    super(rowIndex === undefined ? `feature "${feature}": ${message}` : `row ${rowIndex}, feature "${feature}": ${message}`);
    this.name = 'OnnxInputError';
    this.feature = feature;
    this.rowIndex = rowIndex;
  }
}

/** Columns by feature name: numbers (NaN or null = missing) for numerics, strings (null = missing) for categoricals. */
export interface ColumnarInput {
  rowCount: number;
  columns: Record<string, Float64Array | Float32Array | readonly (number | null)[] | readonly (string | null)[]>;
}

/** Scores in double, whatever the graph outputs (models exported before float64 graphs output float32). */
export interface OnnxScores {
  /** Binary: positive-class probability. */
  probability?: Float64Array;
  /** Binary: 1 when probability >= 0.5, else 0. */
  label?: Int32Array;
  /** Regression: predicted value. */
  value?: Float64Array;
  /** Multiclass: class probabilities, row-major rows × K in the order of the scorer's `classes`. */
  probabilities?: Float64Array;
  /** Multiclass: the most probable class. */
  classLabel?: string[];
}

export interface OnnxScorer {
  readonly features: OnnxFeatureSchema[];
  readonly task: Task;
  /** Multiclass only: the class labels, in the order of `probabilities`' columns. */
  readonly classes?: string[];
  readonly modelKind: 'gbdt' | 'linear' | 'external';
  score(input: readonly RawRow[] | ColumnarInput): Promise<OnnxScores>;
  close(): Promise<void>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function numericFromRows(rows: readonly RawRow[], feature: string): Float64Array {
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const value: unknown = rows[r][feature];
    if (typeof value === 'number') out[r] = value;
    else if (value === null || value === undefined) out[r] = Number.NaN;
    else throw new OnnxInputError(feature, `expected a number or null, got ${describe(value)}`, r);
  }
  return out;
}

function categoricalFromRows(rows: readonly RawRow[], feature: string): string[] {
  const out = new Array<string>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const value: unknown = rows[r][feature];
    if (typeof value === 'string') out[r] = value;
    else if (value === null || value === undefined) out[r] = MISSING_CATEGORY;
    else throw new OnnxInputError(feature, `expected a string or null, got ${describe(value)}`, r);
  }
  return out;
}

function numericFromColumn(column: unknown, feature: string, rowCount: number): Float64Array {
  if (column instanceof Float64Array || column instanceof Float32Array) {
    if (column.length !== rowCount) throw new OnnxInputError(feature, `column has ${column.length} values, expected ${rowCount}`);
    // A copy (the caller may reuse its array before the run): slice is one memcpy.
    return column instanceof Float64Array ? column.slice() : Float64Array.from(column);
  }
  if (!Array.isArray(column)) throw new OnnxInputError(feature, `expected a numeric column, got ${describe(column)}`);
  if (column.length !== rowCount) throw new OnnxInputError(feature, `column has ${column.length} values, expected ${rowCount}`);
  return numericFromRows(column.map((v: unknown) => ({ [feature]: v as RawRow[string] })), feature);
}

function categoricalFromColumn(column: unknown, feature: string, rowCount: number): string[] {
  if (!Array.isArray(column)) throw new OnnxInputError(feature, `expected a column of strings, got ${describe(column)}`);
  if (column.length !== rowCount) throw new OnnxInputError(feature, `column has ${column.length} values, expected ${rowCount}`);
  const out = new Array<string>(rowCount);
  for (let r = 0; r < rowCount; r++) {
    const value: unknown = column[r];
    if (typeof value === 'string') out[r] = value;
    else if (value === null || value === undefined) out[r] = MISSING_CATEGORY;
    else throw new OnnxInputError(feature, `expected a string or null, got ${describe(value)}`, r);
  }
  return out;
}

function isColumnar(input: readonly RawRow[] | ColumnarInput): input is ColumnarInput {
  return !Array.isArray(input);
}

/** One caller's inputs, converted and checked, waiting for the next run. */
interface PendingScore {
  rowCount: number;
  /** Per graph input: this caller's values. */
  columns: Array<Float64Array | string[]>;
  resolve(scores: OnnxScores): void;
  reject(error: unknown): void;
}

/**
 * The tensor type of each numeric graph input, as the session declares it: `float64` for models exported since
 * float64 graphs, `float32` for models registered before, which keep serving with the inputs they were built for.
 */
function numericInputTypes(session: ort.InferenceSession, features: readonly OnnxFeatureSchema[]): Map<string, 'float32' | 'float64'> {
  const declared = new Map(session.inputMetadata.map((input) => [input.name, input.isTensor ? input.type : undefined]));
  const types = new Map<string, 'float32' | 'float64'>();
  for (const feature of features) {
    if (feature.kind !== 'numeric') continue;
    const type = declared.get(feature.input);
    if (type !== 'float32' && type !== 'float64') {
      throw new Error(`ONNX input "${feature.input}" of numeric feature "${feature.name}" is ${type ?? 'not declared'}, expected float64 or float32`);
    }
    types.set(feature.input, type);
  }
  return types;
}

/** Rows [at, end) of the graph's int64 labels as numbers: a plain loop (Int32Array.from's per-row callback showed in profiles). */
function labelsOf(labels: BigInt64Array, at: number, end: number): Int32Array {
  const out = new Int32Array(end - at);
  for (let i = 0; i < out.length; i++) out[i] = Number(labels[at + i]);
  return out;
}

function asDoubles(data: unknown): Float64Array {
  if (data instanceof Float64Array) return data;
  if (data instanceof Float32Array) return Float64Array.from(data);
  throw new Error('ONNX output is neither float64 nor float32');
}

/** Concurrent callers' rows are scored in one run up to this many rows by default (a bigger single call runs alone). */
export const DEFAULT_SCORE_BATCH_ROWS = 4096;

export interface OnnxScorerOptions {
  /** onnxruntime intra-op threads of the session. */
  intraOpNumThreads?: number;
  /**
   * Dynamic batching: calls made in the same event-loop turn are scored together in one `session.run` of up to this
   * many rows, on the next turn (each caller still gets its own scores and errors). 1: every call runs alone, at once.
   */
  maxBatchRows?: number;
}

export async function createOnnxScorer(
  bytes: Uint8Array,
  options: OnnxScorerOptions = {},
): Promise<OnnxScorer> {
  const maxBatchRows = options.maxBatchRows ?? DEFAULT_SCORE_BATCH_ROWS;
  const metadata = readOnnxMetadata(bytes);
  const session = await ort.InferenceSession.create(bytes, {
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  });
  const binary = metadata.task === 'binary';
  const multiclass = metadata.task === 'multiclass';
  const outputNames = binary
    ? [OUTPUT_NAMES.probability, OUTPUT_NAMES.label]
    : multiclass
      ? [OUTPUT_NAMES.probabilities, OUTPUT_NAMES.label]
      : [OUTPUT_NAMES.value];
  const classCount = metadata.classes?.length ?? 0;
  const features = metadata.features;
  const numericType = numericInputTypes(session, features);
  let queue: PendingScore[] = [];

  function columnsOf(input: readonly RawRow[] | ColumnarInput, rowCount: number): Array<Float64Array | string[]> {
    return features.map((feature) => {
      if (feature.kind === 'numeric') {
        return isColumnar(input)
          ? numericFromColumn(input.columns[feature.name], feature.name, rowCount)
          : numericFromRows(input, feature.name);
      }
      return isColumnar(input)
        ? categoricalFromColumn(input.columns[feature.name], feature.name, rowCount)
        : categoricalFromRows(input, feature.name);
    });
  }

  /** The tensor the session declares for this input: strings, or numbers as float64 (float32 for older versions). */
  function tensorOf(feature: OnnxFeatureSchema, data: Float64Array | string[], rowCount: number): ort.Tensor {
    if (feature.kind !== 'numeric') return new ort.Tensor('string', data as string[], [rowCount, 1]);
    const type = numericType.get(feature.input)!;
    return new ort.Tensor(type, type === 'float32' ? Float32Array.from(data as Float64Array) : (data as Float64Array), [rowCount, 1]);
  }

  function feedsOf(batch: readonly PendingScore[], rowCount: number): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    features.forEach((feature, f) => {
      let data: Float64Array | string[];
      if (batch.length === 1) {
        data = batch[0].columns[f];
      } else if (feature.kind === 'numeric') {
        const joined = new Float64Array(rowCount);
        let at = 0;
        for (const pending of batch) {
          joined.set(pending.columns[f] as Float64Array, at);
          at += pending.rowCount;
        }
        data = joined;
      } else {
        data = batch.flatMap((pending) => pending.columns[f] as string[]);
      }
      feeds[feature.input] = tensorOf(feature, data, rowCount);
    });
    return feeds;
  }

  async function run(batch: readonly PendingScore[]): Promise<void> {
    const rowCount = batch.reduce((n, pending) => n + pending.rowCount, 0);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feedsOf(batch, rowCount), outputNames);
    } catch (error) {
      // Run callers apart, so one caller's bad input cannot fail the others.
      if (batch.length > 1) await Promise.all(batch.map((pending) => run([pending])));
      else batch[0].reject(error);
      return;
    }
    if (multiclass) {
      resolveMulticlass(batch, asDoubles(results[OUTPUT_NAMES.probabilities].data), results[OUTPUT_NAMES.label].data as string[]);
      return;
    }
    const probability = binary ? asDoubles(results[OUTPUT_NAMES.probability].data) : undefined;
    const label = binary ? (results[OUTPUT_NAMES.label].data as BigInt64Array) : undefined;
    const value = binary ? undefined : asDoubles(results[OUTPUT_NAMES.value].data);
    let at = 0;
    for (const pending of batch) {
      const end = at + pending.rowCount;
      pending.resolve(
        binary
          ? { probability: probability!.slice(at, end), label: labelsOf(label!, at, end) }
          : { value: value!.slice(at, end) },
      );
      at = end;
    }
  }

  function resolveMulticlass(batch: readonly PendingScore[], probabilities: Float64Array, labels: string[]): void {
    let at = 0;
    for (const pending of batch) {
      const end = at + pending.rowCount;
      pending.resolve({ probabilities: probabilities.slice(at * classCount, end * classCount), classLabel: labels.slice(at, end) });
      at = end;
    }
  }

  /** Runs everything queued so far, coalesced into as few session runs as the row cap allows. */
  function flush(): void {
    const queued = queue;
    queue = [];
    let group: PendingScore[] = [];
    let groupRows = 0;
    for (const pending of queued) {
      if (group.length > 0 && groupRows + pending.rowCount > maxBatchRows) {
        void run(group);
        group = [];
        groupRows = 0;
      }
      group.push(pending);
      groupRows += pending.rowCount;
    }
    if (group.length > 0) void run(group);
  }

  /**
   * Each onnxruntime-node run has a fixed cost far above a row's (a one-row call costs as much as ~20 rows), so
   * calls made while the event loop is busy are queued and scored together on its next turn.
   */
  function score(input: readonly RawRow[] | ColumnarInput): Promise<OnnxScores> {
    const rowCount = isColumnar(input) ? input.rowCount : input.length;
    let columns: Array<Float64Array | string[]>;
    try {
      columns = columnsOf(input, rowCount);
    } catch (error) {
      return Promise.reject(error);
    }
    if (rowCount === 0) {
      if (multiclass) return Promise.resolve({ probabilities: new Float64Array(0), classLabel: [] });
      return Promise.resolve(binary ? { probability: new Float64Array(0), label: new Int32Array(0) } : { value: new Float64Array(0) });
    }
    return new Promise<OnnxScores>((resolve, reject) => {
      if (maxBatchRows <= 1) {
        void run([{ rowCount, columns, resolve, reject }]);
        return;
      }
      if (queue.length === 0) setImmediate(flush);
      queue.push({ rowCount, columns, resolve, reject });
    });
  }

  return {
    features: metadata.features,
    task: metadata.task,
    ...(metadata.classes === undefined ? {} : { classes: metadata.classes }),
    modelKind: metadata.modelKind,
    score,
    close: () => session.release(),
  };
}
