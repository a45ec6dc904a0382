// Builds a run's serving recipe and proves it: source rows sampled at ingest go through the serving path in
// source shape (validation → the feature SQL in the locked serving DuckDB → conversions → onnxruntime), and
// those landing on holdout rows of the snapshot are compared with the trainer's own predictions for those rows.
//
// Why a source sample: the snapshot holds transformed rows only, and a transform may drop or reshape rows, so
// a snapshot row cannot be turned back into its source row. Each sampled source row's serving features are
// looked up among the snapshot's rows instead; a feature row the snapshot does not contain is train/serve skew.
import { openDuckDb } from '../data/duckdb-session.js';
import { openRowTransformSession, type FeatureValue, type SourceValue } from '../data/row-transform-session.js';
import { checkRowWiseOnSample, parseTreeFindings, type RowWiseVerdict } from '../data/row-wise-check.js';
import { readSourceSampleRows } from '../data/source-schema.js';
import { quoteString } from '../data/sql-literal.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import type { Task } from '../ml/model.js';
import { DEFAULT_PARITY_TOLERANCE, type OnnxFeatureSchema, type OnnxScorer } from '../ml/onnx/index.js';
import type { LoadedModel } from '../serving/model-cache.js';
import { predictSourceRowsWithModel } from '../serving/predict.js';
import { PredictionInputError } from '../serving/errors.js';
import { createRawRowFeatures } from '../serving/raw-row-features.js';
import { validateSourceRows } from '../serving/raw-row-validation.js';
import { featureConversion, sourceValueKind, type ServingRecipe, type ServingSource } from '../workflows/contracts/serving-recipe.js';

/** Holdout rows scored through the serving path at most. */
export const SERVING_PARITY_ROWS = 200;

export interface ServingParity {
  /** Holdout rows scored through the serving path in source shape. */
  rows: number;
  maxAbsDiff: number;
  passed: boolean;
  /** Sampled source rows, and how many of their feature rows are not holdout rows (not compared). */
  sampledSourceRows: number;
  notInHoldout: number;
  /** Serving feature rows the training snapshot does not contain at all: train/serve skew. */
  unmatched: number;
  /**
   * Sampled source rows no JSON request can carry (NaN or ±Infinity, an integer past 2^53, e.g. in a column that is
   * not a feature), left out of the comparison, and why the first of them was.
   */
  unservable?: number;
  unservableReason?: string;
  skipped?: string;
}

export interface ServingParityInput {
  servingSource: ServingSource | undefined;
  snapshotPath: string;
  samplePath: (sha256: string) => Promise<string>;
  task: Task;
  features: readonly OnnxFeatureSchema[];
  scorer: OnnxScorer;
  /** The snapshot as training read it (every model feature), and its holdout row indices. */
  data: ColumnarDataset;
  holdout: Uint32Array;
  trainerPredictions: (rows: Uint32Array) => Float64Array;
  /** Largest difference allowed (relative for regression); default DEFAULT_PARITY_TOLERANCE. */
  tolerance?: number;
}

function skipped(reason: string, sampledSourceRows = 0): ServingParity {
  return { rows: 0, maxAbsDiff: 0, passed: true, sampledSourceRows, notInHoldout: 0, unmatched: 0, skipped: reason };
}

