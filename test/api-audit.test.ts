// The audit trail through the API, with the app connected as the keel_app role: who may read it, filters and
// pages, verification, refused reviews on record, and "what was serving then" from Postgres.
import pino from 'pino';
import pg from 'pg';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { loadConfig } from '../config.js';
import { APP_ROLE, setAppRolePassword } from '../db/app-role.js';
import { createDb, type DbHandle } from '../db/client.js';
import { approvals, auditLog, deployments, models, modelVersions, runs } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { insertRunRow } from './support/run-rows.js';
import { connectTestTemporal, type TestTemporal } from './support/temporal.js';

let database: TestDatabase;
let appDb: DbHandle;
let temporal: TestTemporal;
let app: KeelApp;
const keys: Record<'admin' | 'ops' | 'engineer' | 'author', { secret: string; id: string }> = {} as never;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const get = (url: string, key = keys.ops.secret) => app.inject({ method: 'GET', url, headers: bearer(key) });

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const appUrl = new URL(database.url);
  appUrl.username = APP_ROLE;
  appUrl.password = 'api-audit-test';
  const owner = new pg.Client({ connectionString: database.url });
  await owner.connect();
  await setAppRolePassword(owner, appUrl.toString());
  await owner.end();
  appDb = createDb(appUrl.toString(), { max: 5, logger: pino({ level: 'warn' }) });
  const admin = await ensureAdminKey(appDb.db, { adminKey: undefined });
  keys.admin = { secret: admin.secret!, id: admin.keyId! };
  app = await buildApp({
    config: loadConfig({}),
    db: appDb.db,
    pool: appDb.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
  });
  await app.ready();
  for (const [name, roles] of [['ops', ['ops']], ['engineer', ['engineer']], ['author', ['engineer', 'reviewer']]] as const) {
    const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(keys.admin.secret), payload: { name, roles } });
    expect(response.statusCode, response.body).toBe(201);
    keys[name] = { secret: response.json().secret, id: response.json().id };
  }
});

