// The evaluate activity: candidate vs production champion on the run's holdout, parity, gates; stored as a report.
import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { ArtifactIntegrityError, ArtifactNotFoundError, type ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { getEvaluationReportByRunId, saveEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { getAliasVersion, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { readSnapshotColumns } from '../data/read-snapshot-columns.js';
import { isDataPlaneError } from '../data/errors.js';
import { keepHeartbeating } from './evaluation/activity-heartbeat.js';
import { servingRecipeAndParity, type ServingParity } from '../evaluation/serving-parity.js';
import { loadTrainingData, selectRows, TrainingDataError, type TrainingDataSpec } from './training-data.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import { predictLinear } from '../ml/linear/index.js';
import type { Model, RawRow } from '../ml/model.js';
import { createOnnxScorer, type OnnxFeatureSchema, type OnnxScorer } from '../ml/onnx/index.js';
import { splitRows } from '../ml/split.js';
import {
  FAILURE_TYPES,
  type EvaluateModelInput,
  type EvaluateModelResult,
  type PipelineActivities,
  type Task,
} from '../workflows/definitions.js';
import {
  evaluateGates,
  holdoutMetrics,
  isChallengerNoWorse,
  metricDeltas,
  parityCheck,
  primaryMetric,
  type GateCheck,
  type ParityResult,
} from './evaluation/gates.js';

export interface EvaluateActivityDeps {
  db: Db;
  artifacts: ArtifactStore;
}

/** What the stored `evaluation_reports.report` holds; `result` is what the activity returned. */
export interface EvaluationReport {
  task: Task;
  seed: number;
  snapshotSha256: string;
  holdoutRows: number;
  primaryMetric: string;
  candidate: { artifactSha256: string; modelJsonSha256: string; metrics: Record<string, number> };
  champion: { version: number; artifactSha256: string; metrics: Record<string, number> } | null;
  /** Why there is no champion comparison, when there is none. */
  championSkipped: string | null;
  deltas: Record<string, number>;
  parity: ParityResult;
  /** Holdout rows scored through the serving path in source shape vs the trainer (absent in older reports). */
  servingParity?: ServingParity;
  gates: { spec: unknown; checks: GateCheck[] };
  gatesPassed: boolean;
  failedGates: string[];
  challengerNoWorse: boolean;
  /** The first holdout row (candidate features), which the deploy's smoke prediction sends. */
  smokeRow: RawRow | null;
  result: EvaluateModelResult;
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

function parseModelJson(bytes: Buffer): Model {
  const parsed = JSON.parse(bytes.toString('utf8')) as Model | { model?: Model };
  const model = 'kind' in parsed ? parsed : parsed.model;
  if (!model || (model.kind !== 'gbdt' && model.kind !== 'linear')) throw new Error('the model JSON artifact is not a Keel gbdt or linear model');
  return model as Model;
}

function referencePredictions(model: Model, data: ColumnarDataset): Float64Array {
  return model.kind === 'gbdt' ? predictGbdt(model, data) : predictLinear(model, data);
}

function scoresOf(task: Task, scores: { probability?: Float32Array; value?: Float32Array }): Float32Array {
  return (task === 'binary' ? scores.probability : scores.value)!;
}

function permanent(type: string, message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause: cause instanceof Error ? cause : undefined });
}

/** Why the champion cannot score this snapshot, or null when it can. */
function incompatibility(champion: readonly OnnxFeatureSchema[], candidate: readonly OnnxFeatureSchema[]): string | null {
  const candidateKinds = new Map(candidate.map((f) => [f.name, f.kind]));
  for (const feature of champion) {
    const kind = candidateKinds.get(feature.name);
    if (kind !== undefined && kind !== feature.kind) {
      return `feature "${feature.name}" is ${feature.kind} for the champion but ${kind} for the candidate`;
    }
  }
  return null;
}

export function createEvaluateActivities(deps: EvaluateActivityDeps) {
  const { db, artifacts } = deps;

  async function readArtifact(sha256: string, what: string): Promise<Buffer> {
    try {
      return await artifacts.read(sha256);
    } catch (error) {
      if (error instanceof ArtifactNotFoundError || error instanceof ArtifactIntegrityError) {
        throw permanent(error.code, `${what} ${error.message}`, error);
      }
      throw error;
    }
  }

  /** The snapshot read exactly as training read it (same features, same label encoding). */
  async function loadColumns(path: string, spec: TrainingDataSpec): Promise<ColumnarDataset> {
    try {
      return (await loadTrainingData(path, spec)).dataset;
    } catch (error) {
      if (error instanceof TrainingDataError) throw permanent(FAILURE_TYPES.invalidSpec, error.message, error);
      if (isDataPlaneError(error)) throw permanent(FAILURE_TYPES.sourceUnreadable, error.message, error);
      throw error;
    }
  }

  /** Scores the holdout with the production version; null + reason when there is none or it cannot. */
  async function scoreChampion(
    input: EvaluateModelInput,
    candidateFeatures: readonly OnnxFeatureSchema[],
    holdout: ColumnarDataset,
    snapshotPath: string,
    indices: Uint32Array,
  ): Promise<{ champion: EvaluationReport['champion']; skipped: string | null }> {
    const model = await getModelByName(db, input.model);
    const version = model ? await getAliasVersion(db, model.id, PRODUCTION_ALIAS) : null;
    if (!model || version === null) return { champion: null, skipped: 'no production version yet' };
    if (model.task !== input.task) {
      return { champion: null, skipped: `production version ${version} is a ${model.task} model, this run is ${input.task}` };
    }
    const row = await getModelVersion(db, model.id, version);
    if (!row) return { champion: null, skipped: `production version ${version} has no registry row` };
    let scorer: OnnxScorer | undefined;
    try {
      scorer = await createOnnxScorer(await artifacts.read(row.artifactSha256), { intraOpNumThreads: 1 });
      const problem = incompatibility(scorer.features, candidateFeatures);
      if (problem) return { champion: null, skipped: `champion v${version} is incompatible: ${problem}` };
      const have = new Set(Object.keys(holdout.columns));
      const extra = scorer.features.filter((f) => !have.has(f.name));
      let data = holdout;
      if (extra.length > 0) {
        try {
          const more = await readSnapshotColumns(snapshotPath, {
            features: extra.map((f) => f.name),
            categorical: extra.filter((f) => f.kind === 'categorical').map((f) => f.name),
          });
          const taken = selectRows(more, indices);
          data = { ...holdout, columns: { ...holdout.columns, ...taken.columns } };
        } catch (error) {
          return { champion: null, skipped: `champion v${version} is incompatible: ${(error as Error).message}` };
        }
      }
      const predictions = scoresOf(input.task, await scorer.score(data));
      return {
        champion: { version, artifactSha256: row.artifactSha256, metrics: holdoutMetrics(input.task, holdout.label!, predictions) },
        skipped: null,
      };
    } catch (error) {
      return { champion: null, skipped: `champion v${version} could not be scored: ${(error as Error).message}` };
    } finally {
      await scorer?.close();
    }
  }

  const activities = {
    async evaluateModel(input: EvaluateModelInput): Promise<EvaluateModelResult> {
      const stored = await getEvaluationReportByRunId(db, input.runId);
      if (stored) return (stored.report as EvaluationReport).result;
      const stopHeartbeats = keepHeartbeating(`evaluating run ${input.runId}`);
      try {
        return await evaluate(input);
      } finally {
        stopHeartbeats();
      }
    },
  } satisfies Pick<PipelineActivities, 'evaluateModel'>;
  return activities;

  async function evaluate(input: EvaluateModelInput): Promise<EvaluateModelResult> {
    const model = parseModelJson(await readArtifact(input.candidate.modelJsonSha256, 'the trainer model JSON:'));
    const scorer = await createOnnxScorer(await readArtifact(input.candidate.artifactSha256, 'the candidate ONNX model:'), {
      intraOpNumThreads: 1,
    });
    try {
      if (scorer.task !== input.task) {
        throw permanent(FAILURE_TYPES.invalidSpec, `the candidate is a ${scorer.task} model but the run is ${input.task}`);
      }
      const names = scorer.features.map((f) => f.name);
      const snapshotPath = await artifacts.localPath(input.snapshotSha256);
      const data = await loadColumns(snapshotPath, { features: names, target: input.target, task: input.task });
      const labels = data.label!;
      // Same split as training; rows without a label cannot be scored against it.
      const indices = splitRows(data.rowCount, input.seed).holdout.filter((row) => !Number.isNaN(labels[row]));
      if (indices.length === 0) throw permanent(FAILURE_TYPES.dataRejected, 'the holdout split has no labelled rows');
      const holdout = selectRows(data, indices);

      const candidatePredictions = scoresOf(input.task, await scorer.score(holdout));
      const candidateMetrics = holdoutMetrics(input.task, holdout.label!, candidatePredictions);
      const parity = parityCheck(input.task, referencePredictions(model, holdout), candidatePredictions);
      const { champion, skipped } = await scoreChampion(input, scorer.features, holdout, snapshotPath, indices);
      const serving = await servingRecipeAndParity({
        servingSource: input.servingSource, snapshotPath, samplePath: (sha) => artifacts.localPath(sha), task: input.task,
        features: scorer.features, scorer, data, holdout: indices, trainerPredictions: (rows) => referencePredictions(model, selectRows(data, rows)),
      });

      const gates = evaluateGates(input.gates, candidateMetrics, champion?.metrics ?? null);
      const failedGates = [...gates.failed];
      if (!parity.passed) {
        failedGates.push(`parity: onnxruntime differs from the trainer by ${parity.maxAbsDiff.toPrecision(3)} (row ${parity.worstRow})`);
      }
      if (!serving.parity.passed) {
        failedGates.push(`serving parity: raw rows through the serving path differ from the trainer by ${serving.parity.maxAbsDiff.toPrecision(3)}, ${serving.parity.unmatched} feature rows not in the snapshot`);
      }
      const result: Omit<EvaluateModelResult, 'reportId'> = {
        candidateMetrics,
        champion: champion ? { version: champion.version, metrics: champion.metrics } : null,
        deltas: metricDeltas(candidateMetrics, champion?.metrics ?? null),
        parity: { passed: parity.passed, maxAbsDiff: parity.maxAbsDiff, rows: parity.rows },
        gatesPassed: failedGates.length === 0,
        failedGates,
        challengerNoWorse: isChallengerNoWorse(input.task, candidateMetrics, champion?.metrics ?? null),
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
        smokeRow: firstRow(holdout, names),
      };
      const reportId = randomUUID();
      const withId: EvaluateModelResult = { ...result, reportId };
      const { report: row } = await saveEvaluationReport(db, {
        id: reportId,
        runId: input.runId,
        model: input.model,
        candidateSha256: input.candidate.artifactSha256,
        championVersion: champion?.version ?? null,
        gatesPassed: result.gatesPassed,
        report: { ...report, result: withId },
      });
      // A concurrent attempt may have stored its report first: every attempt returns the stored one.
      const saved = (row.report as EvaluationReport).result;
      return saved;
    } finally {
      await scorer.close();
    }
  }
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
