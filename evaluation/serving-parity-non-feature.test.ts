// Issue 10 §3: a missing value in a column that is not a feature no longer fails the run. Null text, NaN and
// infinite numbers in non-feature columns pass validation (warnings), training and evaluation; the serving-parity
// check leaves out the sampled source rows no JSON request could carry (NaN / ±Infinity) and says how many and why.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { profileSnapshot } from '../data/profile-snapshot.js';
import { snapshotDataset } from '../data/snapshot-dataset.js';
import { validateProfile } from '../data/validate-profile.js';
import { getEvaluationReportByRunId } from '../db/repositories/evaluation-reports.js';
import { createDataSandbox, type DataSandbox } from '../test/data-sandbox.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { trainModel } from '../training/train-model.js';
import { evaluateCandidate } from './evaluate-candidate.js';
import type { EvaluationReport } from './evaluation-report.js';

let sandbox: DataSandbox;
let database: TestDatabase;

beforeAll(async () => {
  sandbox = await createDataSandbox();
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
  await sandbox?.cleanup();
});

it('when columns that are not features hold nulls, NaN and infinities, then validation, training and evaluation go through', async () => {
  const lines = ['x,note,ratio,y'];
  let nonFinite = 0;
  for (let i = 0; i < 600; i++) {
    const ratio = i % 7 === 0 ? 'nan' : i % 11 === 0 ? '-inf' : String(i / 3);
    if (i % 7 === 0 || i % 11 === 0) nonFinite++;
    lines.push(`${i},${i % 5 === 0 ? '' : `n${i}`},${ratio},${(i * 7919) % 10 < (i > 300 ? 8 : 2) ? 1 : 0}`);
  }
  await writeFile(join(sandbox.dataRoot, 'notes.csv'), `${lines.join('\n')}\n`);
  const snapshot = await snapshotDataset({ source: { kind: 'file', path: 'notes.csv' } }, { artifacts: sandbox.artifacts, settings: sandbox.settings });
  expect(snapshot.columns.find((column) => column.name === 'ratio')?.type).toBe('DOUBLE');
  const snapshotPath = await sandbox.artifacts.localPath(snapshot.sha256);

  const validation = validateProfile(await profileSnapshot(snapshotPath), { target: 'y', task: 'binary', features: ['x'] });
  expect(validation.checks.filter((check) => !check.passed && check.severity === 'error')).toEqual([]);
  expect(validation.passed).toBe(true);

  const base = { runId: 'non-feature-1', model: 'non-feature', snapshotSha256: snapshot.sha256, target: 'y', task: 'binary' as const, features: ['x'], seed: 3 };
  const trained = await trainModel(
    { artifacts: sandbox.artifacts, checkpointDir: join(sandbox.root, 'checkpoints'), keelVersion: '0.1.0-test' },
    { ...base, trainer: { kind: 'gbdt', params: { numIterations: 20, minDataInLeaf: 5 } } },
  );
  await insertRunRow(database.db, base.runId, base.model);
  const result = await evaluateCandidate(
    { db: database.db, artifacts: sandbox.artifacts },
    { ...base, candidate: { artifactSha256: trained.artifactSha256, modelJsonSha256: trained.modelJsonSha256 }, servingSource: snapshot.servingSource },
  );
  expect(result.failedGates).toEqual([]);
  expect(result.parity.passed).toBe(true);

  const report = (await getEvaluationReportByRunId(database.db, base.runId))!.report as EvaluationReport;
  expect(report.servingParity).toMatchObject({ passed: true, unmatched: 0, sampledSourceRows: 600, unservable: nonFinite });
  expect(report.servingParity!.unservableReason).toMatch(/^ratio: expected a number or null for DOUBLE, got number (NaN|-Infinity)$/);
  expect(report.servingParity!.rows).toBeGreaterThan(20);
  expect(report.servingParity!.skipped).toBeUndefined();
});
