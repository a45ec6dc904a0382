// A multiclass model through the whole lifecycle over HTTP on the real stack (real API, workers, activities,
// Postgres, dev server): the shipped seattle-weather data, predicting its 5-class `weather` column.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitoringActivities } from '../activities/monitor-activities.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { startKeelStack, type KeelStack } from './support/keel-stack.js';
import { uniqueName } from './support/temporal.js';

let stack: KeelStack;
const model = uniqueName('seattle-weather');

beforeAll(async () => {
  stack = await startKeelStack({ prefix: 'keel-multiclass-e2e' });
});

afterAll(async () => {
  await stack?.temporal.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
  await stack?.close();
});

async function startAndApprove(spec: Record<string, unknown>): Promise<Record<string, any>> {
  const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, spec);
  expect(started.status).toBe(201);
  const waiting = await stack.waitForStatus(started.body.id, ['awaiting_review'], 900);
  const review = await stack.api('POST', `/v1/runs/${started.body.id}/review`, stack.keys.reviewer, { decision: 'approve', comment: 'classes look right' });
  expect(review.status).toBe(200);
  await stack.waitForStatus(started.body.id, ['deployed'], 900);
  return waiting;
}

const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
const row = { month: 11, precipitation: 6.1, temp_max: 9.4, temp_min: 4.4, wind: 5.1 };

