import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { openDuckDb } from '../data/duckdb-session.js';
import { getEvaluationReportByRunId } from '../db/repositories/evaluation-reports.js';
import type { GbdtModel } from '../ml/model.js';
import { binaryMetrics } from '../ml/metrics/index.js';
import { splitRows } from '../ml/split.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import {
  onnxBytesOf,
  registerFixtureVersion,
  setProduction,
  sigmoid,
  stumpModel,
} from '../test/support/model-fixtures.js';
import type { EvaluateModelInput } from '../workflows/contracts/pipeline-activities.js';
import { createEvaluateActivities, type EvaluateActivities, type EvaluationReport } from './evaluate-activities.js';

const ROWS = 400;
const SEED = 7;

let database: TestDatabase;
let workDir: string;
let artifacts: FsArtifactStore;
let activities: EvaluateActivities;
let snapshotSha256: string;

/** Row i: x = i / ROWS, color cycles red / blue / missing, y = 1 mostly when x > 0.5 (deterministic noise). */
const xOf = (i: number) => i / ROWS;
const colorOf = (i: number) => (['red', 'blue', null] as const)[i % 3];
const yOf = (i: number) => ((i * 7919) % 10 < (xOf(i) > 0.5 ? 8 : 2) ? 1 : 0);

/** The stump's probability, from its definition rather than through any Keel code. */
function stumpProbability(i: number, shift = 0): number {
  if (xOf(i) <= 0.5) return sigmoid(shift - 1);
  return sigmoid(shift + (colorOf(i) === 'red' ? 1 : 0.5));
}

beforeAll(async () => {
  database = await createTestDatabase();
  workDir = await mkdtemp(join(tmpdir(), 'keel-evaluate-'));
  artifacts = new FsArtifactStore(join(workDir, 'artifacts'));
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
  snapshotSha256 = (await artifacts.putFile(parquet, { extension: '.parquet' })).sha256;
  activities = createEvaluateActivities({ db: database.db, artifacts });
});
afterAll(async () => {
  await database?.close();
  await rm(workDir, { recursive: true, force: true });
});

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

const holdout = () => Array.from(splitRows(ROWS, SEED).holdout);

describe('evaluateModel', () => {
  it('scores the holdout with the candidate through onnxruntime and matches metrics computed from the model definition', async () => {
    const result = await activities.evaluateModel(await input('eval-1', 'first-model', { gates: { auc: { min: 0.6 }, maxRegression: { auc: 0.01 } } }));
    const rows = holdout();
    const expected = binaryMetrics(rows.map(yOf), rows.map((i) => stumpProbability(i)));
    expect(result.candidateMetrics).toEqual({
      auc: expect.closeTo(expected.auc!, 9),
      logloss: expect.closeTo(expected.logLoss, 6),
      accuracy: expected.accuracy,
      precision: expected.precision,
      recall: expected.recall,
      f1: expected.f1,
    });
    expect(result).toMatchObject({
      champion: null,
      deltas: {},
      parity: { passed: true, rows: rows.length },
      gatesPassed: true,
      failedGates: [],
      challengerNoWorse: true,
    });
    expect(result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    const stored = await getEvaluationReportByRunId(database.db, 'eval-1');
    const report = stored!.report as EvaluationReport;
    expect(stored!.id).toBe(result.reportId);
    expect(report.championSkipped).toBe('no production version yet');
    expect(report.smokeRow).toEqual({ x: xOf(rows[0]!), color: colorOf(rows[0]!) });
    expect(report.gates.checks.map((c) => c.gate)).toEqual(['auc.min', 'maxRegression.auc']);
  });

  it('when retried, then it returns the stored result instead of writing a second report', async () => {
    const first = await activities.evaluateModel(await input('eval-retry', 'retry-model'));
    const again = await activities.evaluateModel(await input('eval-retry', 'retry-model', { candidate: await candidate(stumpModel('binary', 3)) }));
    expect(again).toEqual(first);
  });

  it('compares with the production champion on the same holdout and applies maxRegression to it', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'champion-model', runId: 'champion-v1', shift: 2 });
    await setProduction(database.db, v1, 'champion-model');
    const result = await activities.evaluateModel(
      await input('eval-challenger', 'champion-model', { gates: { maxRegression: { logloss: 0 } } }),
    );
    const rows = holdout();
    const championExpected = binaryMetrics(rows.map(yOf), rows.map((i) => stumpProbability(i, 2)));
    expect(result.champion).toMatchObject({ version: 1, metrics: { logloss: expect.closeTo(championExpected.logLoss, 6) } });
    // A constant shift keeps the ranking: same AUC, so the challenger is no worse on the primary metric.
    expect(result.deltas.auc).toBeCloseTo(0, 9);
    expect(result.challengerNoWorse).toBe(true);
    expect(result.deltas.logloss).toBeCloseTo(result.candidateMetrics.logloss! - championExpected.logLoss, 6);
    const lossRose = result.candidateMetrics.logloss! > championExpected.logLoss;
    expect(result.gatesPassed).toBe(!lossRose);
  });

  it('when the trainer and onnxruntime disagree, then parity fails and so do the gates', async () => {
    const result = await activities.evaluateModel(
      await input('eval-parity', 'parity-model', { candidate: await candidate(stumpModel('binary'), stumpModel('binary', 0.01)) }),
    );
    expect(result.parity.passed).toBe(false);
    expect(result.parity.maxAbsDiff).toBeGreaterThan(1e-3);
    expect(result.gatesPassed).toBe(false);
    expect(result.failedGates).toEqual([expect.stringMatching(/^parity: onnxruntime differs from the trainer by /)]);
  });

  it('skips a champion whose feature schema does not fit, saying why', async () => {
    const numericColor: GbdtModel = {
      ...stumpModel('binary'),
      features: [
        { name: 'x', kind: 'numeric' },
        { name: 'color', kind: 'numeric' },
      ],
      trees: [{ ...stumpModel('binary').trees[0]!, categorySets: [null, null, null, null, null] }],
    };
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'mismatch-model', runId: 'mismatch-v1' });
    // Replace v1's artifact with the numeric-color model, as an older schema would have been.
    const stored = await artifacts.putBytes(onnxBytesOf(numericColor), { extension: '.onnx' });
    await database.pool.query('UPDATE model_versions SET artifact_sha256 = $1 WHERE id = $2', [stored.sha256, v1.id]);
    await setProduction(database.db, v1, 'mismatch-model');
    const result = await activities.evaluateModel(await input('eval-mismatch', 'mismatch-model'));
    expect(result.champion).toBeNull();
    expect(result.challengerNoWorse).toBe(true);
    const report = (await getEvaluationReportByRunId(database.db, 'eval-mismatch'))!.report as EvaluationReport;
    expect(report.championSkipped).toBe('champion v1 is incompatible: feature "color" is numeric for the champion but categorical for the candidate');
  });

  it('when run as an activity, then it heartbeats while it works', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const evaluation = await input('eval-heartbeat', 'heartbeat-model');
    await env.run(activities.evaluateModel, evaluation);
    expect(beats[0]).toBe('evaluating run eval-heartbeat');
  });

  it('rejects a target that is not in the snapshot as a permanent failure', async () => {
    await expect(activities.evaluateModel(await input('eval-bad-target', 'bad-target', { target: 'nope' }))).rejects.toMatchObject({
      type: 'INVALID_SPEC',
      nonRetryable: true,
    });
  });
});
