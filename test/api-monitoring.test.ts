// /v1/models/:name/monitoring and the monitoring parts of /v1/models/:name through app.inject(), on real Postgres
// and the real Temporal dev server (a rollback reaches the model's monitor by signal-with-start).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig } from '../config.js';
import { setModelVersionStatus } from '../db/repositories/model-versions.js';
import { getMonitoringPolicy } from '../db/repositories/monitoring-policies.js';
import { saveMonitoringReport } from '../db/repositories/monitoring-reports.js';
import { auditLog, type ModelVersionRow } from '../db/schema.js';
import { createServingDeps, type ServingDeps } from '../serving/serving-deps.js';
import { monitorWorkflowId } from '../workflows/workflow-ids.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { registerFixtureVersion, setProduction } from './support/model-fixtures.js';
import { connectTestTemporal, uniqueName, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let temporal: TestTemporal;
let artifactDir: string;
let serving: ServingDeps;
let app: KeelApp;
const keys = { admin: '', ops: '', engineer: '', reviewer: '', predict: '' };
/** Unique per test run: the Temporal dev server (and its monitor workflow ids) is shared by every test file. */
const model = uniqueName('watched');
let v1: ModelVersionRow;
let v2: ModelVersionRow;
const startedMonitors: string[] = [];

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-api-monitoring-'));
  const artifacts = new FsArtifactStore(artifactDir);
  serving = await createServingDeps({ db: database.db, pool: database.pool, artifacts, logger: pino({ level: 'error' }) });
  keys.admin = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({
    config: loadConfig({}),
    db: database.db,
    pool: database.pool,
    serving,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  for (const role of ['ops', 'engineer', 'reviewer', 'predict'] as const) {
    const response = await send('POST', '/v1/keys', keys.admin, { name: `${role}-key`, roles: [role] });
    expect(response.statusCode).toBe(201);
    keys[role] = response.json().secret;
  }
  v1 = await registerFixtureVersion(database.db, artifacts, { model, runId: `${model}-1` });
  await setProduction(database.db, v1, model);
  v2 = await registerFixtureVersion(database.db, artifacts, { model, runId: `${model}-2`, shift: 1 });
  await setProduction(database.db, v2, model);
  await setModelVersionStatus(database.db, v1.modelId, 1, 'retired');
  await setModelVersionStatus(database.db, v2.modelId, 2, 'deployed');
});

afterAll(async () => {
  for (const workflowId of startedMonitors) {
    await temporal.client.workflow.getHandle(workflowId).terminate('test cleanup').catch(() => undefined);
  }
  await app?.close();
  await serving?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
  if (artifactDir) await rm(artifactDir, { recursive: true, force: true });
});

function send(method: 'GET' | 'POST' | 'PUT', url: string, key: string, payload?: unknown) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function policyAudits() {
  return database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, 'model.monitoring_policy'), eq(auditLog.subject, `model:${model}`)));
}

