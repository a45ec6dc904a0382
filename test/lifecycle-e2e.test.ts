// The whole lifecycle over HTTP on the real stack: real API listening on a port, real pipeline and training
// workers with every real activity, real Postgres, the real dev server, the shipped seattle-weather data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoRunSpec } from '../dev/bootstrap.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { keepHistory as keepHistoryFile } from './support/keep-history.js';
import { startKeelStack, type KeelStack } from './support/keel-stack.js';
import { uniqueName } from './support/temporal.js';

let stack: KeelStack;
const model = uniqueName('seattle-rain');

beforeAll(async () => {
  stack = await startKeelStack({ prefix: 'keel-e2e' });
});

afterAll(async () => {
  await stack?.temporal.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
  await stack?.close();
});

/** The run's live timings; the status query answers within 2 s or not at all, so a loaded machine may need a retry. */
async function liveTimings(runId: string): Promise<Record<string, any>[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { body } = await stack.api('GET', `/v1/runs/${runId}`, stack.keys.ops);
    if (body.timings !== null) return body.timings;
  }
  throw new Error(`run ${runId}: no worker answered the status query`);
}

/** `KEEL_RECORD_HISTORIES=1` keeps this real run's history as a replay fixture (see test/workflow-replay.test.ts). */
async function keepHistory(name: string, workflowId: string): Promise<void> {
  await keepHistoryFile(`pipeline-${name}`, stack.temporal.client.workflow.getHandle(workflowId));
}

async function startAndApprove(spec: Record<string, unknown>, historyName?: string): Promise<Record<string, any>> {
  const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, spec);
  expect(started.status).toBe(201);
  const waiting = await stack.waitForStatus(started.body.id, ['awaiting_review'], 900);
  const review = await stack.api('POST', `/v1/runs/${started.body.id}/review`, stack.keys.reviewer, { decision: 'approve', comment: 'metrics look right' });
  expect(review.status).toBe(200);
  expect(review.body).toMatchObject({ decision: 'approve', reviewer: 'bob' });
  await stack.waitForStatus(started.body.id, ['deployed'], 900);
  if (historyName) await keepHistory(historyName, started.body.workflowId);
  return waiting;
}

const row = { month: 11, temp_max: 9.4, temp_min: 4.4, wind: 5.1 };

describe('the lifecycle over HTTP', () => {
  it('runs, reviews, deploys, serves, retrains and rolls back a model on real data', async () => {
    const spec = { ...demoRunSpec(stack.datasetPath), model };

    // Run 1: ingested, validated, trained, evaluated, then waits for a reviewer.
    const waiting = await startAndApprove(spec, 'e2e-real-activities');
    expect(waiting.stage).toBe('awaiting_review');
    expect(waiting.validation.passed).toBe(true);
    expect(waiting.evaluation.report.result.candidateMetrics.auc).toBeGreaterThan(0.6);
    expect(waiting.evaluation.report.result.parity.passed).toBe(true);
    expect(waiting.version).toMatchObject({ version: 1, status: 'pending_approval' });
    // The train stage's parts as the training activity measured them, in the run's timings (the status query).
    const trainTiming = (await liveTimings(waiting.id)).find((timing) => timing.stage === 'train')!;
    expect(trainTiming.parts.map((part: { part: string }) => part.part)).toEqual(['load', 'split', 'train', 'metrics', 'export', 'store']);
    for (const part of trainTiming.parts) expect(part.durationMs).toBeGreaterThanOrEqual(0);

    const first = await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { features: [row] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ model, version: 1 });
    expect(first.body.predictions[0].probability).toBeGreaterThan(0);
    expect(first.body.predictions[0].probability).toBeLessThan(1);
    expect([0, 1]).toContain(first.body.predictions[0].label);
    // The same row in the source's shape: the version's feature SQL computes month(date) in serving.
    const sourceRow = { date: '2015-11-03', precipitation: null, temp_max: row.temp_max, temp_min: row.temp_min, wind: row.wind, weather: null };
    const raw = await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { rows: [sourceRow] });
    expect(raw.status).toBe(200);
    expect(raw.body.predictions[0].probability).toBeCloseTo(first.body.predictions[0].probability, 6);
    const servingParity = waiting.evaluation.report.servingParity;
    expect(servingParity.rows).toBeGreaterThan(20);
    expect(servingParity.maxAbsDiff).toBeLessThan(1e-5);
    expect(servingParity.unmatched).toBe(0);
    const missingField = await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { rows: [{ ...sourceRow, weather: undefined }] });
    expect(missingField.status).toBe(400);
    expect(missingField.body.error.details).toMatchObject({ row: 0, field: 'weather' });
    const badRow = await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { features: [{ ...row, wind: 'windy' }] });
    expect(badRow.status).toBe(400);
    expect(badRow.body.error.message).toContain('wind');

    // Run 2: a retrain, compared against version 1 as the champion.
    const retrain = { ...spec, trainer: { kind: 'gbdt', params: { numIterations: 40, numLeaves: 7, learningRate: 0.1 } } };
    const secondWaiting = await startAndApprove(retrain);
    expect(secondWaiting.evaluation.championVersion).toBe(1);
    const second = await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { features: [row] });
    expect(second.body.version).toBe(2);

    // Ops roll production back to version 1; serving follows.
    const rollback = await stack.api('POST', `/v1/models/${model}/rollback`, stack.keys.ops, { version: 1, reason: 'v2 misbehaves on live traffic' });
    expect(rollback.status).toBe(200);
    let served = second.body.version;
    for (let attempt = 0; attempt < 100 && served !== 1; attempt++) {
      served = (await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { features: [row] })).body.version;
      if (served !== 1) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(served).toBe(1);
    const shown = await stack.api('GET', `/v1/models/${model}`, stack.keys.ops);
    expect(shown.body.versions.map((version: { version: number }) => version.version).sort()).toEqual([1, 2]);
    expect(JSON.stringify(shown.body)).toContain('v2 misbehaves on live traffic');
    // Two whole runs on a loaded 2-core CI machine: generous, since nothing here is a timing assertion.
  }, 300_000);
});
