// The monitor on real Postgres and the real Temporal dev server: logged predictions (real rows in the prediction
// log) drifted away from the training reference start exactly one retrain; undrifted traffic starts none.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitoringActivities } from '../activities/monitor-activities.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { putMonitoringPolicy } from '../db/repositories/monitoring-policies.js';
import { listMonitoringReports } from '../db/repositories/monitoring-reports.js';
import { insertPredictionsUnnest, type PredictionLogRecord } from '../db/repositories/predictions.js';
import { writeFeedback } from '../db/repositories/feedback.js';
import { runs, type ModelVersionRow } from '../db/schema.js';
import { predictGbdt } from '../ml/gbdt/index.js';
import type { GbdtModel, RawRow } from '../ml/model.js';
import { featureSchemaOf } from '../ml/onnx/index.js';
import type { RetrainDecision } from '../monitoring/compute-report.js';
import { recordMonitoringReference } from '../monitoring/record-reference.js';
import { workflowsPath } from '../workers/workflow-bundle.js';
import { monitorStateQuery, versionDeployedSignal, type MonitorState } from '../workflows/monitor-messages.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { registerFixtureVersion, setProduction, stumpModel } from './support/model-fixtures.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';
import { storeParquetSnapshot } from './support/training-snapshots.js';

let temporal: TestTemporal;
let bundle: WorkflowBundleWithSourceMap;
let database: TestDatabase;
let artifactDir: string;
let artifacts: FsArtifactStore;

beforeAll(async () => {
  [temporal, bundle, database] = await Promise.all([connectTestTemporal(), bundleWorkflowCode({ workflowsPath }), createTestDatabase()]);
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-monitor-'));
  artifacts = new FsArtifactStore(artifactDir);
});

afterAll(async () => {
  await temporal?.close();
  await database?.close();
  if (artifactDir) await rm(artifactDir, { recursive: true, force: true });
});

// ───────────── a generated frame: x ~ N(0, 1), color red/blue/green 60/30/10 %, flag 1 in 5 % ─────────────

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Frame {
  x: number[];
  color: string[];
  flag: number[];
}

/** `drifted`: x shifted by one standard deviation, red and blue frequencies swapped, flag ones from 5 % to 60 %. */
function generateFrame(rows: number, seed: number, drifted = false): Frame {
  const random = mulberry32(seed);
  const frame: Frame = { x: [], color: [], flag: [] };
  for (let i = 0; i < rows; i++) {
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    frame.x.push(normal + (drifted ? 1 : 0));
    const u = random();
    const [first, second] = drifted ? ['blue', 'red'] : ['red', 'blue'];
    frame.color.push(u < 0.6 ? first : u < 0.9 ? second : 'green');
    frame.flag.push(random() < (drifted ? 0.6 : 0.05) ? 1 : 0);
  }
  return frame;
}

const stump: GbdtModel = stumpModel('binary');
const FEATURE_SCHEMA = [...featureSchemaOf(stump.features), { name: 'flag', kind: 'numeric' as const, input: 'flag' }];

