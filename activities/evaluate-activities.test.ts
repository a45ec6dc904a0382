import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { createEvaluationFixture, type EvaluationFixture } from '../test/support/evaluation-fixture.js';
import { stumpModel } from '../test/support/model-fixtures.js';
import type { EvaluateModelInput, EvaluateModelResult } from '../workflows/contracts/pipeline-activities.js';
import { storedEvaluationResult } from '../evaluation/evaluate-candidate.js';
import { createEvaluationThreads, type EvaluationThreads } from '../workers/evaluation-threads.js';
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

describe('evaluateModel activity in the pipeline worker’s evaluation threads', () => {
  let threads: EvaluationThreads;
  let threaded: EvaluateActivities;

  beforeAll(() => {
    threads = createEvaluationThreads({ databaseUrl: database.url, artifactDir: fixture.artifacts.root, logLevel: 'warn' }, 1);
    threaded = createEvaluateActivities({ db: database.db, artifacts: fixture.artifacts, runEvaluation: threads.evaluate });
  });
  afterAll(() => threads?.close());

  it('when evaluated in a thread, then the result is the one this thread computes', async () => {
    const inThread = (await new MockActivityEnvironment().run(threaded.evaluateModel, await input('eval-thread', 'thread-model'))) as EvaluateModelResult;
    const here = await activities.evaluateModel(await input('eval-here', 'here-model'));
    expect({ ...inThread, reportId: undefined }).toEqual({ ...here, reportId: undefined });
  });

  it('when the spec is bad, then the thread’s refusal is the same permanent failure', async () => {
    const evaluation = await input('eval-thread-bad-target', 'thread-bad-target', { target: 'nope' });
    await expect(new MockActivityEnvironment().run(threaded.evaluateModel, evaluation)).rejects.toMatchObject({
      type: 'INVALID_SPEC',
      nonRetryable: true,
    });
  });

  it('when cancelled while it evaluates, then it stops with a cancellation, stores nothing, and the next evaluation runs', async () => {
    const env = new MockActivityEnvironment();
    env.once('heartbeat', () => env.cancel());
    const cancelled = await input('eval-thread-cancelled', 'thread-cancelled');
    await expect(env.run(threaded.evaluateModel, cancelled)).rejects.toBeInstanceOf(CancelledFailure);
    expect(await storedEvaluationResult(database.db, 'eval-thread-cancelled')).toBeUndefined();
    const next = (await new MockActivityEnvironment().run(threaded.evaluateModel, await input('eval-thread-next', 'thread-next'))) as EvaluateModelResult;
    expect(next.parity.passed).toBe(true);
  });
});