describe('a multiclass model over HTTP', () => {
  it('ingests, trains, evaluates, registers, deploys and serves a 5-class model, then compares a linear retrain with it', async () => {
    const spec = {
      model,
      dataset: { uri: stack.datasetPath },
      transform: 'SELECT CAST(month("date") AS DOUBLE) AS month, precipitation, temp_max, temp_min, wind, weather FROM source',
      target: 'weather',
      task: 'multiclass',
      trainer: { kind: 'gbdt', params: { numIterations: 40, numLeaves: 7, learningRate: 0.1 } },
      gates: { accuracy: { min: 0.6 }, logloss: { max: 1.2 } },
    };

    const waiting = await startAndApprove(spec);
    const report = waiting.evaluation.report;
    const metrics = report.result.candidateMetrics;
    for (const name of ['accuracy', 'macro_f1', 'weighted_f1', 'macro_precision', 'macro_recall', 'logloss']) {
      expect(Number.isFinite(metrics[name]), name).toBe(true);
    }
    expect(metrics.accuracy).toBeGreaterThan(0.6);
    expect(report.result.parity.passed).toBe(true);
    expect(report.result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-6);
    expect(report.servingParity.passed).toBe(true);
    expect(report.classMetrics.classes).toEqual(CLASSES);
    expect(report.classMetrics.perClass.map((c: { class: string }) => c.class)).toEqual(CLASSES);
    const confusion: number[][] = report.classMetrics.confusion;
    expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(report.holdoutRows);
    expect(waiting.version).toMatchObject({ version: 1, status: 'pending_approval' });

    const served = await stack.api('POST', `/v1/models/${model}/predict`, stack.keys.predict, { features: [row, { ...row, precipitation: 0, temp_max: 28 }] });
    expect(served.status).toBe(200);
    expect(served.body).toMatchObject({ model, version: 1 });
    for (const prediction of served.body.predictions) {
      expect(Object.keys(prediction.probabilities).sort()).toEqual(CLASSES);
      const probabilities = Object.values(prediction.probabilities) as number[];
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(prediction.probabilities[prediction.label]).toBe(Math.max(...probabilities));
    }
    // 6 mm of rain in November is rain; a dry 28 °C day is sun.
    expect(served.body.predictions.map((p: { label: string }) => p.label)).toEqual(['rain', 'sun']);
    // The log keeps the answer and monitors the top class's probability (flushed in the background: a bounded poll).
    let entry: Record<string, any> | undefined;
    for (let attempt = 0; attempt < 100 && entry === undefined; attempt++) {
      const logged = await stack.api('GET', `/v1/models/${model}/predictions?limit=10`, stack.keys.ops);
      entry = logged.body.predictions?.find((p: { id: string }) => p.id === served.body.predictions[0].id);
      if (entry === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(entry?.score).toBeCloseTo(served.body.predictions[0].probabilities.rain, 6);
    expect(entry?.output).toMatchObject({ label: 'rain' });
    // Delayed labels name the true class. A class the version does not know is a 400 naming the item; nothing is written.
    const [rainy, dry] = served.body.predictions as { id: string; probabilities: Record<string, number> }[];
    const unknownClass = await stack.api('POST', `/v1/models/${model}/feedback`, stack.keys.predict, {
      items: [{ predictionId: rainy!.id, label: 'rain' }, { predictionId: dry!.id, label: 'hail' }],
    });
    expect(unknownClass.status).toBe(400);
    expect(unknownClass.body.error).toMatchObject({ code: 'FEEDBACK_INVALID', details: { index: 1, field: 'label' } });
    expect(unknownClass.body.error.message).toContain('"hail" is not a class');
    const labelled = await stack.api('POST', `/v1/models/${model}/feedback`, stack.keys.predict, {
      items: [{ predictionId: rainy!.id, label: 'rain' }, { predictionId: dry!.id, label: 'snow' }],
    });
    expect(labelled.status).toBe(200);
    expect(labelled.body).toEqual({ accepted: 2, unknown: [], duplicates: [] });
    // From a file: a class the version lacks is refused naming the row, before any row is written (overwrite would
    // otherwise have replaced the first label).
    const labelsPath = path.join(stack.config.dataRoots[0]!, 'multiclass-labels.csv');
    await fs.writeFile(labelsPath, `id,truth\n${rainy!.id},sun\n${dry!.id},hail\n`);
    const badFile = await stack.api('POST', `/v1/models/${model}/feedback`, stack.keys.predict, {
      dataset: { uri: labelsPath }, idColumn: 'id', labelColumn: 'truth', overwrite: true,
    });
    expect(badFile.status).toBe(400);
    expect(badFile.body.error).toMatchObject({ code: 'FEEDBACK_INVALID', details: { row: 1, field: 'truth' } });
    // The monitoring report's live performance: one right (rain), one wrong (sun for snow).
    const monitoring = createMonitoringActivities({ db: stack.database.db, pool: stack.database.pool, client: new Client({ connection: stack.temporal.connection }) });
    await monitoring.computeMonitoringReport({
      model,
      windowStart: new Date(Date.now() - 3_600_000).toISOString(),
      windowEnd: new Date(Date.now() + 1000).toISOString(),
      lastRetrainAt: null,
    });
    const reports = await stack.api('GET', `/v1/models/${model}/monitoring?limit=1`, stack.keys.ops);
    const performance = reports.body.reports[0].report.performance;
    expect(performance.labelled).toBe(2);
    expect(performance.accuracy).toBe(0.5);
    // rain: F1 1; sun (predicted, never true): 0; snow (true, never predicted): 0.
    expect(performance.macroF1).toBeCloseTo(1 / 3, 12);
    expect(performance.logLoss).toBeCloseTo((-Math.log(rainy!.probabilities.rain!) - Math.log(dry!.probabilities.snow!)) / 2, 9);
    expect(reports.body.reports[0].report.evaluation.accuracy).toBe(metrics.accuracy);

    // A multinomial logistic retrain, compared with version 1 (same classes) as the champion.
    const secondWaiting = await startAndApprove({ ...spec, trainer: { kind: 'linear' }, gates: { accuracy: { min: 0.5 } } });
    expect(secondWaiting.evaluation.championVersion).toBe(1);
    const second = secondWaiting.evaluation.report;
    expect(second.championSkipped).toBeNull();
    expect(second.primaryMetric).toBe('logloss');
    expect(Number.isFinite(second.champion.metrics.logloss)).toBe(true);
    expect(second.result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-6);
  }, 300_000);

  it('when the target has two classes, then a multiclass run is refused naming the classes and the binary task', async () => {
    const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, {
      model: uniqueName('two-classes'),
      dataset: { uri: stack.datasetPath },
      transform: "SELECT temp_max, temp_min, wind, CASE WHEN precipitation > 0 THEN 'wet' ELSE 'dry' END AS wet FROM source",
      target: 'wet',
      task: 'multiclass',
    });
    expect(started.status).toBe(201);
    let run: Record<string, any> = {};
    for (let attempt = 0; attempt < 600; attempt++) {
      run = (await stack.api('GET', `/v1/runs/${started.body.id}`, stack.keys.ops)).body;
      if (!['running', 'awaiting_review'].includes(run.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(run.status).toBe('data_rejected');
    expect(JSON.stringify(run)).toContain("use task 'binary' for two classes");
  }, 120_000);
});
