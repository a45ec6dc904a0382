import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitorActivities } from '../activities/monitor-activities.js';
import { monitorStateQuery } from '../workflows/monitor-messages.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { workflowsPath } from '../workers/workflow-bundle.js';
import { keepHistory } from './support/keep-history.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let temporal: TestTemporal;
/**
 * A fresh monitor reads its policy's interval (an activity) before it loops; these tests are about deployments, so
 * the interval is the default hour and no report falls due while they run.
 */
const intervalOnly = { monitoringInterval: async () => 60 * 60 * 1000 };
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [temporal, bundle] = await Promise.all([connectTestTemporal(), bundleWorkflowCode({ workflowsPath })]);
});

afterAll(async () => {
  await temporal?.close();
});

describe('model monitor', () => {
  it('when two versions deploy, then one monitor per model starts and tracks the production version', async () => {
    const taskQueue = uniqueName('pipeline');
    const model = uniqueName('model');
    const { notifyMonitor } = createMonitorActivities({ client: temporal.client, taskQueue });
    const worker = await Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities: intervalOnly });
    await worker.runUntil(async () => {
      await notifyMonitor({ model, version: 1, runId: 'r1' });
      await notifyMonitor({ model, version: 2, runId: 'r2' });
      const handle = temporal.client.workflow.getHandle(monitorWorkflowId(model));
      let state = await handle.query(monitorStateQuery);
      for (let attempt = 0; attempt < 50 && state.deployments.length < 2; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await handle.query(monitorStateQuery);
      }
      expect(state.productionVersion).toBe(2);
      expect(state.deployments.map((deployment) => deployment.runId)).toEqual(['r1', 'r2']);
      await handle.terminate('test cleanup');
    });
  });

  it('when three versions deploy in turn, then the monitor keeps them in order and serves the last', async () => {
    const taskQueue = uniqueName('pipeline');
    const model = uniqueName('model');
    const { notifyMonitor } = createMonitorActivities({ client: temporal.client, taskQueue });
    const worker = await Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities: intervalOnly });
    const handle = temporal.client.workflow.getHandle(monitorWorkflowId(model));
    await worker.runUntil(async () => {
      for (const version of [1, 2, 3]) {
        await notifyMonitor({ model, version, runId: `r${version}` });
        // One signal per workflow task, so the recorded history holds each deployment on its own.
        for (let attempt = 0; attempt < 50; attempt++) {
          if ((await handle.query(monitorStateQuery)).deployments.length === version) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const state = await handle.query(monitorStateQuery);
      expect(state.productionVersion).toBe(3);
      expect(state.deployments.map((deployment) => deployment.version)).toEqual([1, 2, 3]);
      await handle.terminate('test cleanup');
    });
    // `KEEL_RECORD_HISTORIES=1` records the replay fixture of the monitor (never over a committed one).
    await keepHistory('monitor-deployments', handle);
  });

  it('when a run has handled its share of deployments, then the monitor continues as new with the latest state', async () => {
    const taskQueue = uniqueName('pipeline');
    const model = uniqueName('model');
    const { notifyMonitor } = createMonitorActivities({ client: temporal.client, taskQueue });
    const worker = await Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities: intervalOnly });
    const handle = temporal.client.workflow.getHandle(monitorWorkflowId(model));
    const deployments = 105;
    const firstRunId = await worker.runUntil(async () => {
      await notifyMonitor({ model, version: 1, runId: 'r1' });
      const { runId } = await handle.describe();
      for (let version = 2; version <= deployments; version++) await notifyMonitor({ model, version, runId: `r${version}` });
      let state = await handle.query(monitorStateQuery);
      for (let attempt = 0; attempt < 100 && state.productionVersion !== deployments; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await handle.query(monitorStateQuery);
      }
      expect(state.productionVersion).toBe(deployments);
      expect(state.deployments.at(-1)).toMatchObject({ version: deployments, runId: `r${deployments}` });
      expect((await handle.describe()).runId).not.toBe(runId);
      await handle.terminate('test cleanup');
      return runId;
    });
    // The first run's history ends in continue-as-new: the one command the monitor issues, guarded by replay.
    await keepHistory('monitor-continue-as-new', temporal.client.workflow.getHandle(monitorWorkflowId(model), firstRunId));
  });
});
