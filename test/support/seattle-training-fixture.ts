// The train stage and its activity share this setup: a scratch root per test file with an artifact store holding
// the Seattle weather training snapshot, the "sunny" binary input over it and training deps with their own checkpoints.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import type { TrainingDeps } from '../../training/train-model.js';
import type { TrainModelInput } from '../../workflows/contracts/pipeline-activities.js';
import { SEATTLE_TRAINING_SQL, storeParquetSnapshot } from './training-snapshots.js';

export const weatherFeatures = ['precipitation', 'temp_max', 'temp_min', 'wind', 'month'];

export interface SeattleTrainingFixture {
  readonly root: string;
  readonly artifacts: FsArtifactStore;
  /** The sha256 of the stored Seattle training snapshot. */
  readonly seattle: string;
  sunnyInput(overrides?: Partial<TrainModelInput>): TrainModelInput;
  /** Deps with a checkpoint directory no other call shares. */
  depsWith(checkpointEveryIterations?: number): TrainingDeps;
}

/** Registers the file's beforeAll / afterAll; read the fields inside tests and hooks. */
export function useSeattleTrainingFixture(tempPrefix: string): SeattleTrainingFixture {
  let root: string | undefined;
  let artifacts: FsArtifactStore | undefined;
  let seattle: string | undefined;
  let depsCount = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), tempPrefix));
    artifacts = new FsArtifactStore(join(root, 'artifacts'));
    seattle = await storeParquetSnapshot(artifacts, SEATTLE_TRAINING_SQL);
  });

  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  return {
    get root() {
      return root!;
    },
    get artifacts() {
      return artifacts!;
    },
    get seattle() {
      return seattle!;
    },
    sunnyInput(overrides = {}) {
      return {
        runId: 'run-sunny',
        model: 'sunny-days',
        snapshotSha256: seattle!,
        target: 'sunny',
        task: 'binary',
        features: weatherFeatures,
        trainer: {
          kind: 'gbdt',
          // Bagging and feature sampling: a resumed run must also restore the sampler's state.
          params: { numIterations: 40, numLeaves: 15, minDataInLeaf: 10, learningRate: 0.1, baggingFraction: 0.8, featureFraction: 0.8 },
        },
        seed: 7,
        ...overrides,
      };
    },
    depsWith(checkpointEveryIterations = 5) {
      return {
        artifacts: artifacts!,
        checkpointDir: join(root!, `checkpoints-${depsCount++}`),
        keelVersion: '0.1.0-test',
        checkpointPolicy: { everyIterations: checkpointEveryIterations, everyMs: Number.POSITIVE_INFINITY },
      };
    },
  };
}