afterAll(async () => {
  await app?.close();
  await appDb?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

describe('GET /v1/audit', () => {
  it('when an engineer asks, then 403; ops and admin may read it', async () => {
    expect((await get('/v1/audit', keys.engineer.secret)).statusCode).toBe(403);
    expect((await get('/v1/audit', keys.ops.secret)).statusCode).toBe(200);
    expect((await get('/v1/audit', keys.admin.secret)).statusCode).toBe(200);
  });

  it('when a key is created, then its row names the actor, key id, role used, target and request id', async () => {
    const response = await get(`/v1/audit?action=api_key.create&target=api_key:${keys.ops.id}`);
    expect(response.statusCode, response.body).toBe(200);
    const [entry, ...rest] = response.json().entries;
    expect(rest).toHaveLength(0);
    expect(entry).toMatchObject({
      actor: 'admin',
      actorKeyId: keys.admin.id,
      role: 'admin',
      action: 'api_key.create',
      target: `api_key:${keys.ops.id}`,
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
    });
  });

  it('when filtering by actor and a target prefix, then only those rows come back', async () => {
    const body = (await get(`/v1/audit?actor=${encodeURIComponent('admin')}&target=api_key:*`)).json();
    expect(body.entries.length).toBeGreaterThanOrEqual(3);
    for (const entry of body.entries) {
      expect(entry.actor).toBe('admin');
      expect(entry.target.startsWith('api_key:')).toBe(true);
    }
    expect((await get('/v1/audit?actor=nobody')).json().entries).toEqual([]);
  });

  it('when paging with limit and cursor, then every row comes exactly once, newest first', async () => {
    const all = (await get('/v1/audit?limit=500')).json().entries.map((entry: { id: number }) => entry.id);
    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const body: { entries: { id: number }[]; nextCursor: string | null } = (
        await get(`/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      paged.push(...body.entries.map((entry) => entry.id));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all);
    expect([...all].sort((a, b) => b - a)).toEqual(all);
  });

  it('when from/to bound the time, then rows outside it are left out', async () => {
    const future = (await get('/v1/audit?from=2999-01-01T00:00:00Z')).json();
    expect(future.entries).toEqual([]);
    const past = (await get('/v1/audit?to=2000-01-01T00:00:00Z')).json();
    expect(past.entries).toEqual([]);
    expect((await get('/v1/audit?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z')).json().entries.length).toBeGreaterThan(0);
  });

  it.each([
    ['from=yesterday', 'querystring/from'],
    ['to=2026-02-30T00:00:00Z', 'querystring/to'],
    ['from=2026-01-01T00:00:00', 'querystring/from'],
    ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'querystring/from'],
    ['limit=0', 'querystring/limit'],
    ['cursor=abc', 'querystring/cursor'],
    // Year 0 is a JavaScript year, not a Postgres one: the query failed on it (a 500).
    ['from=0000-01-01T00:00:00Z', 'querystring/from'],
    ['colour=red', 'querystring/colour'],
  ])('when the query is %s, then 400 naming %s', async (query, field) => {
    const response = await get(`/v1/audit?${query}`);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain(field);
  });
});

describe('GET /v1/audit/verify', () => {
  it('when nobody tampered, then the chain verifies', async () => {
    const response = await get('/v1/audit/verify');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ ok: true, firstBroken: null });
    expect(response.json().checked).toBeGreaterThanOrEqual(4);
  });

  it('when an engineer asks, then 403', async () => {
    expect((await get('/v1/audit/verify', keys.engineer.secret)).statusCode).toBe(403);
  });
});

describe('refused reviews', () => {
  it('when the key that started a run reviews it (four eyes), then 403 and a run.review_refused row says why', async () => {
    await appDb.db.insert(runs).values({
      id: 'four-eyes-run',
      workflowId: 'pipeline/audit-model/four-eyes-run',
      model: 'audit-model',
      spec: {},
      specHash: 'test',
      status: 'awaiting_review',
      requestedBy: keys.author.id,
      requestedByName: 'author',
    });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/runs/four-eyes-run/review',
      headers: bearer(keys.author.secret),
      payload: { decision: 'approve' },
    });
    expect(response.statusCode, response.body).toBe(403);
    const rows = await appDb.db.select().from(auditLog).where(eq(auditLog.subject, 'run:four-eyes-run'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: 'author',
      actorKeyId: keys.author.id,
      role: 'reviewer',
      action: 'run.review_refused',
      details: { decision: 'approve', status: 403, code: 'REQUESTER_CANNOT_REVIEW' },
    });
  });

  it('when a run is not awaiting review, then the refusal is on record too', async () => {
    await insertRunRow(appDb.db, 'not-awaiting-run', 'audit-model');
    const response = await app.inject({
      method: 'POST',
      url: '/v1/runs/not-awaiting-run/review',
      // A reviewer (admin is not one: four eyes needs someone given the reviewer role).
      headers: bearer(keys.author.secret),
      payload: { decision: 'reject', comment: 'no' },
    });
    expect(response.statusCode, response.body).toBe(409);
    const entries = (await get('/v1/audit?target=run:not-awaiting-run&action=run.review_refused')).json().entries;
    expect(entries).toHaveLength(1);
    expect(entries[0].details).toMatchObject({ code: 'NOT_AWAITING_REVIEW', decision: 'reject' });
  });
});

describe('GET /v1/models/:name/production?at=', () => {
  const t = (iso: string) => new Date(iso);
  beforeAll(async () => {
    const [model] = await appDb.db
      .insert(models)
      .values({ name: 'history-model', task: 'binary', target: 'y', featureSchema: [] })
      .returning();
    for (const version of [1, 2]) {
      await insertRunRow(appDb.db, `history-run-${version}`, 'history-model');
      await appDb.db.insert(modelVersions).values({
        modelId: model!.id,
        version,
        status: 'deployed',
        artifactUri: `file:///v${version}.onnx`,
        artifactSha256: String(version).repeat(64),
        trainer: 'gbdt',
        metrics: {},
        params: {},
        featureSchema: [],
        runId: `history-run-${version}`,
        snapshotSha256: `${'ab'.repeat(31)}0${version}`,
      });
    }
    const [v1] = await appDb.db.select().from(modelVersions).where(eq(modelVersions.version, 1));
    await appDb.db.insert(approvals).values([
      { runId: 'history-run-1', modelVersionId: v1!.id, decision: 'approve', reviewer: 'rita', comment: 'holdout AUC fine', createdAt: t('2026-01-01T09:00:00Z') },
      { runId: 'history-run-2', decision: 'auto_approve', reviewer: 'policy', createdAt: t('2026-01-05T09:00:00Z') },
    ]);
    await appDb.db.insert(deployments).values([
      { modelId: model!.id, alias: 'production', fromVersion: null, toVersion: 1, action: 'deploy', actor: 'deployer', runId: 'history-run-1', createdAt: t('2026-01-01T10:00:00Z') },
      { modelId: model!.id, alias: 'production', fromVersion: 1, toVersion: 2, action: 'deploy', actor: 'nightly', runId: 'history-run-2', createdAt: t('2026-01-05T10:00:00Z') },
      { modelId: model!.id, alias: 'production', fromVersion: 2, toVersion: 1, action: 'rollback', actor: 'olga', reason: 'v2 drifted', runId: null, createdAt: t('2026-01-07T10:00:00Z') },
    ]);
  });

  it('when asked about a moment after the first deploy, then v1 with its deployer, approver, comment, run and snapshot', async () => {
    const response = await get('/v1/models/history-model/production?at=2026-01-03T00:00:00Z', keys.engineer.secret);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      model: 'history-model',
      at: '2026-01-03T00:00:00.000Z',
      version: 1,
      since: '2026-01-01T10:00:00.000Z',
      how: 'deploy',
      deployedBy: 'deployer',
      reason: null,
      fromVersion: null,
      runId: 'history-run-1',
      snapshotSha256: `${'ab'.repeat(31)}01`,
      artifactSha256: '1'.repeat(64),
      approval: { decision: 'approve', reviewer: 'rita', reviewerKeyId: null, comment: 'holdout AUC fine', at: '2026-01-01T09:00:00.000Z' },
    });
  });

  it('when asked about later moments, then the version each move left serving', async () => {
    const at = async (iso: string) => (await get(`/v1/models/history-model/production?at=${encodeURIComponent(iso)}`)).json();
    expect(await at('2026-01-06T00:00:00+02:00')).toMatchObject({ version: 2, deployedBy: 'nightly', approval: { decision: 'auto_approve' } });
    // Exactly at the rollback's time the rollback is in force.
    expect(await at('2026-01-07T10:00:00Z')).toMatchObject({ version: 1, how: 'rollback', deployedBy: 'olga', reason: 'v2 drifted', since: '2026-01-07T10:00:00.000Z' });
    expect(await at('2026-01-07T09:59:59.999Z')).toMatchObject({ version: 2 });
  });

  it('when asked about a moment before the first deploy or an unknown model, then 404', async () => {
    const before = await get('/v1/models/history-model/production?at=2025-12-31T00:00:00Z');
    expect(before.statusCode).toBe(404);
    expect(before.json().error.message).toMatch(/never been deployed/);
    expect((await get('/v1/models/no-such-model/production?at=2026-01-03T00:00:00Z')).statusCode).toBe(404);
  });

  it.each(['yesterday', '2026-13-01T00:00:00Z', '2026-01-03', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z'])('when at=%s, then 400 naming querystring/at', async (at) => {
    const response = await get(`/v1/models/history-model/production?at=${at}`);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.message).toContain('querystring/at');
  });
});

describe('run detail', () => {
  it('when a run was reviewed, then GET /v1/runs/:id shows the decision from Postgres (no worker answers)', async () => {
    const response = await get('/v1/runs/history-run-1', keys.engineer.secret);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().review).toEqual({ decision: 'approve', reviewer: 'rita', comment: 'holdout AUC fine', decidedAt: '2026-01-01T09:00:00.000Z' });
  });
});