/** A deployed version whose reference was built (as at registration) from a Parquet snapshot of the frame. */
async function deployedModel(name: string): Promise<ModelVersionRow> {
  const version = await registerFixtureVersion(database.db, artifacts, { model: name, runId: `${name}-run-1` });
  await setProduction(database.db, version, name);
  // The fixture registered the run with a minimal row; this is the production run as the API would have stored it.
  const productionRun = {
    workflowId: `pipeline/${name}/${version.runId}`,
    model: name,
    // The production run was auto-approved: a retrain the monitor starts must still wait for a person.
    spec: { model: name, dataset: { uri: '/data/frame.csv' }, target: 'y', task: 'binary', policy: { autoApprove: true, approvalTimeout: '72h' } },
    specHash: 'h',
    requestedByName: 'erin',
    status: 'deployed' as const,
    stage: 'done' as const,
  };
  await database.db.insert(runs).values({ id: version.runId, ...productionRun }).onConflictDoUpdate({ target: runs.id, set: productionRun });
  const frame = generateFrame(5000, 1);
  const dir = await mkdtemp(join(tmpdir(), 'keel-frame-'));
  try {
    const csv = join(dir, 'frame.csv');
    const lines = frame.x.map((x, i) => `${x},${frame.color[i]},${frame.flag[i]}`);
    await writeFile(csv, `x,color,flag\n${lines.join('\n')}\n`);
    const snapshotSha256 = await storeParquetSnapshot(artifacts, `SELECT * FROM read_csv('${csv}')`);
    const modelJson = await artifacts.putBytes(Buffer.from(JSON.stringify(stump)), { extension: '.json' });
    const stored = await recordMonitoringReference(
      { db: database.db, artifacts },
      {
        modelVersionId: version.id,
        modelId: version.modelId,
        version: version.version,
        snapshotSha256,
        featureSchema: FEATURE_SCHEMA,
        modelJsonSha256: modelJson.sha256,
      },
    );
    expect(stored).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return version;
}

/** Logs the frame as scored predictions, created evenly over [from, from + spanMs). */
async function logPredictions(version: ModelVersionRow, name: string, frame: Frame, from: number, spanMs: number): Promise<string[]> {
  const rows: RawRow[] = frame.x.map((x, i) => ({ x, color: frame.color[i]!, flag: frame.flag[i]! }));
  const scores = predictGbdt(stump, rows);
  const records: PredictionLogRecord[] = rows.map((row, i) => ({
    id: randomUUID(),
    modelId: version.modelId,
    model: name,
    version: version.version,
    sourceJson: null,
    featuresJson: JSON.stringify(row),
    outputJson: JSON.stringify({ probability: scores[i] }),
    score: scores[i]!,
    latencyMs: 1 + (i % 7),
    createdAt: new Date(from + Math.floor((i * spanMs) / rows.length)),
    keyId: null,
  }));
  for (let start = 0; start < records.length; start += 5000) {
    await insertPredictionsUnnest(database.pool, records.slice(start, start + 5000));
  }
  return records.map((record) => record.id);
}

async function retrainRuns(name: string) {
  return database.db
    .select()
    .from(runs)
    .where(and(eq(runs.model, name), eq(runs.requestedByName, 'system:monitor')));
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, attempts = 600): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < attempts && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** Runs a monitor for `name` (ticking every second) until `until` holds for its state; cleans up every workflow it started. */
async function runMonitor(
  name: string,
  version: ModelVersionRow,
  options: { ticksPerRun?: number },
  until: (state: MonitorState) => boolean,
): Promise<{ state: MonitorState; runIds: Set<string> }> {
  const taskQueue = uniqueName('monitor');
  // Retraining pipelines go to a queue no worker serves: the test checks they started, not that they train.
  const retrainQueue = uniqueName('retrain');
  const activities = createMonitoringActivities({ db: database.db, pool: database.pool, client: temporal.client, taskQueue: retrainQueue });
  const worker = await Worker.create({ connection: temporal.workerConnection, taskQueue, workflowBundle: bundle, activities });
  const runIds = new Set<string>();
  try {
    return await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.signalWithStart('modelMonitor', {
        workflowId: monitorWorkflowId(name),
        taskQueue,
        args: [{ model: name, ...(options.ticksPerRun ? { ticksPerRun: options.ticksPerRun } : {}) }],
        signal: versionDeployedSignal,
        signalArgs: [{ model: name, version: version.version, runId: version.runId }],
      });
      const monitor = temporal.client.workflow.getHandle(monitorWorkflowId(name));
      const state = await waitFor(
        async () => {
          const description = await monitor.describe();
          runIds.add(description.runId);
          return monitor.query(monitorStateQuery);
        },
        until,
      );
      await handle.terminate('test cleanup').catch(() => undefined);
      return { state, runIds };
    });
  } finally {
    for (const run of await retrainRuns(name)) {
      await temporal.client.workflow.getHandle(run.workflowId).terminate('test cleanup').catch(() => undefined);
    }
  }
}

