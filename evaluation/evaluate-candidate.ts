// The evaluate stage: the candidate and the production champion score the run's holdout, onnxruntime is checked
// against the trainer (parity), the run's gates are applied, and the report is stored once per run.
import { randomUUID } from 'node:crypto';
import { ArtifactIntegrityError, ArtifactNotFoundError, type ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { getEvaluationReportByRunId, saveEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { isDataPlaneError } from '../data/errors.js';
import { loadTrainingData, selectRows, TrainingDataError, type TrainingData, type TrainingDataSpec } from '../data/training-data.js';
import { KeelError } from '../errors/keel-error.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import { predictLinear } from '../ml/linear/index.js';
import { modelClasses, type Model, type RawRow } from '../ml/model.js';
import { multiclassMetrics, type Numbers } from '../ml/metrics/index.js';
import { createOnnxScorer, parityCheck } from '../ml/onnx/index.js';
import { splitForRun } from '../data/split-assignment.js';
import type { EvaluateModelInput, EvaluateModelResult } from '../workflows/contracts/pipeline-activities.js';
import type { EvaluationReport } from './evaluation-report.js';
import { evaluateGates, holdoutMetrics, isChallengerNoWorse, metricDeltas, perClassGateMetrics, primaryMetric } from './gates.js';
import { compareWithChampion } from './champion-comparison.js';
import { evaluationPlots } from './evaluation-plots.js';
import { scoreChampion, scoresOf } from './score-champion.js';
import { servingRecipeAndParity } from './serving-parity.js';
import { predictionsOfRows, readHoldoutPredictions } from '../training/external-training-rows.js';

/**
 * External trainers' graphs (onnxmltools, skl2onnx) compute trees in float32: their scores agree with the trainer's
 * to about 1e-7, not to the 1e-9 of Keel's double graphs.
 */
export const EXTERNAL_PARITY_TOLERANCE = 1e-5;

/** Where the parity reference comes from: Keel's own model re-scored, or an external trainer's stored predictions. */
type TrainerReference = { kind: 'keel'; model: Model } | { kind: 'external'; predictionsOf: (rows: ArrayLike<number>) => Float64Array };

export interface EvaluationDeps {
  db: Db;
  artifacts: ArtifactStore;
}

/** The result an earlier attempt of this run stored, if any: evaluation runs once per run. */
export async function storedEvaluationResult(db: Db, runId: string): Promise<EvaluateModelResult | undefined> {
  const stored = await getEvaluationReportByRunId(db, runId);
  return stored ? (stored.report as EvaluationReport).result : undefined;
}

export async function evaluateCandidate(deps: EvaluationDeps, input: EvaluateModelInput): Promise<EvaluateModelResult> {
  const { db, artifacts } = deps;
  const model = parseModelJson(await readArtifact(artifacts, input.candidate.modelJsonSha256, 'the trainer model JSON:'));
  if (model === 'external' && input.candidate.holdoutPredictionsSha256 === undefined) {
    throw new KeelError('INVALID_SPEC', "an external trainer's candidate needs its holdout predictions for the parity check");
  }
  const scorer = await createOnnxScorer(await readArtifact(artifacts, input.candidate.artifactSha256, 'the candidate ONNX model:'), {
    intraOpNumThreads: 1,
  });
  try {
    if (scorer.task !== input.task) {
      throw new KeelError('INVALID_SPEC', `the candidate is a ${scorer.task} model but the run is ${input.task}`);
    }
    const names = scorer.features.map((f) => f.name);
    const snapshotPath = await artifacts.localPath(input.snapshotSha256);
    const { dataset: data, labelClasses } = await loadColumns(snapshotPath, { features: names, target: input.target, task: input.task });
    const classes = input.task === 'multiclass' ? candidateClasses(model === 'external' ? scorer.classes ?? [] : modelClasses(model) ?? [], scorer.classes, labelClasses) : undefined;
    const labels = data.label!;
    // Same split as training; rows without a label cannot be scored against it.
    const split = await splitForRun(snapshotPath, { ...input, features: names, rowCount: data.rowCount });
    const indices = split.holdout.filter((row) => !Number.isNaN(labels[row]));
    if (indices.length === 0) throw new KeelError('DATA_REJECTED', 'the holdout split has no labelled rows');
    const holdout = selectRows(data, indices);

    const reference: TrainerReference =
      model === 'external'
        ? await externalReference(artifacts, input.candidate.holdoutPredictionsSha256!, classes?.length ?? 1)
        : { kind: 'keel', model };
    const trainerPredictions = (rows: Uint32Array) =>
      reference.kind === 'keel' ? referencePredictions(reference.model, selectRows(data, rows)) : reference.predictionsOf(rows);
    const tolerance = reference.kind === 'external' ? EXTERNAL_PARITY_TOLERANCE : undefined;
    const candidatePredictions = scoresOf(input.task, await scorer.score(holdout));
    const candidateMetrics = holdoutMetrics(input.task, holdout.label!, candidatePredictions);
    const parity = parityCheck(input.task, trainerPredictions(indices), candidatePredictions, tolerance);
    const { champion, skipped, training: championTraining, predictions: championPredictions } = await scoreChampion(deps, {
      model: input.model,
      task: input.task,
      candidateFeatures: scorer.features,
      holdout,
      snapshotPath,
      indices,
      ...(classes === undefined ? {} : { classes }),
    });
    const serving = await servingRecipeAndParity({
      servingSource: input.servingSource,
      snapshotPath,
      samplePath: (sha) => artifacts.localPath(sha),
      task: input.task,
      features: scorer.features,
      scorer,
      data,
      holdout: indices,
      trainerPredictions,
      ...(tolerance === undefined ? {} : { tolerance }),
    });

    const comparison = await compareWithChampion({
      snapshotPath,
      snapshotSha256: input.snapshotSha256,
      rowCount: data.rowCount,
      split: split.resolved,
      holdout: indices,
      champion: champion && championTraining ? championTraining : null,
    });
    const notComparable = comparison.status === 'biased' ? comparison.reason : null;
    const classMetrics = classes === undefined ? undefined : classMetricsOf(holdout.label!, candidatePredictions, classes);
    // Per-class precision, recall and F1 can be gated too; they stay out of the stored metrics (up to 3,000 of them).
    const gateable = classMetrics === undefined ? candidateMetrics : { ...candidateMetrics, ...perClassGateMetrics(classMetrics.perClass) };
    const gates = evaluateGates(input.gates, gateable, champion?.metrics ?? null, notComparable);
    const failedGates = [...gates.failed];
    if (!parity.passed) {
      failedGates.push(`parity: onnxruntime differs from the trainer by ${parity.maxAbsDiff.toPrecision(3)} (row ${parity.worstRow})`);
    }
    if (!serving.parity.passed) {
      failedGates.push(
        `serving parity: raw rows through the serving path differ from the trainer by ${serving.parity.maxAbsDiff.toPrecision(3)}, ${serving.parity.unmatched} feature rows not in the snapshot`,
      );
    }
    const result: Omit<EvaluateModelResult, 'reportId'> = {
      candidateMetrics,
      champion: champion ? { version: champion.version, metrics: champion.metrics } : null,
      deltas: metricDeltas(candidateMetrics, champion?.metrics ?? null),
      parity: { passed: parity.passed, maxAbsDiff: parity.maxAbsDiff, rows: parity.rows },
      gatesPassed: failedGates.length === 0,
      failedGates,
      challengerNoWorse: isChallengerNoWorse(input.task, candidateMetrics, champion?.metrics ?? null, notComparable === null),
      comparison,
      ...(serving.recipe ? { servingRecipe: serving.recipe } : {}),
    };
    const report: Omit<EvaluationReport, 'result'> = {
      task: input.task,
      seed: input.seed,
      snapshotSha256: input.snapshotSha256,
      holdoutRows: indices.length,
      primaryMetric: primaryMetric(input.task),
      candidate: { ...input.candidate, metrics: candidateMetrics },
      champion,
      championSkipped: skipped,
      deltas: result.deltas,
      parity,
      servingParity: serving.parity,
      gates: { spec: input.gates ?? null, checks: gates.checks },
      gatesPassed: result.gatesPassed,
      failedGates,
      challengerNoWorse: result.challengerNoWorse,
      comparison,
      ...(classMetrics === undefined ? {} : { classMetrics }),
      plots: evaluationPlots({
        task: input.task,
        labels: holdout.label!,
        candidatePredictions,
        championPredictions: championPredictions ?? null,
        model,
      }),
      smokeRow: firstRow(holdout, names),
    };
    return await storeReport(db, input, report, result);
  } finally {
    await scorer.close();
  }
}

/** Stores the report; a concurrent attempt may have stored its report first: every attempt returns the stored one. */
async function storeReport(
  db: Db,
  input: EvaluateModelInput,
  report: Omit<EvaluationReport, 'result'>,
  result: Omit<EvaluateModelResult, 'reportId'>,
): Promise<EvaluateModelResult> {
  const reportId = randomUUID();
  const withId: EvaluateModelResult = { ...result, reportId };
  const { report: row } = await saveEvaluationReport(db, {
    id: reportId,
    runId: input.runId,
    model: input.model,
    candidateSha256: input.candidate.artifactSha256,
    championVersion: report.champion?.version ?? null,
    gatesPassed: result.gatesPassed,
    report: { ...report, result: withId },
  });
  return (row.report as EvaluationReport).result;
}

async function readArtifact(artifacts: ArtifactStore, sha256: string, what: string): Promise<Buffer> {
  try {
    return await artifacts.read(sha256);
  } catch (error) {
    // Say which artifact: the store's own message names only its hash. Its type stays the failure's type.
    if (error instanceof ArtifactNotFoundError || error instanceof ArtifactIntegrityError) error.message = `${what} ${error.message}`;
    throw error;
  }
}

/** The snapshot read exactly as training read it (same features, same label encoding). */
async function loadColumns(path: string, spec: TrainingDataSpec): Promise<TrainingData> {
  try {
    return await loadTrainingData(path, spec);
  } catch (error) {
    if (error instanceof TrainingDataError) throw new KeelError('INVALID_SPEC', error.message, undefined, { cause: error });
    if (isDataPlaneError(error)) throw new KeelError('SOURCE_UNREADABLE', error.message, undefined, { cause: error });
    throw error;
  }
}

function firstRow(data: ColumnarDataset, names: readonly string[]): RawRow | null {
  if (data.rowCount === 0) return null;
  const row: RawRow = {};
  for (const name of names) {
    const value = data.columns[name]![0];
    row[name] = typeof value === 'number' && Number.isNaN(value) ? null : (value ?? null);
  }
  return row;
}

/** Keel's own model, or `'external'` for an external trainer's model JSON (which Keel cannot score). */
function parseModelJson(bytes: Buffer): Model | 'external' {
  const parsed = JSON.parse(bytes.toString('utf8')) as Model | { model?: Model } | { kind: 'external' };
  if ('kind' in parsed && parsed.kind === 'external') return 'external';
  const model = 'kind' in parsed ? parsed : parsed.model;
  if (!model || (model.kind !== 'gbdt' && model.kind !== 'linear')) throw new Error('the model JSON artifact is not a Keel gbdt or linear model');
  return model as Model;
}

function referencePredictions(model: Model, data: ColumnarDataset): Float64Array {
  return model.kind === 'gbdt' ? predictGbdt(model, data) : predictLinear(model, data);
}

/**
 * A multiclass candidate's classes: the trainer's model, its ONNX graph and the holdout's label encoding must name
 * the same classes in the same order, or every per-class number would be about the wrong class.
 */
function candidateClasses(trained: readonly string[], onnxClasses: readonly string[] | undefined, labelClasses: string[] | null): string[] {
  const same = (other: readonly string[] | null | undefined) => JSON.stringify(other ?? []) === JSON.stringify(trained);
  if (!same(onnxClasses) || !same(labelClasses)) {
    throw new KeelError(
      'INVALID_SPEC',
      `the candidate's classes ${JSON.stringify(trained)} differ from its ONNX graph's ${JSON.stringify(onnxClasses ?? [])} or the snapshot's ${JSON.stringify(labelClasses ?? [])}`,
    );
  }
  return [...trained];
}

async function externalReference(artifacts: ArtifactStore, sha256: string, width: number): Promise<TrainerReference> {
  const predictions = await readHoldoutPredictions(await artifacts.localPath(sha256), width);
  return { kind: 'external', predictionsOf: (rows) => predictionsOfRows(predictions, rows) };
}

/** Per-class precision, recall, F1 and support, and the confusion matrix (rows: true class, columns: predicted). */
function classMetricsOf(labels: Numbers, probabilities: Numbers, classes: string[]): NonNullable<EvaluationReport['classMetrics']> {
  const m = multiclassMetrics(labels, probabilities, classes);
  return { classes, perClass: m.perClass, confusion: m.confusion };
}
