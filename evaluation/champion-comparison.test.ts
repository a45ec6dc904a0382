import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { getModelByName } from '../db/repositories/models.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { registerVersion } from '../registry/register-version.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { setProduction } from '../test/support/model-fixtures.js';
import { flightsTrainingSql, storeParquetSnapshot } from '../test/support/training-snapshots.js';
import { trainModel } from '../training/train-model.js';
import type { EvaluateModelResult, TrainModelInput } from '../workflows/contracts/pipeline-activities.js';
import type { Gates } from '../workflows/contracts/run-spec.js';
import type { ModelSplit } from '../workflows/contracts/split.js';
import { evaluateCandidate } from './evaluate-candidate.js';

let database: TestDatabase;
let root: string;
let artifacts: FsArtifactStore;
let snapshotSha256: string;

beforeAll(async () => {
  database = await createTestDatabase();
  root = await mkdtemp(join(tmpdir(), 'keel-champion-'));
  artifacts = new FsArtifactStore(join(root, 'artifacts'));
  snapshotSha256 = await storeParquetSnapshot(artifacts, flightsTrainingSql(4000));
}, 60_000);
afterAll(async () => {
  await database?.close();
  await rm(root, { recursive: true, force: true });
});

/** Trains, evaluates and registers one run as the pipeline does; `deploy` makes it production. */
async function run(runId: string, seed: number, split: ModelSplit, options: { deploy?: boolean; gates?: Gates } = {}) {
  const input: TrainModelInput = {
    runId,
    model: 'flights',
    snapshotSha256,
    target: 'delayed',
    task: 'binary',
    trainer: { kind: 'gbdt', params: { numIterations: 40, numLeaves: 63, minDataInLeaf: 2 } },
    seed,
    split,
  };
  await insertRunRow(database.db, runId, 'flights');
  const training = await trainModel({ artifacts, checkpointDir: join(root, 'checkpoints'), keelVersion: 'test' }, input);
  const evaluation: EvaluateModelResult = await evaluateCandidate(
    { db: database.db, artifacts },
    { ...input, candidate: { artifactSha256: training.artifactSha256, modelJsonSha256: training.modelJsonSha256 }, gates: options.gates },
  );
  const registered = await registerVersion(database.db, { runId, model: 'flights', task: 'binary', target: 'delayed', snapshotSha256, training, evaluation });
  if (options.deploy) {
    const model = (await getModelByName(database.db, 'flights'))!;
    await setProduction(database.db, (await getModelVersion(database.db, model.id, registered.version))!, 'flights');
  }
  return { training, evaluation };
}

describe('champion vs challenger on rows neither trained on', () => {
  const split: ModelSplit = { spec: { kind: 'hash' }, salt: 'first-run-salt' };

  it('when two runs on the same snapshot use different seeds, then the champion scores the challenger holdout as it scored its own', async () => {
    const champion = await run('champion-run', 1, split, { deploy: true });
    const model = (await getModelByName(database.db, 'flights'))!;
    expect(model.splitSalt).toBe('first-run-salt');
    const challenger = await run('challenger-run', 2, { ...split, salt: model.splitSalt }, { gates: { maxRegression: { auc: 0.05 } } });
    expect(challenger.evaluation.comparison).toMatchObject({ status: 'fair', championTrainedHoldoutRows: 0, reason: null });
    // Same rows, same model: the champion's number on the challenger's holdout is its own-holdout number.
    expect(challenger.evaluation.champion!.metrics.auc).toBeCloseTo(champion.evaluation.candidateMetrics.auc!, 9);
    expect(challenger.evaluation.challengerNoWorse).not.toBeNull();
  }, 120_000);

  it('when the split changed since the champion, then the comparison is biased and its gates say not comparable', async () => {
    const changed: ModelSplit = { spec: { kind: 'group', column: 'origin' }, salt: split.salt };
    const { evaluation } = await run('changed-split-run', 3, changed, { gates: { auc: { min: 0.5 }, maxRegression: { auc: 0.0 } } });
    expect(evaluation.comparison!.status).toBe('biased');
    expect(evaluation.comparison!.championTrainedHoldoutRows).toBeGreaterThan(evaluation.comparison!.holdoutRows / 2);
    expect(evaluation.comparison!.reason).toMatch(/^champion v1 trained on \d+ of the \d+ holdout rows: its split \(hash of the row's/);
    expect(evaluation.challengerNoWorse).toBeNull();
    expect(evaluation.failedGates).toEqual([]);
    const stored = (await database.pool.query('SELECT report FROM evaluation_reports WHERE run_id = $1', ['changed-split-run'])).rows[0].report;
    expect(stored.gates.checks.find((c: { gate: string }) => c.gate === 'maxRegression.auc')).toMatchObject({
      notComparable: true,
      detail: expect.stringMatching(/^auc: not comparable with the champion: champion v1 trained on/),
    });
  }, 120_000);
});
