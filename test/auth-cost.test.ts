// Issue 11 §3, authentication cost: refusing a token costs no scrypt unless it carries a real key's prefix, and a
// prefix's failed verifications are bounded, through the real app on a real Postgres.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { DEFAULT_PREFIX_FAILURE_BUDGET } from '../api/auth/prefix-failure-budget.js';
import { VerifiedKeyCache } from '../api/auth/verified-key-cache.js';
import { loadConfig } from '../config.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { anonymousBrowser, signedInBrowser } from './support/ui-probes.js';

let database: TestDatabase;
let app: KeelApp;
let adminKey: string;
const logLines: Array<{ msg: string; refused?: Record<string, number>; res?: { statusCode: number } }> = [];
const apps: KeelApp[] = [];

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function newApp(keyCacheTtlMs?: number, maxWaitingKeyLookups?: number): Promise<KeelApp> {
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        callback();
      },
    }),
  );
  const built = await buildApp({ config: loadConfig({}), db: database.db, pool: database.pool, logger, keyCacheTtlMs, maxWaitingKeyLookups });
  await built.ready();
  apps.push(built);
  return built;
}

async function counter(on: KeelApp, name: string, label: string, value: string): Promise<number> {
  const metric = await on.metricsRegistry.getSingleMetric(name)!.get();
  return metric.values.find((entry) => entry.labels[label] === value)?.value ?? 0;
}

const scrypts = (on: KeelApp, result: 'valid' | 'invalid') => counter(on, 'keel_api_key_verifications_total', 'result', result);

async function createKey(name: string): Promise<{ id: string; secret: string; prefix: string }> {
  const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(adminKey), payload: { name, roles: ['engineer'] } });
  expect(response.statusCode, response.body).toBe(201);
  const secret: string = response.json().secret;
  return { id: response.json().id, secret, prefix: secret.split('_')[1]! };
}

const withPrefix = (prefix: string) => `keel_${prefix}_${randomBytes(32).toString('base64url')}`;

beforeAll(async () => {
  database = await createTestDatabase();
  adminKey = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await newApp();
});

afterAll(async () => {
  for (const built of apps) await built.close();
  await database?.close();
});

describe('refusing a token that is not a key', () => {
  it('when the header is missing, malformed or not a Keel key, then it is a 401 with the error body, counted by reason, and no log line of its own', async () => {
    const before = {
      missing: await counter(app, 'keel_api_key_refusals_total', 'reason', 'missing'),
      malformed: await counter(app, 'keel_api_key_refusals_total', 'reason', 'malformed'),
      notAKey: await counter(app, 'keel_api_key_refusals_total', 'reason', 'not_a_key'),
      rejected: await counter(app, 'keel_api_key_refusals_total', 'reason', 'rejected'),
    };
    const linesBefore = logLines.length;
    const answers = await Promise.all([
      app.inject({ method: 'GET', url: '/v1/models' }),
      app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: 'Basic abc' } }),
      app.inject({ method: 'GET', url: '/v1/models', headers: bearer('x'.repeat(513)) }),
      ...Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: '/v1/models', headers: bearer(`junk-${randomBytes(8).toString('hex')}`) })),
      app.inject({ method: 'GET', url: '/v1/models', headers: bearer(withPrefix('zzzzzzzz')) }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual(answers.map(() => 401));
    expect(answers[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answers[0]!.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'missing API key: send Authorization: Bearer <key>' } });
    expect(answers[1]!.json().error.message).toBe('malformed Authorization header: expected Bearer <key>');
    expect(answers.at(-1)!.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'invalid or revoked API key' } });
    // Security headers are set before authentication, so refusals carry them too.
    expect(answers[3]!.headers['x-content-type-options']).toBe('nosniff');
    expect(await counter(app, 'keel_api_key_refusals_total', 'reason', 'missing')).toBe(before.missing + 1);
    expect(await counter(app, 'keel_api_key_refusals_total', 'reason', 'malformed')).toBe(before.malformed + 2);
    expect(await counter(app, 'keel_api_key_refusals_total', 'reason', 'not_a_key')).toBe(before.notAKey + 20);
    expect(await counter(app, 'keel_api_key_refusals_total', 'reason', 'rejected')).toBe(before.rejected + 1);
    // At most one summary line for 24 refusals, and no access-log line per refused request.
    const lines = logLines.slice(linesBefore);
    expect(lines.filter((line) => line.res?.statusCode === 401)).toEqual([]);
    expect(lines.filter((line) => line.msg === 'bearer tokens refused').length).toBeLessThanOrEqual(1);
    // An accepted request still gets its access-log line.
    expect((await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(adminKey) })).statusCode).toBe(200);
    expect(logLines.slice(linesBefore).filter((line) => line.msg === 'request completed' && line.res?.statusCode === 200)).toHaveLength(1);
  });
});

