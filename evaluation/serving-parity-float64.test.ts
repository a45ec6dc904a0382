// Float64 end to end (issue 10 §2): a CSV with one-second timestamps, ids near 2^53 and cent amounts above a
// billion is snapshotted, trained on (GBDT and linear, binary and regression), exported and evaluated; onnxruntime
// and the serving path in source shape (TIMESTAMP → epoch seconds in the serving DuckDB) reproduce the trainer
// within 1e-9, where float32 inputs (spacing 128 s near 1.7e9) flipped branches.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotDataset, type DatasetSnapshot } from '../data/snapshot-dataset.js';
import { getEvaluationReportByRunId } from '../db/repositories/evaluation-reports.js';
import { seededRandom } from '../ml/gbdt/prng.js';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { trainModel } from '../training/train-model.js';
import type { BuiltInTrainerSpec } from '../workflows/contracts/run-spec.js';
import { evaluateCandidate } from './evaluate-candidate.js';

const T0 = Date.UTC(2023, 10, 14, 22, 13, 20); // epoch second 1_700_000_000
const ID0 = 9_007_000_000_000_000n;

let sandbox: DataSandbox;
let database: TestDatabase;
let snapshot: DatasetSnapshot;

/** 4,000 rows: event_time (one-second resolution over a day), account_id, amount, and the targets y (0/1) and spend. */
function csv(): string {
  const rand = seededRandom(2026);
  const lines = ['event_time,account_id,amount,y,spend'];
  for (let i = 0; i < 4000; i++) {
    const second = Math.floor(rand() * 86_400);
    const id = Math.floor(rand() * 1_000_000);
    const cents = Math.floor(rand() * 1_000_000);
    const z = (second > 40_001 ? 1.5 : -1) + (id > 333_333 ? 0.8 : -0.4) + (cents > 500_037 ? 0.6 : -0.6);
    const time = new Date(T0 + second * 1000).toISOString().replace('T', ' ').slice(0, 19);
    const amount = `${1_234_567_890 + Math.floor(cents / 100)}.${String(12 + (cents % 100)).padStart(2, '0').slice(-2)}`;
    lines.push(`${time},${ID0 + BigInt(id)},${amount},${rand() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0},${(100 * z + rand()).toFixed(6)}`);
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  sandbox = await createDataSandbox();
  database = await createTestDatabase();
  await writeFile(join(sandbox.dataRoot, 'large-values.csv'), csv());
  snapshot = await snapshotDataset({ source: { kind: 'file', path: 'large-values.csv' } }, { artifacts: sandbox.artifacts, settings: sandbox.settings });
});
afterAll(async () => {
  await database?.close();
  await sandbox?.cleanup();
});

describe('float64 from training to serving', () => {
  it('when the source has timestamps, 64-bit-range ids and large amounts, then the snapshot keeps their types', () => {
    expect(snapshot.columns.slice(0, 3)).toEqual([
      { name: 'event_time', type: 'TIMESTAMP' },
      { name: 'account_id', type: 'BIGINT' },
      { name: 'amount', type: 'DOUBLE' },
    ]);
  });

  const cases: [string, 'binary' | 'regression', BuiltInTrainerSpec][] = [
    ['y', 'binary', { kind: 'gbdt', params: { numIterations: 30, numLeaves: 15, minDataInLeaf: 5 } }],
    ['spend', 'regression', { kind: 'gbdt', params: { numIterations: 30, numLeaves: 15, minDataInLeaf: 5 } }],
    ['y', 'binary', { kind: 'linear' }],
    ['spend', 'regression', { kind: 'linear' }],
  ];
  for (const [target, task, trainer] of cases) {
    it(`when a ${trainer.kind} ${task} model is trained and evaluated, then onnxruntime and the serving path match the trainer within 1e-9`, async () => {
      const runId = `float64-${trainer.kind}-${task}`;
      const base = { runId, model: runId, snapshotSha256: snapshot.sha256, target, task, features: ['event_time', 'account_id', 'amount'], seed: 3 };
      const trained = await trainModel(
        { artifacts: sandbox.artifacts, checkpointDir: join(sandbox.root, `checkpoints-${runId}`), keelVersion: '0.1.0-test' },
        { ...base, trainer },
      );
      await insertRunRow(database.db, runId, runId);
      const result = await evaluateCandidate(
        { db: database.db, artifacts: sandbox.artifacts },
        { ...base, candidate: { artifactSha256: trained.artifactSha256, modelJsonSha256: trained.modelJsonSha256 }, servingSource: snapshot.servingSource },
      );
      // Regression values reach ~300, and parity is relative to max(1, |value|).
      const tolerance = task === 'binary' ? 1e-9 : 1e-9 * 300;
      expect(result.parity.rows).toBeGreaterThan(300);
      expect(result.parity.passed).toBe(true);
      expect(result.parity.maxAbsDiff).toBeLessThanOrEqual(tolerance);
      expect(result.failedGates).toEqual([]);
      const report = (await getEvaluationReportByRunId(database.db, runId))!.report as { servingParity: { rows: number; maxAbsDiff: number; passed: boolean; unmatched: number } };
      expect(report.servingParity).toMatchObject({ passed: true, unmatched: 0 });
      expect(report.servingParity.rows).toBeGreaterThan(50);
      expect(report.servingParity.maxAbsDiff).toBeLessThanOrEqual(tolerance);
    });
  }
});
