// The trainModel activity as an adapter: heartbeats the training's progress, resumes from the last heartbeat's
// details, stops on cancellation and maps errors. The training itself is tested in training/train-model.test.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Info } from '@temporalio/activity';
import { beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import type { TrainModelInput, TrainModelResult } from '../workflows/contracts/pipeline-activities.js';
import { FAILURE_TYPES } from '../workflows/failure-types.js';
import { createTrainingActivities, type TrainingHeartbeat } from './training-activities.js';
import { filesUnder } from '../test/support/files-under.js';
import { rejectionOf } from '../test/support/rejection-of.js';
import { useSeattleTrainingFixture } from '../test/support/seattle-training-fixture.js';

const seattleTraining = useSeattleTrainingFixture('keel-training-activity-');
const { sunnyInput, depsWith } = seattleTraining;

/** Failed activities are expected here: keep the SDK's warnings out of the test output. */
function mockEnvironment(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

function activitiesWith(checkpointEveryIterations = 5) {
  const deps = depsWith(checkpointEveryIterations);
  return { activities: createTrainingActivities(deps), checkpointDir: deps.checkpointDir };
}

async function expectTrainingFailed(promise: Promise<unknown>, messagePart: RegExp): Promise<ApplicationFailure> {
  const failure = await rejectionOf(promise, ApplicationFailure);
  expect(failure.type).toBe(FAILURE_TYPES.trainingFailed);
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toMatch(messagePart);
  return failure;
}

describe('trainModel activity', () => {
  let uninterrupted: TrainModelResult;
  let heartbeats: TrainingHeartbeat[];
  let checkpointDir: string;

  beforeAll(async () => {
    const setup = activitiesWith(5);
    checkpointDir = setup.checkpointDir;
    const env = mockEnvironment();
    heartbeats = [];
    env.on('heartbeat', (details: TrainingHeartbeat) => heartbeats.push(details));
    uninterrupted = await env.run(setup.activities.trainModel, sunnyInput());
  });

  it('returns the training result and leaves no checkpoint behind', async () => {
    expect(uninterrupted).toMatchObject({ trainer: 'gbdt', resumedFromIteration: null, metrics: { iterations: 40 } });
    expect(uninterrupted.trainRows + uninterrupted.validRows + uninterrupted.holdoutRows).toBe(1461);
    expect(await filesUnder(checkpointDir)).toEqual([]);
  });

  it('heartbeats every iteration with the best validation metric and the checkpoint it saved', () => {
    expect(Object.keys(heartbeats[0]!).sort()).toEqual(
      ['bestIteration', 'bestValidMetric', 'checkpointIteration', 'checkpointPath', 'iteration', 'numIterations', 'phase', 'resumedFromIteration'],
    );
    const training = heartbeats.filter((h) => h.phase === 'training' && h.iteration > 0);
    expect(training.map((h) => h.iteration)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const last = training[training.length - 1];
    expect(last).toMatchObject({ numIterations: 40, bestIteration: uninterrupted.bestIteration, checkpointIteration: 35 });
    // No early stopping: the model keeps all 40 trees and its metrics are the last iteration's, never below the best.
    expect(uninterrupted.metrics).toMatchObject({ requestedIterations: 40, keptIterations: 40 });
    expect(last.bestValidMetric).toBeLessThanOrEqual(uninterrupted.metrics.validLogloss);
    expect(training.find((h) => h.iteration === 12)?.checkpointIteration).toBe(10);
    expect(last.checkpointPath).toMatch(/run-sunny\/gbdt-[0-9a-f]{24}\.json$/);
  });

  it('when retried after the model was stored, then it returns the same artifacts', async () => {
    const again = await mockEnvironment({ attempt: 2 }).run(activitiesWith().activities.trainModel, sunnyInput());
    expect({ ...(again as TrainModelResult), stageTimings: undefined }).toEqual({ ...uninterrupted, stageTimings: undefined });
  });

  it('when an attempt is interrupted and retried, then it resumes from the checkpoint and builds the identical model', async () => {
    const { activities, checkpointDir: dir } = activitiesWith(4);
    const first = mockEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000 });
    let lastBeat: TrainingHeartbeat | undefined;
    first.on('heartbeat', (details: TrainingHeartbeat) => {
      lastBeat = details;
      // The worker's view of a heartbeat timeout: cancelled, but not by the workflow.
      if (details.iteration === 18) first.cancel('TIMED_OUT', new ActivityCancellationDetails({ timedOut: true }));
    });
    await expect(first.run(activities.trainModel, sunnyInput())).rejects.toBeInstanceOf(CancelledFailure);
    const [checkpointFile] = await filesUnder(dir);
    const saved = JSON.parse(await readFile(checkpointFile, 'utf8')) as { checkpoint: { iteration: number } };
    // Stopped before the next iteration, and left that freshest state behind for the retry.
    expect(saved.checkpoint.iteration).toBe(18);

    const second = mockEnvironment({ attempt: 2, heartbeatDetails: lastBeat });
    const resumed: TrainModelResult = await second.run(activities.trainModel, sunnyInput());
    expect(resumed.resumedFromIteration).toBe(18);
    expect(resumed.artifactSha256).toBe(uninterrupted.artifactSha256);
    expect(resumed.modelJsonSha256).toBe(uninterrupted.modelJsonSha256);
    expect({ ...resumed, resumedFromIteration: null, stageTimings: undefined }).toEqual({ ...uninterrupted, stageTimings: undefined });
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('when cancelled by the workflow, then it stops before the next iteration and discards its checkpoint', async () => {
    const { activities, checkpointDir: dir } = activitiesWith(2);
    const env = mockEnvironment();
    const iterations: number[] = [];
    env.on('heartbeat', (details: TrainingHeartbeat) => {
      if (details.phase !== 'training') return;
      iterations.push(details.iteration);
      if (details.iteration === 5) env.cancel();
    });
    const input = sunnyInput({ trainer: { kind: 'gbdt', params: { numIterations: 5000, numLeaves: 15 } } });
    await expect(env.run(activities.trainModel, input)).rejects.toBeInstanceOf(CancelledFailure);
    expect(Math.max(...iterations)).toBe(5);
    expect(await filesUnder(dir)).toEqual([]);
  });
});

describe('trainModel activity failures', () => {
  const run = (input: Partial<TrainModelInput>): Promise<TrainModelResult> => mockEnvironment().run(activitiesWith().activities.trainModel, sunnyInput(input));

  it('when the target is bad, then it fails TRAINING_FAILED for good, naming the column in the details', async () => {
    const failure = await expectTrainingFailed(run({ target: 'weather' }), /target "weather" is not binary/);
    expect(failure.details).toEqual([{ column: 'weather' }]);
  });

  it('rejects an unknown trainer parameter instead of ignoring it', async () => {
    const failure = await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { num_leaves: 31 } } }), /unknown trainer parameter "num_leaves"/);
    expect(failure.details).toEqual([]);
  });

  it("when a trainer parameter is out of range (the trainer's RangeError), then it is the spec's fault: TRAINING_FAILED", async () => {
    await expectTrainingFailed(run({ trainer: { kind: 'gbdt', params: { numLeaves: 1 } } }), /numLeaves/);
  });

  it('when the snapshot is not in the artifact store, then it fails TRAINING_FAILED, as before', async () => {
    const failure = await expectTrainingFailed(run({ snapshotSha256: 'e'.repeat(64) }), /is not in the artifact store/);
    expect(failure.details).toEqual([]);
  });

  it('when something else throws a RangeError (a bug), then it is not made non-retryable', async () => {
    const bug = new RangeError('offset out of range');
    const broken = Object.assign(Object.create(seattleTraining.artifacts) as FsArtifactStore, { localPath: () => Promise.reject(bug) });
    const activities = createTrainingActivities({ artifacts: broken, checkpointDir: join(seattleTraining.root, 'broken'), keelVersion: '0.1.0-test' });
    await expect(mockEnvironment().run(activities.trainModel, sunnyInput())).rejects.toBe(bug);
  });
});
