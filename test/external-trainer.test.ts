// External trainers (docs/training-contract.md) through the API on the real stack: a test double of a remote
// trainer worker on its own task queue, Keel's real prepare / verify / evaluate / register / deploy around it.
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelVersionByRunId } from '../db/repositories/model-versions.js';
import { getMonitoringReference } from '../db/repositories/monitoring-references.js';
import { demoRunSpec } from '../dev/bootstrap.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { createFakeExternalTrainer } from './support/fake-external-trainer.js';
import { startKeelStack, type KeelStack } from './support/keel-stack.js';
import { keepHistory } from './support/keep-history.js';
import { uniqueName } from './support/temporal.js';

let stack: KeelStack;
let trainer: Worker;
let trainerDone: Promise<void>;
const trainerQueue = uniqueName('trainers-fake');
const models: string[] = [];

beforeAll(async () => {
  stack = await startKeelStack({ prefix: 'keel-external-trainer' });
  trainer = await Worker.create({
    connection: stack.temporal.workerConnection,
    taskQueue: trainerQueue,
    activities: createFakeExternalTrainer(stack.artifacts),
    shutdownGraceTime: '1 second',
  });
  trainerDone = trainer.run();
}, 120_000);

afterAll(async () => {
  for (const model of models) {
    await stack?.temporal.client.workflow.getHandle(monitorWorkflowId(model)).terminate('test cleanup').catch(() => undefined);
  }
  trainer?.shutdown();
  await trainerDone;
  await stack?.close();
});

async function startRun(name: string, trainerOptions: Record<string, unknown> = {}) {
  const model = uniqueName(name.replace(/[^a-z]/g, ''));
  models.push(model);
  const spec = { ...demoRunSpec(stack.datasetPath), model, trainer: { kind: 'external', taskQueue: trainerQueue, name, ...trainerOptions } };
  const started = await stack.api('POST', '/v1/runs', stack.keys.engineer, spec);
  expect(started.status).toBe(201);
  return { runId: started.body.id as string, workflowId: started.body.workflowId as string, model };
}