describe('well-formed junk does not crowd the routes out of Postgres', () => {
  it('when a burst of well-formed tokens with unknown prefixes arrives, then at most two key lookups hold a pool connection at once and none waits for one', async () => {
    const pool = database.pool;
    // The previous test's background last-used update may still hold a connection: sample from an idle pool.
    while (pool.totalCount - pool.idleCount > 0 || pool.waitingCount > 0) await new Promise((resolve) => setImmediate(resolve));
    let mostInUse = 0;
    let mostWaiting = 0;
    let sampling = true;
    const sample = () => {
      mostInUse = Math.max(mostInUse, pool.totalCount - pool.idleCount);
      mostWaiting = Math.max(mostWaiting, pool.waitingCount);
      if (sampling) setImmediate(sample);
    };
    sample();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => app.inject({ method: 'GET', url: '/v1/models', headers: bearer(withPrefix(randomBytes(4).toString('hex'))) })),
    );
    sampling = false;
    expect(answers.map((answer) => answer.statusCode)).toEqual(answers.map(() => 401));
    expect(mostInUse).toBeGreaterThanOrEqual(1);
    expect(mostInUse).toBeLessThanOrEqual(2);
    expect(mostWaiting).toBe(0);
  });
});

describe('the queue of lookups is bounded', () => {
  it('when more well-formed tokens wait for a lookup than the queue holds, then the rest are answered 503 with Retry-After instead of queueing, and a key proven here still passes', async () => {
    const bounded = await newApp(undefined, 5);
    const proven = await createKey('proven-busy');
    expect((await bounded.inject({ method: 'GET', url: '/v1/models', headers: bearer(proven.secret) })).statusCode).toBe(200);
    const busyBefore = await counter(bounded, 'keel_api_key_refusals_total', 'reason', 'busy');
    const flood = Array.from({ length: 60 }, () =>
      bounded.inject({ method: 'GET', url: '/v1/models', headers: bearer(withPrefix(randomBytes(4).toString('hex'))) }),
    );
    const [answers, provenAnswer] = await Promise.all([
      Promise.all(flood),
      bounded.inject({ method: 'GET', url: '/v1/models', headers: bearer(proven.secret) }),
    ]);
    expect(provenAnswer.statusCode).toBe(200);
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status !== 401 && status !== 503)).toEqual([]);
    // Two lookups run and five wait: at least those seven are answered by a lookup.
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(7);
    const busy = answers.filter((answer) => answer.statusCode === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]!.json().error.code).toBe('SERVICE_UNAVAILABLE');
    expect(busy[0]!.headers['retry-after']).toBe('1');
    expect(busy[0]!.headers['x-content-type-options']).toBe('nosniff');
    expect(await counter(bounded, 'keel_api_key_refusals_total', 'reason', 'busy')).toBe(busyBefore + busy.length);
    // The queue drains: the next unknown token is looked up again.
    expect((await bounded.inject({ method: 'GET', url: '/v1/models', headers: bearer(withPrefix('qqqqqqqq')) })).statusCode).toBe(401);
  });
});

