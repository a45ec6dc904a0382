// A register input for a made-up run (placeholder artifact hashes and uri, a one-feature binary model, a passing
// evaluation without a champion) for tests of the registry on Postgres; callers override what they look at.
import type { Db } from '../../db/client.js';
import { registerVersion } from '../../registry/register-version.js';
import type { EvaluateModelResult, RegisterModelVersionInput, TrainModelResult } from '../../workflows/contracts/pipeline-activities.js';
import { insertRunRow } from './run-rows.js';

export interface RegistrationOverrides {
  training?: Partial<TrainModelResult>;
  evaluation?: Partial<EvaluateModelResult>;
}

export function registrationInput(model: string, runId: string, overrides: RegistrationOverrides = {}): RegisterModelVersionInput {
  const training: TrainModelResult = {
    trainer: 'gbdt',
    artifactSha256: 'a'.repeat(64),
    artifactUri: 'file:///artifacts/a.onnx',
    modelJsonSha256: 'b'.repeat(64),
    featureSchema: [{ name: 'x', kind: 'numeric' }],
    params: {},
    metrics: {},
    bestIteration: 1,
    importance: { x: 1 },
    trainRows: 70,
    validRows: 10,
    holdoutRows: 20,
    resumedFromIteration: null,
    ...overrides.training,
  };
  const evaluation: EvaluateModelResult = {
    reportId: '',
    candidateMetrics: { auc: 0.8 },
    champion: null,
    deltas: {},
    parity: { passed: true, maxAbsDiff: 0, rows: 20 },
    gatesPassed: true,
    failedGates: [],
    challengerNoWorse: true,
    ...overrides.evaluation,
  };
  return { runId, model, task: 'binary', target: 'y', snapshotSha256: 'e'.repeat(64), training, evaluation };
}

/** Registers `registrationInput(model, runId, overrides)` after giving the run its row; returns the version number. */
export async function registerTestVersion(db: Db, model: string, runId: string, overrides: RegistrationOverrides = {}): Promise<number> {
  await insertRunRow(db, runId, model);
  return (await registerVersion(db, registrationInput(model, runId, overrides))).version;
}