async function snapshotTypes(path: string): Promise<Map<string, string>> {
  const session = await openDuckDb({ threads: 1 });
  try {
    const reader = await session.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(path)})`);
    return new Map(reader.getRowsJS().map((row) => [String(row[0]), String(row[1])]));
  } finally {
    session.close();
  }
}

const keyOf = (values: readonly FeatureValue[]) => JSON.stringify(values);

/** Snapshot row → its feature values as serving produces them (NaN is a missing value, as serving's null). */
function snapshotRowValues(data: ColumnarDataset, names: readonly string[], row: number): FeatureValue[] {
  return names.map((name) => {
    const value = data.columns[name]![row];
    return typeof value === 'number' && Number.isNaN(value) ? null : (value ?? null);
  });
}

/** The sampled rows a JSON client could send (as bound values too), and a count of the others with the first reason. */
function servableRows(
  sampled: readonly Record<string, unknown>[],
  columns: ServingSource['source'],
): { rows: Record<string, unknown>[]; values: SourceValue[][]; unservable: Pick<ServingParity, 'unservable' | 'unservableReason'> } {
  const rows: Record<string, unknown>[] = [];
  const values: SourceValue[][] = [];
  let count = 0;
  let reason: string | undefined;
  for (const row of sampled) {
    try {
      values.push(validateSourceRows([row], columns)[0]!);
      rows.push(row);
    } catch (error) {
      if (!(error instanceof PredictionInputError)) throw error;
      count++;
      reason ??= error.message.replace(/^rows\[0\]\.?/, '');
    }
  }
  return { rows, values, unservable: count === 0 ? {} : { unservable: count, unservableReason: reason } };
}

export async function servingRecipeAndParity(input: ServingParityInput): Promise<{ recipe?: ServingRecipe; parity: ServingParity }> {
  const source = input.servingSource;
  if (!source) return { parity: skipped('the snapshot recorded no source schema (ingested before serving recipes)') };
  const types = await snapshotTypes(input.snapshotPath);
  const features = input.features.map((feature) => {
    const type = types.get(feature.name) ?? 'VARCHAR';
    return { name: feature.name, type, kind: feature.kind, conversion: featureConversion(type, feature.kind) };
  });
  const base = { version: 1 as const, source: source.source, sources: source.sources, transform: source.transform, features };

  const unsupported = source.source.find((column) => !sourceValueKind(column.type));
  const findings = source.transform === null ? [] : await parseTreeFindings(source.transform, Object.keys(source.sources));
  let verdict: RowWiseVerdict;
  if (unsupported) verdict = { rowWise: false, reason: `source column "${unsupported.name}" has type ${unsupported.type}, which JSON rows cannot carry`, checkedRows: 0 };
  else if (findings.length > 0) verdict = { rowWise: false, reason: `it uses ${findings.join(', ')}`, checkedRows: 0 };
  else verdict = { rowWise: true, checkedRows: 0 };

  const sampled = verdict.rowWise ? await readSourceSampleRows(await input.samplePath(source.sampleSha256), source.source) : [];
  const { rows: sampleRows, values, unservable } = servableRows(sampled, source.source);
  let produced: FeatureValue[][][] = [];
  if (verdict.rowWise) {
    const session = await openRowTransformSession(base);
    try {
      verdict = await checkRowWiseOnSample(session, values);
      if (verdict.rowWise) produced = await session.transformRows(values);
    } finally {
      session.close();
    }
  }
  const recipe: ServingRecipe = {
    ...base,
    rowWise: verdict.rowWise,
    ...(verdict.reason ? { rowWiseReason: verdict.reason } : {}),
    checkedRows: verdict.checkedRows,
  };
  if (!recipe.rowWise) return { recipe, parity: skipped(`raw rows are not served: ${recipe.rowWiseReason}`) };

  // Find each sampled row's feature row among the snapshot's rows (prefiltered on the first feature's value).
  const names = features.map((feature) => feature.name);
  const wanted = new Map<string, number>();
  produced.forEach((outputs, sourceRow) => {
    if (outputs.length === 1 && !wanted.has(keyOf(outputs[0]!))) wanted.set(keyOf(outputs[0]!), sourceRow);
  });
  const firstValues = new Set([...wanted.keys()].map((key) => (JSON.parse(key) as FeatureValue[])[0]));
  const holdout = new Set(input.holdout);
  const inHoldout = new Map<string, number>();
  const seen = new Set<string>();
  for (let row = 0; row < input.data.rowCount && inHoldout.size < wanted.size; row++) {
    const first = input.data.columns[names[0]!]![row];
    if (!firstValues.has(typeof first === 'number' && Number.isNaN(first) ? null : (first ?? null))) continue;
    const key = keyOf(snapshotRowValues(input.data, names, row));
    if (!wanted.has(key)) continue;
    seen.add(key);
    if (holdout.has(row) && !inHoldout.has(key)) inHoldout.set(key, row);
  }
  const unmatched = [...wanted.keys()].filter((key) => !seen.has(key)).length;
  const compared = [...inHoldout.entries()].slice(0, SERVING_PARITY_ROWS);
  const base0 = { sampledSourceRows: sampled.length, notInHoldout: seen.size - inHoldout.size, unmatched, ...unservable };
  if (compared.length === 0) return { recipe, parity: { ...skipped('no sampled source row landed on a holdout row', sampled.length), ...base0 } };

  const rawRows = createRawRowFeatures('evaluation', 0, recipe);
  try {
    const loaded: LoadedModel = {
      model: 'evaluation',
      modelId: 'evaluation',
      version: 0,
      sha256: '',
      task: input.task,
      features: [...input.features],
      scorer: input.scorer,
      rawRows,
    };
    const response = await predictSourceRowsWithModel(loaded, compared.map(([key]) => sampleRows[wanted.get(key)!]!));
    const trainer = input.trainerPredictions(Uint32Array.from(compared.map(([, row]) => row)));
    let maxAbsDiff = 0;
    const note = (diff: number) => {
      maxAbsDiff = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(maxAbsDiff, diff);
    };
    const classes = input.scorer.classes ?? [];
    response.predictions.forEach((prediction, i) => {
      if ('probabilities' in prediction) {
        // Multiclass: every class's probability against the trainer's (rows × K).
        classes.forEach((name, k) => note(Math.abs((prediction.probabilities[name] ?? Number.NaN) - trainer[i * classes.length + k]!)));
        return;
      }
      note(Math.abs(('probability' in prediction ? prediction.probability : prediction.value) - trainer[i]!));
    });
    const allowed = input.tolerance ?? DEFAULT_PARITY_TOLERANCE;
    const tolerance = input.task === 'regression' ? allowed * Math.max(1, ...Array.from(trainer, Math.abs)) : allowed;
    return { recipe, parity: { rows: compared.length, maxAbsDiff, passed: maxAbsDiff <= tolerance && unmatched === 0, ...base0 } };
  } finally {
    rawRows.close();
  }
}