describe("a real key's prefix has a failed-verification budget", () => {
  it('when many wrong secrets with a real prefix arrive at once, then only the budget runs scrypt, the rest are 429 with Retry-After, and the real key keeps working', async () => {
    const victim = await createKey('victim');
    const bystander = await createKey('bystander');
    expect((await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(200);
    const invalidBefore = await scrypts(app, 'invalid');
    const validBefore = await scrypts(app, 'valid');
    const burst = Array.from({ length: 40 }, () => withPrefix(victim.prefix));
    const answers = await Promise.all(burst.map((token) => app.inject({ method: 'GET', url: '/v1/models', headers: bearer(token) })));
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 401)).toHaveLength(DEFAULT_PREFIX_FAILURE_BUDGET.limit);
    expect(statuses.filter((status) => status === 429)).toHaveLength(burst.length - DEFAULT_PREFIX_FAILURE_BUDGET.limit);
    const locked = answers.find((answer) => answer.statusCode === 429)!;
    expect(locked.json().error.code).toBe('TOO_MANY_REQUESTS');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(DEFAULT_PREFIX_FAILURE_BUDGET.cooldownMs / 1000);
    expect(await scrypts(app, 'invalid')).toBe(invalidBefore + DEFAULT_PREFIX_FAILURE_BUDGET.limit);
    // More junk for the locked prefix: refused without scrypt (nor Postgres).
    expect((await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(withPrefix(victim.prefix)) })).statusCode).toBe(429);
    expect(await scrypts(app, 'invalid')).toBe(invalidBefore + DEFAULT_PREFIX_FAILURE_BUDGET.limit);
    expect((await app.metricsRegistry.getSingleMetric('keel_api_key_locked_prefixes')!.get()).values[0]!.value).toBeGreaterThanOrEqual(1);
    // The real key still works, and another key's prefix is not affected.
    expect((await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(bystander.secret) })).statusCode).toBe(200);
    expect(await scrypts(app, 'valid')).toBe(validBefore + 1);
  });

  it('when the verified cache has expired, then a key this process proved is re-checked against Postgres without scrypt, even while its prefix is locked, and revocation still stops it', async () => {
    // No cache: every request goes to Postgres, as a request after the TTL does.
    const uncached = await newApp(0);
    const victim = await createKey('victim-uncached');
    const keyId = victim.id;
    expect((await uncached.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(200);
    const validAfterFirst = await scrypts(uncached, 'valid');
    for (let i = 0; i < 3; i++) {
      expect((await uncached.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(200);
    }
    expect(await scrypts(uncached, 'valid')).toBe(validAfterFirst);
    const junk = Array.from({ length: DEFAULT_PREFIX_FAILURE_BUDGET.limit + 5 }, () => withPrefix(victim.prefix));
    await Promise.all(junk.map((token) => uncached.inject({ method: 'GET', url: '/v1/models', headers: bearer(token) })));
    expect((await uncached.inject({ method: 'GET', url: '/v1/models', headers: bearer(withPrefix(victim.prefix)) })).statusCode).toBe(429);
    expect((await uncached.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(200);
    expect(await scrypts(uncached, 'valid')).toBe(validAfterFirst);

    expect((await app.inject({ method: 'DELETE', url: `/v1/keys/${keyId}`, headers: bearer(adminKey) })).statusCode).toBe(204);
    expect((await uncached.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(401);
  });

  it('when a prefix is locked in a process that has not yet proven its key, then the real key too is refused there until the cool-down ends (the price of the bound)', async () => {
    const victim = await createKey('victim-fresh');
    const fresh = await newApp();
    const junk = Array.from({ length: DEFAULT_PREFIX_FAILURE_BUDGET.limit + 1 }, () => withPrefix(victim.prefix));
    await Promise.all(junk.map((token) => fresh.inject({ method: 'GET', url: '/v1/models', headers: bearer(token) })));
    const refused = await fresh.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    // Other processes (here the app that proved it earlier or never saw the junk) are not affected: the budget is per process.
    expect((await app.inject({ method: 'GET', url: '/v1/models', headers: bearer(victim.secret) })).statusCode).toBe(200);
  });
});

describe('the web sign-in form has the same cost bounds', () => {
  it('when a prefix is locked, then signing in with another token of that prefix is refused 429 with Retry-After and costs no scrypt, and other keys still sign in', async () => {
    const victim = await createKey('victim-ui');
    const other = await createKey('other-ui');
    const fresh = await newApp();
    const junk = Array.from({ length: DEFAULT_PREFIX_FAILURE_BUDGET.limit + 1 }, () => withPrefix(victim.prefix));
    await Promise.all(junk.map((token) => fresh.inject({ method: 'GET', url: '/v1/models', headers: bearer(token) })));
    const invalidBefore = await scrypts(fresh, 'invalid');
    const browser = await anonymousBrowser(fresh);
    const signIn = (apiKey: string) =>
      fresh.inject({
        method: 'POST',
        url: '/ui/login',
        headers: { cookie: browser.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ apiKey, next: '/ui/', _csrf: browser.csrf }).toString(),
      });
    const refused = await signIn(withPrefix(victim.prefix));
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Not a key at all: refused before Postgres and scrypt, as a bearer token would be.
    expect((await signIn('not-a-key')).statusCode).toBe(401);
    expect(await scrypts(fresh, 'invalid')).toBe(invalidBefore);
    await signedInBrowser(fresh, other.secret);
  });
});

describe('a keep-alive connection sends its key on every request', () => {
  it('when a connection repeats its bearer header, then the token is hashed once for it, yet another key on it is checked afresh and a revoked key stops at once', async () => {
    const server = await newApp();
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as AddressInfo;
    // One socket for every request, as a client's keep-alive pool would reuse it.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = (key: string) =>
      new Promise<number>((resolve, reject) => {
        const request = http.get({ host: '127.0.0.1', port, path: '/v1/models', agent, headers: bearer(key) }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode!));
        });
        request.on('socket', (socket) => sockets.add(socket));
        request.on('error', reject);
      });
    const key = await createKey('keep-alive');
    const other = await createKey('keep-alive-other');
    const digest = vi.spyOn(VerifiedKeyCache, 'digest');
    try {
      for (let i = 0; i < 5; i++) expect(await get(key.secret)).toBe(200);
      expect(digest).toHaveBeenCalledTimes(1);
      // A different header on the same connection is parsed and looked up as its own key.
      expect(await get(withPrefix(key.prefix))).toBe(401);
      expect(await get(other.secret)).toBe(200);
      expect(await get(key.secret)).toBe(200);
      expect(digest).toHaveBeenCalledTimes(4);
      expect(sockets.size).toBe(1);
      // Remembering the parsed header is no cache of the verdict: revocation in this process stops the key on this connection.
      expect((await server.inject({ method: 'DELETE', url: `/v1/keys/${key.id}`, headers: bearer(adminKey) })).statusCode).toBe(204);
      expect(await get(key.secret)).toBe(401);
      expect(await get(other.secret)).toBe(200);
    } finally {
      digest.mockRestore();
      agent.destroy();
    }
  });
});

describe('pipelined requests on one connection', () => {
  it('when requests are pipelined on one socket, then each is judged by its own header: none, a case or spacing variant, one byte off, a second key, a role it lacks', async () => {
    const server = await newApp();
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as AddressInfo;
    const key = await createKey('pipelined');
    const other = await createKey('pipelined-other');
    const oneByteOff = key.secret.slice(0, -1) + (key.secret.endsWith('A') ? 'B' : 'A');
    const headers = [
      `Authorization: Bearer ${key.secret}`,
      '',
      `authorization: bearer   ${key.secret}  `,
      `Authorization: Bearer ${oneByteOff}`,
      `Authorization: Bearer ${key.secret}`,
      `Authorization: Bearer ${other.secret}`,
      `Authorization: Bearer ${key.secret}`,
      `Authorization: Basic ${Buffer.from('a:b').toString('base64')}`,
      '',
      `Authorization: Bearer ${key.secret}`,
    ];
    const paths = headers.map((_, i) => (i === 6 ? '/v1/keys' : '/v1/models'));
    const wire = headers.map((header, i) => `GET ${paths[i]} HTTP/1.1\r\nHost: x\r\n${header ? `${header}\r\n` : ''}\r\n`).join('');
    const statuses = await new Promise<number[]>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(wire));
      let text = '';
      // Responses follow each other's bodies directly: a status line is not at the start of a line.
      const found = () => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (found().length >= headers.length) socket.destroy();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(found()));
    });
    expect(statuses).toEqual([200, 401, 200, 401, 200, 200, 403, 401, 401, 200]);
  });
});
