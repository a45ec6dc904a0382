// A test double of a remote trainer worker: a TypeScript `trainModel` activity that honours the training contract
// (docs/training-contract.md) by training Keel's own linear model, or breaks it the ways a real one could. Keel's
// side (prepare, verify, evaluate, register) runs for real against it.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { openDuckDb } from '../../data/duckdb-session.js';
import { quoteString } from '../../data/sql-literal.js';
import { loadTrainingData, selectRows } from '../../data/training-data.js';
import { predictLinear, trainLinear } from '../../ml/linear/index.js';
import type { LinearModel } from '../../ml/model.js';
import { exportModelToOnnx } from '../../ml/onnx/index.js';
import { PART_CODES, readParts } from '../../training/external-training-rows.js';
import { TRAINING_CONTRACT_VERSION, type ExternalTrainModelInput } from '../../workflows/contracts/training-contract.js';

/** What the fake does, chosen by the run spec's `trainer.name`. */
export type FakeBehaviour = 'fake-ok' | 'fake-sha-mismatch' | 'fake-unloadable' | 'fake-crash' | 'fake-hang';

export function createFakeExternalTrainer(artifacts: FsArtifactStore) {
  return {
    async trainModel(input: ExternalTrainModelInput): Promise<unknown> {
      const behaviour = input.trainer.name as FakeBehaviour;
      if (behaviour === 'fake-crash') throw new Error('the trainer process crashed (simulated)');
      if (behaviour === 'fake-hang') {
        // Never heartbeats: the workflow's heartbeat timeout must end the attempt.
        await Context.current().sleep(60_000);
        return null;
      }
      const snapshotPath = await artifacts.localPath(input.snapshot.sha256);
      const data = await loadTrainingData(snapshotPath, { target: input.target, task: input.task, features: input.features.map((f) => f.name) });
      const parts = await readParts(await artifacts.localPath(input.rows.sha256));
      const rowsOf = (code: number) => {
        const rows: number[] = [];
        parts.forEach((part, row) => part === code && rows.push(row));
        return Uint32Array.from(rows);
      };
      const train = selectRows(data.dataset, rowsOf(PART_CODES.train));
      const holdout = rowsOf(PART_CODES.holdout);
      const trained = trainLinear(train, { task: input.task, features: data.features });
      Context.current().heartbeat('trained');
      const onnxBytes =
        behaviour === 'fake-unloadable'
          ? Buffer.from('this is not an ONNX model')
          : exportModelToOnnx(trained.model, { snapshotSha256: input.snapshot.sha256, keelVersion: 'fake-trainer' });
      let onnx = await artifacts.putBytes(onnxBytes, { extension: '.onnx' });
      if (behaviour === 'fake-sha-mismatch') {
        // Stored under a name its bytes do not hash to, as a trainer that hashed the wrong bytes would.
        const claimed = 'e'.repeat(64);
        await mkdir(join(artifacts.root, 'sha256', 'ee'), { recursive: true });
        await writeFile(join(artifacts.root, 'sha256', 'ee', `${claimed}.onnx`), onnxBytes);
        onnx = { ...onnx, sha256: claimed };
      }
      const modelJson = await artifacts.putBytes(Buffer.from(JSON.stringify({ kind: 'external', trainer: behaviour, model: trained.model })), {
        extension: '.json',
      });
      const predictions = predictLinear(trained.model as LinearModel, selectRows(data.dataset, holdout));
      const holdoutPredictions = await storePredictions(artifacts, holdout, predictions);
      return {
        contractVersion: TRAINING_CONTRACT_VERSION,
        onnx: { sha256: onnx.sha256, uri: onnx.uri },
        modelJson: { sha256: modelJson.sha256, uri: modelJson.uri },
        holdoutPredictions,
        params: { fake: true },
        metrics: {},
        bestIteration: trained.bestIteration,
        importance: trained.importance,
        trainRows: train.rowCount,
        validRows: parts.filter((part) => part === PART_CODES.valid).length,
        holdoutRows: holdout.length,
        framework: { name: 'keel-linear', version: 'test' },
      };
    },
  };
}

async function storePredictions(artifacts: FsArtifactStore, rows: Uint32Array, values: Float64Array): Promise<{ sha256: string; uri: string }> {
  const dir = await mkdtemp(join(tmpdir(), `fake-trainer-${randomUUID().slice(0, 8)}-`));
  const session = await openDuckDb({ threads: 1 });
  try {
    await session.connection.run('CREATE TABLE p ("row" BIGINT, prediction DOUBLE)');
    const appender = await session.connection.createAppender('p');
    rows.forEach((row, i) => {
      appender.appendBigInt(BigInt(row));
      appender.appendDouble(values[i]!);
      appender.endRow();
    });
    appender.closeSync();
    const file = join(dir, 'predictions.parquet');
    await session.connection.run(`COPY p TO ${quoteString(file)} (FORMAT parquet)`);
    const stored = await artifacts.putFile(file, { extension: '.parquet', move: true });
    return { sha256: stored.sha256, uri: stored.uri };
  } finally {
    session.close();
    await rm(dir, { recursive: true, force: true });
  }
}