describe('PUT /v1/models/:name/monitoring', () => {
  it.each([
    [{ interval: 'soon' }, '/interval'],
    [{ minRows: 0 }, '/minRows'],
    [{ thresholds: { psi: -0.1 } }, '/thresholds/psi'],
    [{ thresholds: { driftShare: 2 } }, '/thresholds/driftShare'],
    [{ retrain: { enabled: 'yes' } }, '/retrain/enabled'],
    [{ cooldown: '1h', colour: 'red' }, '/colour'],
    // Counts and milliseconds no integer column or Temporal timer holds: JSON Schema's integer alone takes 1e308.
    [{ minRows: 1e308 }, '/minRows'],
    [{ minLabels: 2_147_483_648 }, '/minLabels'],
    [{ interval: 1e308 }, '/interval'],
    [{ cooldown: 365 * 86_400_000 + 1 }, '/cooldown'],
  ])('when the body is %j, then 400 names the field %s and nothing is stored or audited', async (body, field) => {
    const response = await send('PUT', `/v1/models/${model}/monitoring`, keys.ops, body);
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.issues.map((issue: { path: string }) => issue.path)).toContain(field);
    expect(error.message).toContain(`body${field}`);
    expect(await getMonitoringPolicy(database.db, v1.modelId)).toBeUndefined();
    expect(await policyAudits()).toHaveLength(0);
  });

  it.each([
    ['99999999999w', { interval: '99999999999w' }, 'interval'],
    ['366 days', { interval: '366 days' }, 'interval'],
    ['400 nines of ms (Infinity)', { interval: `${'9'.repeat(400)}ms` }, 'interval'],
    ['53 weeks', { cooldown: '53 weeks' }, 'cooldown'],
  ])('when a duration in text is %s, longer than 365 days, then 400 names it and nothing is stored or audited', async (_label, body, field) => {
    const response = await send('PUT', `/v1/models/${model}/monitoring`, keys.ops, body);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    expect(response.json().error.message).toContain(`body/${field} must be at most 365 days`);
    expect(await getMonitoringPolicy(database.db, v1.modelId)).toBeUndefined();
    expect(await policyAudits()).toHaveLength(0);
  });

  it('when the interval is shorter than a second, then 400 names interval', async () => {
    const response = await send('PUT', `/v1/models/${model}/monitoring`, keys.ops, { interval: 10 });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'interval' } });
  });

  it.each(['engineer', 'reviewer', 'predict'] as const)('when a %s key sets the policy, then 403 and nothing changes', async (role) => {
    const response = await send('PUT', `/v1/models/${model}/monitoring`, keys[role], { interval: '30m' });
    expect(response.statusCode).toBe(403);
    expect(await getMonitoringPolicy(database.db, v1.modelId)).toBeUndefined();
  });

  it('when the model does not exist, then 404 and no audit row', async () => {
    const response = await send('PUT', '/v1/models/no-such-model/monitoring', keys.ops, { interval: '30m' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('MODEL_NOT_FOUND');
  });

  it('when ops set part of a policy, then the defaults fill the rest and the audit row is written in the same transaction', async () => {
    const response = await send('PUT', `/v1/models/${model}/monitoring`, keys.ops, { interval: '30m', thresholds: { psi: 0.3 } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      model,
      intervalMs: 30 * 60 * 1000,
      minRows: 500,
      minLabels: 200,
      thresholds: { psi: 0.3, psiModerate: 0.1, driftShare: 0.5, metricDrop: 0.05, rmseIncrease: 0.1 },
      cooldownMs: 24 * 60 * 60 * 1000,
      retrain: { enabled: true },
      updatedBy: 'ops-key',
    });

    const stored = await getMonitoringPolicy(database.db, v1.modelId);
    expect(stored?.policy).toEqual({ interval: '30m', thresholds: { psi: 0.3 } });
    const audits = await policyAudits();
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor: 'ops-key', role: 'ops', before: null, after: { interval: '30m', thresholds: { psi: 0.3 } } });
    // now() is the transaction's start time: equal timestamps mean one transaction wrote both rows.
    expect(audits[0]!.createdAt.getTime()).toBe(stored!.updatedAt.getTime());

    // A second policy is audited with the one it replaced; GET shows it with the defaults filled.
    expect((await send('PUT', `/v1/models/${model}/monitoring`, keys.ops, { minRows: 50, retrain: { enabled: false } })).statusCode).toBe(200);
    const [, second] = (await policyAudits()).sort((a, b) => a.id - b.id);
    expect(second).toMatchObject({ before: { interval: '30m', thresholds: { psi: 0.3 } }, after: { minRows: 50, retrain: { enabled: false } } });
    const view = await send('GET', `/v1/models/${model}/monitoring`, keys.engineer);
    expect(view.json().policy).toMatchObject({ intervalMs: 60 * 60 * 1000, minRows: 50, retrain: { enabled: false }, thresholds: { psi: 0.25 } });
  });
});

