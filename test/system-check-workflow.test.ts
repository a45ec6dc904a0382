import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemActivities } from '../activities/system-activities.js';
import { systemCheckWorkflowId } from '../workflows/workflow-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import { workflowsPath } from '../workers/workflow-bundle.js';

let temporal: TestTemporal;
let database: TestDatabase;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [temporal, database, bundle] = await Promise.all([
    connectTestTemporal(),
    createTestDatabase(),
    bundleWorkflowCode({ workflowsPath, logger: undefined }),
  ]);
});

afterAll(async () => {
  await temporal?.close();
  await database?.close();
});

describe('system check workflow on the real dev server', () => {
  it('when a pipeline worker runs, then the workflow reaches Postgres through an activity', async () => {
    const taskQueue = uniqueName('pipeline');
    const worker = await Worker.create({
      connection: temporal.workerConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createSystemActivities({ pool: database.pool }),
    });
    const result = await worker.runUntil(
      temporal.client.workflow.execute('systemCheck', {
        taskQueue,
        workflowId: systemCheckWorkflowId(uniqueName('test')),
      }),
    );
    expect(result.postgresVersion).toMatch(/^\d+\.\d+/);
    expect(Date.parse(result.checkedAt)).not.toBeNaN();
  });
});
