// Champion vs challenger: the model's production version scores the same holdout the candidate did.
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { getAliasVersion, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { readSnapshotColumns } from '../data/read-snapshot-columns.js';
import { selectRows } from '../data/training-data.js';
import type { ColumnarDataset } from '../ml/dataset.js';
import { createOnnxScorer, type OnnxFeatureSchema, type OnnxScorer, type OnnxScores } from '../ml/onnx/index.js';
import type { Task } from '../workflows/contracts/run-spec.js';
import type { ChampionTraining } from './champion-comparison.js';
import type { EvaluationReport } from './evaluation-report.js';
import { holdoutMetrics } from './gates.js';

export interface ChampionHoldout {
  model: string;
  task: Task;
  candidateFeatures: readonly OnnxFeatureSchema[];
  holdout: ColumnarDataset;
  /** Multiclass: the candidate's classes; a champion with other classes (or another order) cannot be compared. */
  classes?: readonly string[];
  /** The snapshot and the holdout's row indices in it, to read columns only the champion uses. */
  snapshotPath: string;
  indices: Uint32Array;
}

/** What the metrics take: the probability (binary), the class probabilities (multiclass, rows × K) or the value. */
export function scoresOf(task: Task, scores: OnnxScores): Float64Array {
  return (task === 'binary' ? scores.probability : task === 'multiclass' ? scores.probabilities : scores.value)!;
}

/** Why the champion cannot score this snapshot, or null when it can. */
export function incompatibility(champion: readonly OnnxFeatureSchema[], candidate: readonly OnnxFeatureSchema[]): string | null {
  const candidateKinds = new Map(candidate.map((f) => [f.name, f.kind]));
  for (const feature of champion) {
    const kind = candidateKinds.get(feature.name);
    if (kind !== undefined && kind !== feature.kind) {
      return `feature "${feature.name}" is ${feature.kind} for the champion but ${kind} for the candidate`;
    }
  }
  return null;
}

/** Why a multiclass champion's classes cannot be compared with the candidate's, or null. */
export function classesIncompatibility(champion: readonly string[] | undefined, candidate: readonly string[] | undefined): string | null {
  if (champion === undefined && candidate === undefined) return null;
  if (JSON.stringify(champion ?? []) === JSON.stringify(candidate ?? [])) return null;
  return `its classes ${JSON.stringify(champion ?? [])} differ from this run's ${JSON.stringify(candidate ?? [])}`;
}

/** Scores the holdout with the production version; null + the reason when there is none or it cannot. */
export async function scoreChampion(
  deps: { db: Db; artifacts: ArtifactStore },
  run: ChampionHoldout,
): Promise<{ champion: EvaluationReport['champion']; skipped: string | null; training?: ChampionTraining; predictions?: Float64Array }> {
  const { db, artifacts } = deps;
  const model = await getModelByName(db, run.model);
  const version = model ? await getAliasVersion(db, model.id, PRODUCTION_ALIAS) : null;
  if (!model || version === null) return { champion: null, skipped: 'no production version yet' };
  if (model.task !== run.task) {
    return { champion: null, skipped: `production version ${version} is a ${model.task} model, this run is ${run.task}` };
  }
  const row = await getModelVersion(db, model.id, version);
  if (!row) return { champion: null, skipped: `production version ${version} has no registry row` };
  let scorer: OnnxScorer | undefined;
  try {
    scorer = await createOnnxScorer(await artifacts.read(row.artifactSha256), { intraOpNumThreads: 1 });
    const problem = incompatibility(scorer.features, run.candidateFeatures) ?? classesIncompatibility(scorer.classes, run.classes);
    if (problem) return { champion: null, skipped: `champion v${version} is incompatible: ${problem}` };
    let data: ColumnarDataset;
    try {
      data = await withChampionColumns(run, scorer.features);
    } catch (error) {
      return { champion: null, skipped: `champion v${version} is incompatible: ${(error as Error).message}` };
    }
    const predictions = scoresOf(run.task, await scorer.score(data));
    return {
      champion: { version, artifactSha256: row.artifactSha256, metrics: holdoutMetrics(run.task, run.holdout.label!, predictions) },
      skipped: null,
      // How it was trained: its split (absent for versions from before stable splits), seed and snapshot.
      training: {
        version,
        split: (row.params as { split?: unknown } | null)?.split ?? null,
        seed: (row.params as { seed?: unknown } | null)?.seed ?? null,
        snapshotSha256: row.snapshotSha256,
      },
      // For the report's plots (the champion's ROC and calibration curves beside the candidate's).
      predictions,
    };
  } catch (error) {
    return { champion: null, skipped: `champion v${version} could not be scored: ${(error as Error).message}` };
  } finally {
    await scorer?.close();
  }
}

/** The holdout plus the columns only the champion reads, taken from the snapshot at the same rows. */
async function withChampionColumns(run: ChampionHoldout, features: readonly OnnxFeatureSchema[]): Promise<ColumnarDataset> {
  const have = new Set(Object.keys(run.holdout.columns));
  const extra = features.filter((f) => !have.has(f.name));
  if (extra.length === 0) return run.holdout;
  const more = await readSnapshotColumns(run.snapshotPath, {
    features: extra.map((f) => f.name),
    categorical: extra.filter((f) => f.kind === 'categorical').map((f) => f.name),
  });
  const taken = selectRows(more, run.indices);
  return { ...run.holdout, columns: { ...run.holdout.columns, ...taken.columns } };
}