describe('GET /v1/models/:name/monitoring and the latest report on GET /v1/models/:name', () => {
  const hour = 60 * 60 * 1000;
  const base = Date.parse('2026-11-01T00:00:00.000Z');

  beforeAll(async () => {
    for (const [i, verdict] of (['no_drift', 'not_enough_data', 'drift', 'no_drift'] as const).entries()) {
      await saveMonitoringReport(database.db, {
        modelId: v2.modelId,
        version: 2,
        windowStart: new Date(base + i * hour),
        windowEnd: new Date(base + (i + 1) * hour),
        report: { summary: `window ${i + 1}: ${verdict}` },
        driftDetected: verdict === 'drift',
        verdict,
        rows: 1000 * (i + 1),
        ...(verdict === 'drift' ? { retrain: { action: 'started', runId: 'retrain-run', workflowId: 'retrain/x/y', reason: 'psi' }, retrainRunId: 'retrain-run' } : {}),
      });
    }
  });

  it('when from and to are given, then only the reports whose window ends in [from, to] come back, newest first', async () => {
    const from = new Date(base + 2 * hour).toISOString();
    const to = new Date(base + 3 * hour).toISOString();
    const response = await send('GET', `/v1/models/${model}/monitoring?from=${from}&to=${to}`, keys.reviewer);
    expect(response.statusCode).toBe(200);
    const reports = response.json().reports as { windowEnd: string; verdict: string; report: unknown; retrainRunId: string | null }[];
    expect(reports.map((report) => [report.windowEnd, report.verdict])).toEqual([
      [to, 'drift'],
      [from, 'not_enough_data'],
    ]);
    expect(reports[0]).toMatchObject({ retrainRunId: 'retrain-run', report: { summary: 'window 3: drift' } });
    expect((await send('GET', `/v1/models/${model}/monitoring`, keys.engineer)).json().reports).toHaveLength(4);
  });

  it('when from is after to, or not a time, then 400; a predict key gets 403', async () => {
    const backwards = await send('GET', `/v1/models/${model}/monitoring?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z`, keys.ops);
    expect(backwards.statusCode).toBe(400);
    expect((await send('GET', `/v1/models/${model}/monitoring?from=yesterday`, keys.ops)).statusCode).toBe(400);
    // A date-time to JSON Schema, but year 0 is not one Postgres holds (the query failed: a 500).
    const yearZero = await send('GET', `/v1/models/${model}/monitoring?from=0000-01-01T00:00:00Z`, keys.ops);
    expect(yearZero.statusCode, yearZero.body).toBe(400);
    expect(yearZero.json().error.message).toContain('querystring/from');
    expect((await send('GET', `/v1/models/${model}/monitoring`, keys.predict)).statusCode).toBe(403);
  });

  it('when a model has reports, then its detail shows the latest one and its verdict', async () => {
    const response = await send('GET', `/v1/models/${model}`, keys.engineer);
    expect(response.statusCode).toBe(200);
    expect(response.json().monitoring.latestReport).toMatchObject({
      version: 2,
      verdict: 'no_drift',
      driftDetected: false,
      summary: 'window 4: no_drift',
      rows: 4000,
      windowEnd: new Date(base + 4 * hour).toISOString(),
      retrainRunId: null,
    });
  });
});

describe('POST /v1/models/:name/rollback tells the monitor', () => {
  it('when ops roll back, then signal-with-start reaches monitor/<model> with the version now in production', async () => {
    const workflowId = monitorWorkflowId(model);
    startedMonitors.push(workflowId);
    const response = await send('POST', `/v1/models/${model}/rollback`, keys.ops, { version: 1, reason: 'v2 misbehaves' });
    expect(response.statusCode).toBe(200);
    // No worker serves the monitor here: its history shows the start and the signal the API sent.
    const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.workflowType?.name).toBe('modelMonitor');
    const signals = (history.events ?? []).flatMap((event) => (event.workflowExecutionSignaledEventAttributes ? [event.workflowExecutionSignaledEventAttributes] : []));
    expect(signals.map((signal) => signal.signalName)).toEqual(['productionChanged']);
    const change = JSON.parse(Buffer.from(signals[0]!.input!.payloads![0]!.data!).toString('utf8'));
    expect(change).toEqual({ model, version: 1, action: 'rollback', runId: null, actor: 'ops-key' });
  });
});
