// A 400-row snapshot (x, color, y) and stump-model candidates for evaluation tests, from definitions
// independent of the evaluation code.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { openDuckDb } from '../../data/duckdb-session.js';
import type { GbdtModel } from '../../ml/model.js';
import { splitRows } from '../../ml/split.js';
import type { EvaluateModelInput } from '../../workflows/contracts/pipeline-activities.js';
import { onnxBytesOf, sigmoid, stumpModel } from './model-fixtures.js';

export const ROWS = 400;
export const SEED = 7;

/** Row i: x = i / ROWS, color cycles red / blue / missing, y = 1 mostly when x > 0.5 (deterministic noise). */
export const xOf = (i: number) => i / ROWS;
export const colorOf = (i: number) => (['red', 'blue', null] as const)[i % 3];
export const yOf = (i: number) => ((i * 7919) % 10 < (xOf(i) > 0.5 ? 8 : 2) ? 1 : 0);

/** The stump's probability, from its definition rather than through any Keel code. */
export function stumpProbability(i: number, shift = 0): number {
  if (xOf(i) <= 0.5) return sigmoid(shift - 1);
  return sigmoid(shift + (colorOf(i) === 'red' ? 1 : 0.5));
}

export const holdout = () => Array.from(splitRows(ROWS, SEED).holdout);

export interface EvaluationFixture {
  artifacts: FsArtifactStore;
  snapshotSha256: string;
  candidate(onnxModel: GbdtModel, jsonModel?: GbdtModel): Promise<{ artifactSha256: string; modelJsonSha256: string }>;
  input(runId: string, model: string, overrides?: Partial<EvaluateModelInput>): Promise<EvaluateModelInput>;
  close(): Promise<void>;
}

export async function createEvaluationFixture(): Promise<EvaluationFixture> {
  const workDir = await mkdtemp(join(tmpdir(), 'keel-evaluate-'));
  const artifacts = new FsArtifactStore(join(workDir, 'artifacts'));
  const parquet = join(workDir, 'snapshot.parquet');
  const session = await openDuckDb({ threads: 1 });
  try {
    const values = Array.from({ length: ROWS }, (_, i) => `(${xOf(i)}, ${colorOf(i) === null ? 'NULL' : `'${colorOf(i)}'`}, ${yOf(i)})`);
    await session.connection.run(
      `COPY (SELECT * FROM (VALUES ${values.join(', ')}) AS t(x, color, y)) TO '${parquet}' (FORMAT parquet)`,
    );
  } finally {
    session.close();
  }
  const snapshotSha256 = (await artifacts.putFile(parquet, { extension: '.parquet' })).sha256;

  async function candidate(onnxModel: GbdtModel, jsonModel: GbdtModel = onnxModel) {
    const onnx = await artifacts.putBytes(onnxBytesOf(onnxModel), { extension: '.onnx' });
    const json = await artifacts.putBytes(Buffer.from(JSON.stringify(jsonModel)), { extension: '.json' });
    return { artifactSha256: onnx.sha256, modelJsonSha256: json.sha256 };
  }

  async function input(runId: string, model: string, overrides: Partial<EvaluateModelInput> = {}): Promise<EvaluateModelInput> {
    return {
      runId,
      model,
      snapshotSha256,
      target: 'y',
      task: 'binary',
      features: ['x', 'color'],
      seed: SEED,
      candidate: await candidate(stumpModel('binary')),
      ...overrides,
    };
  }

  return { artifacts, snapshotSha256, candidate, input, close: () => rm(workDir, { recursive: true, force: true }) };
}
