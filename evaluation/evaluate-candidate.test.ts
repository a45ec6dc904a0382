import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvaluationReportByRunId } from '../db/repositories/evaluation-reports.js';
import type { GbdtModel } from '../ml/model.js';
import { binaryMetrics } from '../ml/metrics/index.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { colorOf, createEvaluationFixture, holdout, SEED, stumpProbability, xOf, yOf, type EvaluationFixture } from '../test/support/evaluation-fixture.js';
import { onnxBytesOf, registerFixtureVersion, setProduction, stumpModel } from '../test/support/model-fixtures.js';
import type { EvaluateModelInput } from '../workflows/contracts/pipeline-activities.js';
import { evaluateCandidate } from './evaluate-candidate.js';
import type { EvaluationReport } from './evaluation-report.js';

let database: TestDatabase;
let fixture: EvaluationFixture;

beforeAll(async () => {
  database = await createTestDatabase();
  fixture = await createEvaluationFixture();
});
afterAll(async () => {
  await database?.close();
  await fixture?.close();
});

const evaluate = (input: EvaluateModelInput) => evaluateCandidate({ db: database.db, artifacts: fixture.artifacts }, input);
/** The evaluation input of a run that has its runs row, as a run started through the API has. */
async function input(runId: string, model: string, overrides?: Partial<EvaluateModelInput>): Promise<EvaluateModelInput> {
  await insertRunRow(database.db, runId, model);
  return fixture.input(runId, model, overrides);
}
const candidate = (onnxModel: GbdtModel, jsonModel?: GbdtModel) => fixture.candidate(onnxModel, jsonModel);

describe('evaluateCandidate', () => {
  it('scores the holdout with the candidate through onnxruntime and matches metrics computed from the model definition', async () => {
    const result = await evaluate(await input('eval-1', 'first-model', { gates: { auc: { min: 0.6 }, maxRegression: { auc: 0.01 } } }));
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
    expect(result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-9);
    const stored = await getEvaluationReportByRunId(database.db, 'eval-1');
    const report = stored!.report as EvaluationReport;
    expect(stored!.id).toBe(result.reportId);
    expect(report.championSkipped).toBe('no production version yet');
    expect(report.smokeRow).toEqual({ x: xOf(rows[0]!), color: colorOf(rows[0]!) });
    expect(report.gates.checks.map((c) => c.gate)).toEqual(['auc.min', 'maxRegression.auc']);
  });

  it('compares with the production champion on the same holdout and applies maxRegression to it', async () => {
    // Trained on this snapshot with the same (row-index) split: it trained on none of the holdout rows.
    const v1 = await registerFixtureVersion(database.db, fixture.artifacts, {
      model: 'champion-model',
      runId: 'champion-v1',
      shift: 2,
      params: { seed: SEED },
      snapshotSha256: fixture.snapshotSha256,
    });
    await setProduction(database.db, v1, 'champion-model');
    const result = await evaluate(
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
    expect(result.comparison).toMatchObject({ status: 'fair', championTrainedHoldoutRows: 0, holdoutRows: rows.length });
  });

  it('when the trainer and onnxruntime disagree, then parity fails and so do the gates', async () => {
    const result = await evaluate(
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
    const v1 = await registerFixtureVersion(database.db, fixture.artifacts, { model: 'mismatch-model', runId: 'mismatch-v1' });
    // Replace v1's artifact with the numeric-color model, as an older schema would have been.
    const stored = await fixture.artifacts.putBytes(onnxBytesOf(numericColor), { extension: '.onnx' });
    await database.pool.query('UPDATE model_versions SET artifact_sha256 = $1 WHERE id = $2', [stored.sha256, v1.id]);
    await setProduction(database.db, v1, 'mismatch-model');
    const result = await evaluate(await input('eval-mismatch', 'mismatch-model'));
    expect(result.champion).toBeNull();
    expect(result.challengerNoWorse).toBe(true);
    const report = (await getEvaluationReportByRunId(database.db, 'eval-mismatch'))!.report as EvaluationReport;
    expect(report.championSkipped).toBe('champion v1 is incompatible: feature "color" is numeric for the champion but categorical for the candidate');
  });

  it('when the target is not in the snapshot, then it throws INVALID_SPEC', async () => {
    await expect(evaluate(await input('eval-bad-target-domain', 'bad-target-domain', { target: 'nope' }))).rejects.toMatchObject({
      code: 'INVALID_SPEC',
    });
  });
});