describe('model monitor reports and retrains', () => {
  it(
    'when logged traffic drifts (x shifted by 1 sd, red/blue swapped, flag 5 % → 60 %), then ten breaches inside the cooldown start exactly one retrain, across continue-as-new',
    async () => {
      const name = uniqueName('drift');
      const version = await deployedModel(name);
      await putMonitoringPolicy(database.db, {
        modelId: version.modelId,
        policy: { interval: '1s', minRows: 300, cooldown: '24h' },
        updatedBy: 'test',
      });
      // About 1,000 drifted rows per one-second window, for the next 60 seconds: on a loaded machine eleven
      // one-second ticks can take much longer than eleven seconds, and each must still find a full window.
      await logPredictions(version, name, generateFrame(60_000, 7, true), Date.now(), 60_000);

      const { state, runIds } = await runMonitor(name, version, { ticksPerRun: 4 }, (s) => (s.ticks ?? 0) >= 11);

      const reports = await listMonitoringReports(database.db, { modelId: version.modelId, limit: 100 });
      const breaches = reports.filter((report) => report.verdict === 'drift');
      expect(breaches.length).toBeGreaterThanOrEqual(10);
      const started = reports.filter((report) => (report.retrain as RetrainDecision | null)?.action === 'started');
      expect(started).toHaveLength(1);
      const skipped = breaches.filter((report) => (report.retrain as RetrainDecision | null)?.action === 'skipped');
      expect(skipped.every((report) => (report.retrain as { reason: string }).reason.startsWith('cooldown'))).toBe(true);

      // Every injected shift is named in the breach.
      const body = breaches[0]!.report as { features: { name: string; psi: number | null }[]; prediction: { psi: number | null } };
      for (const feature of ['x', 'color', 'flag']) {
        expect(body.features.find((f) => f.name === feature)!.psi).toBeGreaterThanOrEqual(0.25);
      }

      const retrains = await retrainRuns(name);
      expect(retrains).toHaveLength(1);
      const [retrain] = retrains;
      expect(retrain!.workflowId).toMatch(new RegExp(`^retrain/${name}/`));
      expect(retrain!.requestedBy).toBeNull();
      expect(retrain!.spec).toMatchObject({ model: name, dataset: { uri: '/data/frame.csv' } });
      expect((started[0]!.retrain as { runId: string }).runId).toBe(retrain!.id);
      expect(started[0]!.retrainRunId).toBe(retrain!.id);
      // What triggered is on the same report: the breaches of the policy.
      expect((started[0]!.report as { breaches: unknown[] }).breaches.length).toBeGreaterThan(0);

      // Review is forced, the approval timeout kept: in the run row and in the pipeline's own input.
      expect(retrain!.spec).toMatchObject({ policy: { autoApprove: false, approvalTimeout: '72h' } });
      const history = await temporal.client.workflow.getHandle(retrain!.workflowId).fetchHistory();
      const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      const pipelineInput = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { spec: { policy: unknown }; requestedBy: { name: string } };
      expect(pipelineInput.spec.policy).toEqual({ autoApprove: false, approvalTimeout: '72h' });
      expect(pipelineInput.requestedBy.name).toBe('system:monitor');

      // The state (production version, last trigger) survived continue-as-new.
      expect(runIds.size).toBeGreaterThanOrEqual(3);
      expect(state.productionVersion).toBe(version.version);
      expect(state.lastRetrain?.runId).toBe(retrain!.id);
    },
    120_000,
  );

  it(
    'when logged traffic comes from the training distribution, then the reports say no drift and no retrain starts',
    async () => {
      const name = uniqueName('steady');
      const version = await deployedModel(name);
      await putMonitoringPolicy(database.db, { modelId: version.modelId, policy: { interval: '1s', minRows: 300 }, updatedBy: 'test' });
      await logPredictions(version, name, generateFrame(10_000, 11), Date.now(), 10_000);

      await runMonitor(name, version, {}, (s) => (s.ticks ?? 0) >= 5);

      const reports = await listMonitoringReports(database.db, { modelId: version.modelId, limit: 100 });
      const judged = reports.filter((report) => report.verdict !== 'not_enough_data');
      expect(judged.length).toBeGreaterThanOrEqual(3);
      expect(judged.every((report) => report.verdict === 'no_drift')).toBe(true);
      expect(await retrainRuns(name)).toHaveLength(0);
    },
    120_000,
  );

  it('when a window holds fewer rows than minRows, then the report says not enough data, never no drift', async () => {
    const name = uniqueName('sparse');
    const version = await deployedModel(name);
    const start = Date.now() - 60_000;
    await logPredictions(version, name, generateFrame(100, 3, true), start, 10_000);
    const activities = createMonitoringActivities({ db: database.db, pool: database.pool, client: temporal.client });
    const result = await activities.computeMonitoringReport({
      model: name,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(start + 60_000).toISOString(),
      lastRetrainAt: null,
    });
    expect(result).toMatchObject({ verdict: 'not_enough_data', rows: 100, retrainDue: false });
    expect(result.summary).toMatch(/not enough data: 100 rows/);
  });

  it('when labels arrive for the window, then the report carries live AUC, accuracy, F1 and log loss with the labelled count', async () => {
    const name = uniqueName('labelled');
    const version = await deployedModel(name);
    const start = Date.now() - 60_000;
    const frame = generateFrame(600, 5);
    const ids = await logPredictions(version, name, frame, start, 10_000);
    // Labels that agree with the stump's rule (x > 0.5) for most rows.
    await writeFeedback(
      database.db,
      version.modelId,
      ids.map((id, i) => ({ predictionId: id, label: frame.x[i]! > 0.5 ? 1 : 0 })),
      false,
    );
    const activities = createMonitoringActivities({ db: database.db, pool: database.pool, client: temporal.client });
    const result = await activities.computeMonitoringReport({
      model: name,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(Date.now() + 1000).toISOString(),
      lastRetrainAt: null,
    });
    const [report] = await listMonitoringReports(database.db, { modelId: version.modelId, limit: 1 });
    const performance = (report!.report as { performance: { labelled: number; auc: number; accuracy: number; f1: number; logLoss: number } }).performance;
    expect(result.rows).toBe(600);
    expect(performance.labelled).toBe(600);
    expect(performance.auc).toBeGreaterThan(0.9);
    expect(performance.accuracy).toBeGreaterThan(0.5);
    expect(performance.f1).toBeGreaterThan(0);
    expect(performance.logLoss).toBeGreaterThan(0);
  });
});
