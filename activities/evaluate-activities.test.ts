import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { createEvaluationFixture, type EvaluationFixture } from '../test/support/evaluation-fixture.js';
import { stumpModel } from '../test/support/model-fixtures.js';
import type { EvaluateModelInput } from '../workflows/contracts/pipeline-activities.js';
import { createEvaluateActivities, type EvaluateActivities } from './evaluate-activities.js';

let database: TestDatabase;
let fixture: EvaluationFixture;
let activities: EvaluateActivities;

beforeAll(async () => {
  database = await createTestDatabase();
  fixture = await createEvaluationFixture();
  activities = createEvaluateActivities({ db: database.db, artifacts: fixture.artifacts });
});
afterAll(async () => {
  await database?.close();
  await fixture?.close();
});

/** The evaluation input of a run that has its runs row, as a run started through the API has. */
async function input(runId: string, model: string, overrides?: Partial<EvaluateModelInput>): Promise<EvaluateModelInput> {
  await insertRunRow(database.db, runId, model);
  return fixture.input(runId, model, overrides);
}

describe('evaluateModel activity', () => {
  it('when retried, then it returns the stored result instead of writing a second report', async () => {
    const first = await activities.evaluateModel(await input('eval-retry', 'retry-model'));
    const again = await activities.evaluateModel(await input('eval-retry', 'retry-model', { candidate: await fixture.candidate(stumpModel('binary', 3)) }));
    expect(again).toEqual(first);
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
