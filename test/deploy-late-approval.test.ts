// Two runs evaluated against v1; B is approved and deploys v3; A is approved later. On the real dev server with the
// real review and deploy activities on Postgres: A's deploy is refused (production moved from v1 to v3 since A was
// evaluated), A ends deploy_failed with that reason, and production stays on v3.
// `KEEL_RECORD_HISTORIES=1 npx vitest run test/deploy-late-approval.test.ts` records A's history if it is missing.
import pino from 'pino';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryActivities } from '../activities/registry-activities.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { saveEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { getAliasVersion, listDeployments, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { modelVersions, runs, type ModelVersionRow } from '../db/schema.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import type { PipelineActivities } from '../workflows/contracts/pipeline-activities.js';
import type { PipelineInput } from '../workflows/contracts/pipeline-input.js';
import type { ReviewInput } from '../workflows/contracts/review.js';
import { reviewUpdate, statusQuery } from '../workflows/pipeline-messages.js';
import type { pipeline } from '../workflows/pipeline.js';
import { pipelineWorkflowId } from '../workflows/workflow-ids.js';
import { bundleKeelWorkflows } from '../workers/workflow-bundle.js';
import { signReview } from '../api/runs/review-signature.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { keepHistory } from './support/keep-history.js';
import { registerFixtureVersion, setProduction } from './support/model-fixtures.js';
import { createScriptedActivities } from './support/scripted-activities.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;
let database: TestDatabase;
let artifactDir: string;
let cache: ModelCache;

beforeAll(async () => {
  [temporal, bundle, database] = await Promise.all([connectTestTemporal(), bundleKeelWorkflows(SIGNING_KEY), createTestDatabase()]);
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-late-approval-'));
  cache = createModelCache({ db: database.db, pool: database.pool, artifacts: new FsArtifactStore(artifactDir), logger: pino({ level: 'error' }) });
});

afterAll(async () => {
  await cache?.close();
  await temporal?.close();
  await database?.close();
  if (artifactDir) await rm(artifactDir, { recursive: true, force: true });
});

const engineer = { keyId: randomUUID(), name: 'engineer-alice', user: 'alice' };
const reviewer: ReviewInput['reviewer'] = { keyId: randomUUID(), name: 'reviewer-bob', user: 'bob' };
// Reviews are signed by the API; the worker's workflows verify them by the same key.
const SIGNING_KEY = `late-approval-signing-key-${randomUUID()}`;

/** A pending version of `runId`, whose evaluation scored production v`champion`. */
async function candidateEvaluatedAgainst(model: string, runId: string, champion: number, shift: number): Promise<ModelVersionRow> {
  const version = await registerFixtureVersion(database.db, new FsArtifactStore(artifactDir), { model, runId, shift, status: 'pending_approval' });
  const { report } = await saveEvaluationReport(database.db, {
    runId,
    model,
    candidateSha256: version.artifactSha256,
    championVersion: champion,
    gatesPassed: true,
    report: { champion: { version: champion } },
  });
  await database.db.update(modelVersions).set({ evaluationReportId: report.id }).where(eq(modelVersions.id, version.id));
  return version;
}

async function awaitingReview(handle: WorkflowHandle<typeof pipeline>): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if ((await handle.query(statusQuery)).stage === 'awaiting_review') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${handle.workflowId} never reached awaiting_review`);
}

describe('a late approval on the real dev server', () => {
  it('when another run deployed since this run was evaluated, then its deploy is refused and the run ends deploy_failed with the reason', async () => {
    const model = uniqueName('late');
    const v1 = await registerFixtureVersion(database.db, new FsArtifactStore(artifactDir), { model, runId: `${model}-v1` });
    await setProduction(database.db, v1, model);
    const runA = `${model}-a`;
    const runB = `${model}-b`;
    const versionOf: Record<string, number> = {
      [runA]: (await candidateEvaluatedAgainst(model, runA, 1, 0.5)).version,
      [runB]: (await candidateEvaluatedAgainst(model, runB, 1, 1)).version,
    };

    // The workflow with scripted ingest/train/evaluate, and the real review, deploy and run-progress activities.
    const { activities: scripted, recorder } = createScriptedActivities({});
    const registry = createRegistryActivities({ db: database.db, modelCache: cache, logger: { warn: () => undefined } });
    const activities: PipelineActivities = {
      ...scripted,
      registerModelVersion: async (input) => ({ modelVersionId: input.runId, version: versionOf[input.runId]! }),
      recordReviewDecision: registry.recordReviewDecision,
      deployModelVersion: registry.deployModelVersion,
      recordRunProgress: registry.recordRunProgress,
    };
    const taskQueue = uniqueName('pipeline');
    const trainingTaskQueue = uniqueName('training');
    const [pipelineWorker, trainingWorker] = await Promise.all([
      Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities }),
      Worker.create({ connection: temporal.workerConnection, taskQueue: trainingTaskQueue, activities }),
    ]);
    const start = (runId: string) => {
      const input: PipelineInput = {
        runId,
        spec: { model, dataset: { uri: 'file:///data/late.csv' }, target: 'y', task: 'binary' },
        requestedBy: engineer,
        trainingTaskQueue,
      };
      return temporal.client.workflow.start<typeof pipeline>('pipeline', { taskQueue, workflowId: pipelineWorkflowId(model, runId), args: [input] });
    };
    const approve = (handle: WorkflowHandle<typeof pipeline>, runId: string) =>
      handle.executeUpdate(reviewUpdate, {
        args: [
          {
            decision: 'approve',
            comment: 'better than v1',
            reviewer,
            signature: signReview(SIGNING_KEY, { runId, user: reviewer.user!, decision: 'approve', signedAt: Date.now() }),
          },
        ],
      });

    const [resultB, resultA] = await pipelineWorker.runUntil(
      trainingWorker.runUntil(async () => {
        const [a, b] = await Promise.all([start(runA), start(runB)]);
        await Promise.all([awaitingReview(a), awaitingReview(b)]);
        await approve(b, runB);
        const deployedB = await b.result();
        // A's reviewer approves after B went out: A was compared with v1, never with v3.
        await approve(a, runA);
        const refusedA = await a.result();
        await keepHistory('pipeline-production-moved', a);
        return [deployedB, refusedA];
      }),
    );

    expect(resultB).toMatchObject({ status: 'deployed', modelVersion: 3 });
    expect(resultA).toMatchObject({
      status: 'deploy_failed',
      reason:
        `production moved from v1 to v3 since this run was evaluated; version 2 of "${model}" was compared with v1, never with v3, ` +
        'so it is not deployed: start a new run to evaluate a candidate against the current production',
    });
    expect(recorder.monitorNotified).toEqual([3]);

    const modelId = v1.modelId;
    expect(await getAliasVersion(database.db, modelId, PRODUCTION_ALIAS)).toBe(3);
    // One production move per deploy: v1 (setup) and B's v3; none by A.
    const history = await listDeployments(database.db, modelId);
    expect(history.map((row) => [row.action, row.fromVersion, row.toVersion, row.runId])).toEqual([
      ['deploy', 1, 3, runB],
      ['deploy', null, 1, `${model}-v1`],
    ]);
    expect((await getModelVersion(database.db, modelId, 2))?.status).toBe('approved');
    const [rowA] = await database.db.select().from(runs).where(eq(runs.id, runA));
    expect(rowA).toMatchObject({ status: 'deploy_failed', reason: resultA.reason });
  });
});