describe('an external trainer', () => {
  it('when it honours the contract, then its model is evaluated, registered, approved, deployed and served like a built-in one', async () => {
    const run = await startRun('fake-ok');
    const waiting = await stack.waitForStatus(run.runId, ['awaiting_review']);
    expect(waiting.evaluation.report.result.parity.passed).toBe(true);
    expect(waiting.evaluation.report.result.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(waiting.evaluation.report.result.candidateMetrics.auc).toBeGreaterThan(0.6);
    expect(waiting.version).toMatchObject({ version: 1, status: 'pending_approval' });
    // Monitoring's drift reference: Keel cannot run an external model's JSON, so the version's ONNX scored the rows.
    const registered = (await getModelVersionByRunId(stack.database.db, run.runId))!;
    const reference = await getMonitoringReference(stack.database.db, registered.modelId, 1);
    expect((reference?.reference as { rows?: number } | undefined)?.rows).toBeGreaterThan(1000);

    const review = await stack.api('POST', `/v1/runs/${run.runId}/review`, stack.keys.reviewer, { decision: 'approve', comment: 'external model looks right' });
    expect(review.status).toBe(200);
    await stack.waitForStatus(run.runId, ['deployed']);
    const shown = await stack.api('GET', `/v1/models/${run.model}`, stack.keys.ops);
    expect(shown.body.versions[0]).toMatchObject({ version: 1, trainer: 'external' });
    const predicted = await stack.api('POST', `/v1/models/${run.model}/predict`, stack.keys.predict, {
      features: [{ month: 11, temp_max: 9.4, temp_min: 4.4, wind: 5.1 }],
    });
    expect(predicted.status).toBe(200);
    expect(predicted.body.predictions[0].probability).toBeGreaterThan(0);
    expect(predicted.body.predictions[0].probability).toBeLessThan(1);
    await keepHistory('pipeline-external-trainer', stack.temporal.client.workflow.getHandle(run.workflowId));
  }, 300_000);

  it.each([
    ['fake-sha-mismatch', /ONNX model does not match its sha256: e{64} was claimed, its bytes hash to [0-9a-f]{64}/],
    ['fake-unloadable', /ONNX model does not load in onnxruntime/],
    ['fake-crash', /external trainer "fake-crash" on task queue "[^"]+" failed: .*the trainer process crashed \(simulated\)/],
  ])('when it answers %s, then the run ends failed with that reason and nothing is registered', async (name, reason) => {
    const run = await startRun(name);
    const ended = await stack.waitForStatus(run.runId, ['failed']);
    expect(ended.reason).toMatch(reason);
    expect(ended.version ?? null).toBeNull();
    const model = await stack.api('GET', `/v1/models/${run.model}`, stack.keys.ops);
    expect(model.status).toBe(404);
    if (name === 'fake-crash') await keepHistory('pipeline-external-trainer-failed', stack.temporal.client.workflow.getHandle(run.workflowId));
  }, 300_000);

  it('when it stops heartbeating, then each attempt times out and the run ends failed saying so', async () => {
    const run = await startRun('fake-hang', { heartbeatTimeout: '1 second' });
    const ended = await stack.waitForStatus(run.runId, ['failed']);
    expect(ended.reason).toMatch(/external trainer "fake-hang" on task queue "[^"]+" timed out: no heartbeat within 1 second/);
    expect((await stack.api('GET', `/v1/models/${run.model}`, stack.keys.ops)).status).toBe(404);
  }, 300_000);

  it('when no worker polls its task queue, then the run ends failed after its scheduleToStartTimeout saying so, and nothing is registered', async () => {
    const idleQueue = uniqueName('trainers-nobody');
    const run = await startRun('no-worker', { taskQueue: idleQueue, scheduleToStartTimeout: '2 seconds' });
    const ended = await stack.waitForStatus(run.runId, ['failed']);
    expect(ended.reason).toBe(
      `external trainer "no-worker" on task queue "${idleQueue}" timed out: no worker polled task queue "${idleQueue}" within 2 seconds ` +
        "(start the trainer's worker on that queue, or fix trainer.taskQueue)",
    );
    expect(ended.version ?? null).toBeNull();
    expect((await stack.api('GET', `/v1/models/${run.model}`, stack.keys.ops)).status).toBe(404);
    await keepHistory('pipeline-external-trainer-no-worker', stack.temporal.client.workflow.getHandle(run.workflowId));
  }, 300_000);

  it("refuses an external trainer on Keel's own task queues (defaults and this deployment's), naming the field, for runs and schedules", async () => {
    for (const queue of ['training', 'pipeline', stack.config.taskQueues.training, stack.config.taskQueues.pipeline]) {
      const spec = { ...demoRunSpec(stack.datasetPath), model: uniqueName('own-queue'), trainer: { kind: 'external', taskQueue: queue, name: 'lightgbm' } };
      const refused = await stack.api('POST', '/v1/runs', stack.keys.engineer, spec);
      expect(refused.status, queue).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'body/trainer/taskQueue' } });
      expect(refused.body.error.message).toContain(`"${queue}" is Keel's own`);
      const scheduled = await stack.api('POST', '/v1/schedules', stack.keys.engineer, { id: uniqueName('own-queue'), cron: '0 2 * * *', run: spec });
      expect(scheduled.status, queue).toBe(400);
      expect(scheduled.body.error.details).toMatchObject({ field: 'body/run/trainer/taskQueue' });
    }
    const runs = await stack.api('GET', '/v1/runs?limit=200', stack.keys.ops);
    expect(runs.body.runs.filter((run: { model: string }) => run.model.startsWith('own-queue'))).toEqual([]);
  });

  it('refuses a spec whose external trainer has no task queue, naming the field', async () => {
    const spec = { ...demoRunSpec(stack.datasetPath), model: uniqueName('bad'), trainer: { kind: 'external', name: 'lightgbm' } };
    const refused = await stack.api('POST', '/v1/runs', stack.keys.engineer, spec);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('trainer');
  });
});
