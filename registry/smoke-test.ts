// The deploy's smoke test: the candidate is loaded through the serving code (artifact read, sha256 against the
// registry, onnxruntime session) and predicts one row through the API's predict path, before production moves to it.
import { performance } from 'node:perf_hooks';
import type { Db } from '../db/client.js';
import { getEvaluationReport } from '../db/repositories/evaluation-reports.js';
import type { ModelVersionRow } from '../db/schema.js';
import type { RawRow } from '../ml/model.js';
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';
import type { ModelCache } from '../serving/model-cache.js';
import { predictWithModel, type PredictResponse } from '../serving/predict.js';

export interface SmokeResult {
  prediction: unknown;
  latencyMs: number;
}

/** A row of typical values when the evaluation kept no holdout row: 0 for numbers, the first known category. */
export function typicalRow(features: readonly OnnxFeatureSchema[]): RawRow {
  const row: RawRow = {};
  for (const feature of features) row[feature.name] = feature.kind === 'numeric' ? 0 : (feature.categories[0] ?? null);
  return row;
}

/** Throws what is wrong with the one prediction: missing, a probability outside [0, 1] (or not summing to 1), a non-finite value. */
export function checkSmokePrediction(response: PredictResponse): void {
  const [prediction] = response.predictions;
  if (!prediction) throw new Error('the model returned no prediction');
  if ('probability' in prediction) {
    if (!(prediction.probability >= 0 && prediction.probability <= 1)) {
      throw new Error(`probability ${prediction.probability} is not in [0, 1]`);
    }
  } else if ('probabilities' in prediction) {
    const entries = Object.entries(prediction.probabilities);
    const outside = entries.find(([, p]) => !(p >= 0 && p <= 1));
    if (outside) throw new Error(`probability ${outside[1]} of class ${JSON.stringify(outside[0])} is not in [0, 1]`);
    const sum = entries.reduce((total, [, p]) => total + p, 0);
    if (!(Math.abs(sum - 1) <= 1e-6)) throw new Error(`class probabilities sum to ${sum}, not 1`);
    if (!(prediction.label in prediction.probabilities)) throw new Error(`label ${JSON.stringify(prediction.label)} is not one of the classes`);
  } else if (!Number.isFinite(prediction.value)) {
    throw new Error(`prediction ${prediction.value} is not a finite number`);
  }
}

/** The evaluation's first holdout row, else typical values. */
async function smokeRowFor(db: Db, row: ModelVersionRow, features: readonly OnnxFeatureSchema[]): Promise<RawRow> {
  const report = row.evaluationReportId ? await getEvaluationReport(db, row.evaluationReportId) : undefined;
  const smokeRow = (report?.report as { smokeRow?: RawRow | null } | undefined)?.smokeRow;
  return smokeRow ?? typicalRow(features);
}

/** Loads the version through the serving cache (it is not production yet) and predicts one row; throws what went wrong. */
export async function smokePrediction(db: Db, modelCache: ModelCache, modelName: string, row: ModelVersionRow): Promise<SmokeResult> {
  return modelCache.withVersion(modelName, row.version, async (loaded) => {
    const input = await smokeRowFor(db, row, loaded.features);
    const started = performance.now();
    const response = await predictWithModel(loaded, [input]);
    const latencyMs = performance.now() - started;
    checkSmokePrediction(response);
    return { prediction: response.predictions[0], latencyMs };
  });
}
