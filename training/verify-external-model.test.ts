// An external trainer's answer is input: every way it can break the contract is refused by name before anything reads it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import type { VerifyExternalModelInput } from '../workflows/contracts/training-contract.js';
import { verifyExternalModel } from './verify-external-model.js';

let root: string;
let artifacts: FsArtifactStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keel-verify-external-'));
  artifacts = new FsArtifactStore(root);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha = (c: string) => c.repeat(64);

function input(answer: unknown): VerifyExternalModelInput {
  return {
    runId: 'r-1',
    model: 'm',
    task: 'binary',
    snapshotSha256: sha('c'),
    trainerName: 'lightgbm',
    taskQueue: 'trainers-python',
    prepared: {
      rows: { sha256: sha('d'), uri: 'file:///rows' },
      rowCount: 10,
      trainRows: 7,
      validRows: 1,
      holdoutRows: 2,
      features: [{ name: 'x', kind: 'numeric', sourceType: 'DOUBLE' }],
      labelClasses: null,
      split: { kind: 'row-index', seed: 1, fractions: { valid: 0.1, holdout: 0.2 } },
      ignoredFeatures: [],
    },
    answer,
  };
}

const answer = (overrides: Record<string, unknown> = {}) => ({
  contractVersion: 1,
  onnx: { sha256: sha('a') },
  modelJson: { sha256: sha('b') },
  holdoutPredictions: { sha256: sha('e') },
  params: {},
  metrics: {},
  bestIteration: 3,
  importance: {},
  trainRows: 7,
  validRows: 1,
  holdoutRows: 2,
  framework: { name: 'lightgbm', version: '4.7.0' },
  ...overrides,
});

describe('verifyExternalModel', () => {
  it('refuses an answer that does not fit the contract, naming the field', async () => {
    await expect(verifyExternalModel(artifacts, input(answer({ onnx: { sha256: 'not-a-sha' } })))).rejects.toMatchObject({
      code: 'EXTERNAL_MODEL_REJECTED',
      message: expect.stringMatching(/does not fit the training contract: \/onnx\/sha256/),
    });
    await expect(verifyExternalModel(artifacts, input(null))).rejects.toMatchObject({ code: 'EXTERNAL_MODEL_REJECTED' });
    await expect(verifyExternalModel(artifacts, input(answer({ contractVersion: 2 })))).rejects.toMatchObject({
      message: expect.stringMatching(/\/contractVersion/),
    });
  });

  it('refuses an answer naming an artifact the store does not hold', async () => {
    await expect(verifyExternalModel(artifacts, input(answer()))).rejects.toMatchObject({
      code: 'EXTERNAL_MODEL_REJECTED',
      message: `the external trainer's ONNX model ${sha('a')} is not in the artifact store`,
    });
  });

  it('refuses bytes onnxruntime cannot load as the ONNX model', async () => {
    const onnx = await artifacts.putBytes(Buffer.from('not onnx'), { extension: '.onnx' });
    const json = await artifacts.putBytes(Buffer.from('{}'), { extension: '.json' });
    const predictions = await artifacts.putBytes(Buffer.from('p'), { extension: '.parquet' });
    const refused = verifyExternalModel(
      artifacts,
      input(answer({ onnx: { sha256: onnx.sha256 }, modelJson: { sha256: json.sha256 }, holdoutPredictions: { sha256: predictions.sha256 } })),
    );
    // The ONNX is checked first: bytes onnxruntime cannot load.
    await expect(refused).rejects.toMatchObject({ message: expect.stringMatching(/ONNX model does not load in onnxruntime/) });
  });
});
