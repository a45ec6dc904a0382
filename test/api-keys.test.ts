// API keys end to end through app.inject() on a real Postgres: auth, roles, create/list/revoke, audit, bootstrap.
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { auditLog, apiKeys, installation } from '../db/schema.js';
import { buildApp, type KeelApp } from '../api/app.js';
import { ADMIN_BOOTSTRAP_FACT, ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

let database: TestDatabase;
let app: KeelApp;
let adminKey: string;
let adminKeyId: string;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function createKey(name: string, roles: string[], asKey = adminKey) {
  const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(asKey), payload: { name, roles } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; name: string; roles: string[]; secret: string; createdAt: string };
}

beforeAll(async () => {
  database = await createTestDatabase();
  const bootstrap = await ensureAdminKey(database.db, { adminKey: undefined });
  adminKey = bootstrap.secret!;
  adminKeyId = bootstrap.keyId!;
  app = await buildApp({ config: loadConfig({}), db: database.db, pool: database.pool, logger: false });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('authentication', () => {
  it('rejects a request without a key with 401', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/keys' });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a well-formed but unknown key with 401', async () => {
    const forged = `keel_abcdefgh_${'A'.repeat(43)}`;
    const response = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(forged) });
    expect(response.statusCode).toBe(401);
  });

  it('rejects a key whose prefix exists but whose secret is wrong with 401', async () => {
    const tampered = adminKey.slice(0, -4) + (adminKey.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const response = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(tampered) });
    expect(response.statusCode).toBe(401);
  });

  it('rejects a non-bearer Authorization header with 401', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Basic ${adminKey}` } });
    expect(response.statusCode).toBe(401);
  });

  it('authenticates before parsing the body: a bad body without a key is a 401, not a 400', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: { 'content-type': 'application/json' }, payload: '{oops' });
    expect(response.statusCode).toBe(401);
  });

  it('rejects a key without the required role with 403, and lets admin pass every role', async () => {
    const engineer = await createKey('engineer-1', ['engineer']);
    const denied = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(engineer.secret) });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toMatchObject({ code: 'FORBIDDEN', details: { requiredRoles: ['admin'] } });
    const allowed = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(adminKey) });
    expect(allowed.statusCode).toBe(200);
  });
});

describe('key management', () => {
  it('creates keys that belong to a named user (default: the key name), and refuses Keel\'s own system: users', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(adminKey),
      payload: { user: 'alice@example.com', name: 'alice-laptop', roles: ['engineer'] },
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ user: 'alice@example.com', name: 'alice-laptop' });
    const defaulted = await createKey('ci-pipeline', ['engineer']);
    expect(defaulted).toMatchObject({ user: 'ci-pipeline' });
    const listed = (await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(adminKey) })).json().keys;
    expect(listed.find((key: { id: string }) => key.id === response.json().id)).toMatchObject({ user: 'alice@example.com' });
    for (const payload of [
      { user: 'system:monitor', name: 'sneaky', roles: ['reviewer'] },
      { name: 'system:monitor', roles: ['reviewer'] },
      { user: '', name: 'empty', roles: ['reviewer'] },
    ]) {
      const refused = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(adminKey), payload });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toMatch(/body\/(user|name)/);
    }
  });

  it('creates a key whose secret works, lists it without secret or hash, and revokes it so it stops working', async () => {
    const created = await createKey('ops-bot', ['ops', 'reviewer']);
    expect(created.secret).toMatch(/^keel_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'ops-bot', roles: ['ops', 'reviewer'] });

    // The new key authenticates (any authenticated key reaches a role-free /v1 route → here 403 proves auth passed).
    const asOps = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(created.secret) });
    expect(asOps.statusCode).toBe(403);

    const list = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(adminKey) });
    expect(list.statusCode).toBe(200);
    const listed = list.json().keys.find((key: { id: string }) => key.id === created.id);
    expect(listed).toMatchObject({ name: 'ops-bot', roles: ['ops', 'reviewer'], revokedAt: null, createdBy: adminKeyId });
    expect(list.body).not.toContain(created.secret);
    expect(list.body).not.toContain(created.secret.slice(14));
    expect(list.body).not.toContain('scrypt');
    expect(Object.keys(listed).sort()).toEqual(['createdAt', 'createdBy', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'roles', 'user']);

    const revoke = await app.inject({ method: 'DELETE', url: `/v1/keys/${created.id}`, headers: bearer(adminKey) });
    expect(revoke.statusCode).toBe(204);
    expect(revoke.body).toBe('');

    const afterRevoke = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(created.secret) });
    expect(afterRevoke.statusCode).toBe(401);

    const active = await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(adminKey) });
    expect(active.json().keys.map((key: { id: string }) => key.id)).not.toContain(created.id);
    const all = await app.inject({ method: 'GET', url: '/v1/keys?includeRevoked=true', headers: bearer(adminKey) });
    const revoked = all.json().keys.find((key: { id: string }) => key.id === created.id);
    expect(revoked.revokedAt).toEqual(expect.any(String));
  });

  it('stops accepting a revoked key that was cached moments before', async () => {
    const created = await createKey('cached', ['admin']);
    expect((await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(created.secret) })).statusCode).toBe(200);
    await app.inject({ method: 'DELETE', url: `/v1/keys/${created.id}`, headers: bearer(adminKey) });
    expect((await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(created.secret) })).statusCode).toBe(401);
  });

  it('writes an audit row for each create and revoke, naming the actor and never the secret', async () => {
    const created = await createKey('audited', ['predict']);
    await app.inject({ method: 'DELETE', url: `/v1/keys/${created.id}`, headers: bearer(adminKey) });
    const rows = await database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.subject, `api_key:${created.id}`))
      .orderBy(asc(auditLog.id));
    expect(rows.map((row) => row.action)).toEqual(['api_key.create', 'api_key.revoke']);
    for (const row of rows) {
      // The actor is the person (the bootstrapped admin key belongs to the user "admin"), the key is named by id.
      expect(row).toMatchObject({ actor: 'admin', actorKeyId: adminKeyId, role: 'admin' });
      expect(JSON.stringify(row)).not.toContain(created.secret);
    }
    expect(rows[0].after).toMatchObject({ id: created.id, name: 'audited', roles: ['predict'], revokedAt: null });
    expect(rows[1].before).toMatchObject({ revokedAt: null });
    expect(rows[1].after).toMatchObject({ revokedAt: expect.any(String) });
  });

  it('answers 404 for revoking an unknown key and 400 for a malformed id', async () => {
    const unknown = await app.inject({ method: 'DELETE', url: '/v1/keys/00000000-0000-4000-8000-000000000000', headers: bearer(adminKey) });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('NOT_FOUND');
    const malformed = await app.inject({ method: 'DELETE', url: '/v1/keys/not-a-uuid', headers: bearer(adminKey) });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.message).toContain('params/id');
  });

  it('refuses to revoke the last active admin key with 409, and allows it once another admin exists', async () => {
    const [other] = await database.db.select().from(apiKeys).where(eq(apiKeys.name, 'cached'));
    expect(other.revokedAt).not.toBeNull();
    const refused = await app.inject({ method: 'DELETE', url: `/v1/keys/${adminKeyId}`, headers: bearer(adminKey) });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('CONFLICT');

    const second = await createKey('second-admin', ['admin']);
    const allowed = await app.inject({ method: 'DELETE', url: `/v1/keys/${adminKeyId}`, headers: bearer(second.secret) });
    expect(allowed.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/keys', headers: bearer(adminKey) })).statusCode).toBe(401);
    adminKey = second.secret;
    adminKeyId = second.id;
  });

  it.each([
    ['a number for the name', { name: 1, roles: ['engineer'] }, 'body/name'],
    ['an unknown role', { name: 'x', roles: ['root'] }, 'body/roles/0'],
    ['no roles', { name: 'x', roles: [] }, 'body/roles'],
    ['an unknown property', { name: 'x', roles: ['ops'], secret: 'mine' }, 'body/secret'],
    ['an empty name', { name: '', roles: ['ops'] }, 'body/name'],
  ])('rejects a create request with %s (400 naming the field)', async (_case, payload, field) => {
    const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(adminKey), payload });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('VALIDATION_FAILED');
    expect(response.json().error.message).toContain(field);
  });

  it('rejects a query-string value it does not know instead of guessing', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/keys?includeRevoked=1', headers: bearer(adminKey) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('querystring/includeRevoked');
  });
});

describe('admin bootstrap', () => {
  it('creates nothing on a second start', async () => {
    const before = await database.db.select().from(apiKeys);
    const again = await ensureAdminKey(database.db, { adminKey: undefined });
    expect(again).toEqual({ created: false });
    expect(await database.db.select().from(apiKeys)).toHaveLength(before.length);
  });

  it('installs the configured admin key, exactly once under concurrent first starts', async () => {
    const fresh = await createTestDatabase();
    try {
      const configured = 'operator-chosen-admin-key-0001';
      const results = await Promise.all(
        Array.from({ length: 4 }, () => ensureAdminKey(fresh.db, { adminKey: configured })),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(results.every((result) => result.secret === undefined)).toBe(true);
      const keys = await fresh.db.select().from(apiKeys);
      expect(keys).toHaveLength(1);
      expect(keys[0].roles).toEqual(['admin']);
      expect(keys[0].secretHash).not.toContain(configured);
      const [fact] = await fresh.db.select().from(installation).where(eq(installation.key, ADMIN_BOOTSTRAP_FACT));
      expect(fact.value).toMatchObject({ state: 'done', keyId: keys[0].id, source: 'configured' });

      // An operator-chosen key (not keel_… shaped) is verified only by API processes that were given it.
      const unconfiguredApp = await buildApp({ config: loadConfig({}), db: fresh.db, pool: fresh.pool, logger: false });
      try {
        expect((await unconfiguredApp.inject({ method: 'GET', url: '/v1/keys', headers: bearer(configured) })).statusCode).toBe(401);
      } finally {
        await unconfiguredApp.close();
      }
      const freshApp = await buildApp({ config: loadConfig({ KEEL_ADMIN_KEY: configured }), db: fresh.db, pool: fresh.pool, logger: false });
      try {
        const ok = await freshApp.inject({ method: 'GET', url: '/v1/keys', headers: bearer(configured) });
        expect(ok.statusCode).toBe(200);
        const wrong = await freshApp.inject({ method: 'GET', url: '/v1/keys', headers: bearer(`${configured}x`) });
        expect(wrong.statusCode).toBe(401);
      } finally {
        await freshApp.close();
      }
      expect(await ensureAdminKey(fresh.db, { adminKey: configured })).toEqual({ created: false });
    } finally {
      await fresh.close();
    }
  });
});
