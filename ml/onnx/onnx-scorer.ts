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

export interface OnnxScores {
  /** Binary: positive-class probability. */
  probability?: Float32Array;
  /** Binary: 1 when probability >= 0.5, else 0. */
  label?: Int32Array;
  /** Regression: predicted value. */
  value?: Float32Array;
}

export interface OnnxScorer {
  readonly features: OnnxFeatureSchema[];
  readonly task: Task;
  readonly modelKind: 'gbdt' | 'linear';
  score(input: readonly RawRow[] | ColumnarInput): Promise<OnnxScores>;
  close(): Promise<void>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function numericFromRows(rows: readonly RawRow[], feature: string): Float32Array {
  const out = new Float32Array(rows.length);
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

function numericFromColumn(column: unknown, feature: string, rowCount: number): Float32Array {
  if (column instanceof Float64Array || column instanceof Float32Array) {
    if (column.length !== rowCount) throw new OnnxInputError(feature, `column has ${column.length} values, expected ${rowCount}`);
    return Float32Array.from(column);
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

export async function createOnnxScorer(
  bytes: Uint8Array,
  options: { intraOpNumThreads?: number } = {},
): Promise<OnnxScorer> {
  const metadata = readOnnxMetadata(bytes);
  const session = await ort.InferenceSession.create(bytes, {
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
  });
  const outputNames =
    metadata.task === 'binary' ? [OUTPUT_NAMES.probability, OUTPUT_NAMES.label] : [OUTPUT_NAMES.value];

  async function score(input: readonly RawRow[] | ColumnarInput): Promise<OnnxScores> {
    const rowCount = isColumnar(input) ? input.rowCount : input.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const feature of metadata.features) {
      if (feature.kind === 'numeric') {
        const data = isColumnar(input)
          ? numericFromColumn(input.columns[feature.name], feature.name, rowCount)
          : numericFromRows(input, feature.name);
        feeds[feature.input] = new ort.Tensor('float32', data, [rowCount, 1]);
      } else {
        const data = isColumnar(input)
          ? categoricalFromColumn(input.columns[feature.name], feature.name, rowCount)
          : categoricalFromRows(input, feature.name);
        feeds[feature.input] = new ort.Tensor('string', data, [rowCount, 1]);
      }
    }
    if (rowCount === 0) {
      return metadata.task === 'binary'
        ? { probability: new Float32Array(0), label: new Int32Array(0) }
        : { value: new Float32Array(0) };
    }
    const results = await session.run(feeds, outputNames);
    if (metadata.task === 'binary') {
      const labels = results[OUTPUT_NAMES.label].data as BigInt64Array;
      return {
        probability: Float32Array.from(results[OUTPUT_NAMES.probability].data as Float32Array),
        label: Int32Array.from(labels, (v) => Number(v)),
      };
    }
    return { value: Float32Array.from(results[OUTPUT_NAMES.value].data as Float32Array) };
  }

  return {
    features: metadata.features,
    task: metadata.task,
    modelKind: metadata.modelKind,
    score,
    close: () => session.release(),
  };
}
