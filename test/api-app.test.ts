// The API skeleton through app.inject(): error shapes, strict validation, health, metrics, OpenAPI.
import { Type } from '@sinclair/typebox';
import { Client, Connection } from '@temporalio/client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { connectTestTemporal, type TestTemporal } from './support/temporal.js';
import { freePort } from '../dev/temporal-dev-server.js';

let database: TestDatabase;
let temporal: TestTemporal;
let app: KeelApp;
let adminKey: string;

beforeAll(async () => {
  [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const bootstrap = await ensureAdminKey(database.db, { adminKey: undefined });
  adminKey = bootstrap.secret!;
  app = await buildApp({
    config: loadConfig({}),
    db: database.db,
    pool: database.pool,
    temporal: { client: temporal.client, connection: temporal.connection },
    logger: false,
    bodyLimit: 4096,
  });
  // A route like the ones features add: a number field, a nested array, strict body.
  app.post(
    '/v1/test/measure',
    {
      config: { roles: [] },
      schema: {
        body: Type.Object(
          {
            count: Type.Number(),
            rows: Type.Optional(Type.Array(Type.Object({ age: Type.Number() }, { additionalProperties: false }))),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => ({ received: request.body }),
  );
  app.get('/v1/test/explode', { config: { roles: [] } }, async () => {
    throw new Error('database password is hunter2 at /srv/secret.ts:12');
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await Promise.allSettled([database?.close(), temporal?.close()]);
});

function postMeasure(payload: string, contentType = 'application/json') {
  return app.inject({
    method: 'POST',
    url: '/v1/test/measure',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': contentType },
    payload,
  });
}

describe('validation', () => {
  it('accepts a well-formed body unchanged', async () => {
    const response = await postMeasure(JSON.stringify({ count: 3, rows: [{ age: 41 }] }));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: { count: 3, rows: [{ age: 41 }] } });
  });

  it('rejects a string where a number is declared instead of coercing it, naming the field', async () => {
    const response = await postMeasure(JSON.stringify({ count: '1' }));
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('body/count');
    expect(error.details.issues[0]).toMatchObject({ location: 'body', path: '/count' });
  });

  it('names the nested field of a wrong type', async () => {
    const response = await postMeasure(JSON.stringify({ count: 1, rows: [{ age: 2 }, { age: 'old' }] }));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('body/rows/1/age');
  });

  it('rejects an unknown property instead of dropping it', async () => {
    const response = await postMeasure(JSON.stringify({ count: 1, admin: true }));
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('body/admin');
  });

  it('rejects a missing required property, naming it', async () => {
    const response = await postMeasure(JSON.stringify({}));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain('body/count');
  });

  it('rejects a number that overflows to Infinity (1e400), naming its path', async () => {
    const response = await postMeasure('{"count": 1, "rows": [{"age": -1e400}]}');
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('body/rows/0/age must be a finite number');
  });

  it('rejects malformed JSON with a 400', async () => {
    const response = await postMeasure('{"count": 1,');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_JSON');
  });

  it('rejects a __proto__ key instead of polluting objects', async () => {
    const response = await postMeasure('{"count": 1, "__proto__": {"isAdmin": true}}');
    expect(response.statusCode).toBe(400);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('rejects a content type it cannot parse with 415', async () => {
    const response = await postMeasure('count=1', 'application/x-www-form-urlencoded');
    expect(response.statusCode).toBe(415);
    expect(response.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects a body over the limit with 413', async () => {
    const response = await postMeasure(JSON.stringify({ count: 1, rows: Array.from({ length: 1000 }, () => ({ age: 1 })) }));
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('survives a deeply nested body', async () => {
    const response = await postMeasure('['.repeat(2000) + ']'.repeat(2000));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('errors', () => {
  it('answers an unknown route with a JSON 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'route GET /v1/nothing-here not found' } });
  });

  it('hides the cause of an unexpected failure behind a generic 500', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/test/explode', headers: { authorization: `Bearer ${adminKey}` } });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal server error' } });
    expect(response.body).not.toContain('hunter2');
  });
});

describe('health', () => {
  it('reports liveness without a key', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('is ready when Postgres and Temporal both answer', async () => {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.json()).toEqual({ status: 'ready', checks: { postgres: { ok: true }, temporal: { ok: true } } });
    expect(response.statusCode).toBe(200);
  });

  it('is not ready, naming Temporal, when Temporal is unreachable', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const unready = await buildApp({
      config: loadConfig({}),
      db: database.db,
      pool: database.pool,
      temporal: { connection, client: new Client({ connection }) },
      logger: false,
    });
    try {
      const response = await unready.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      const body = response.json();
      expect(body.status).toBe('not_ready');
      expect(body.checks.postgres).toEqual({ ok: true });
      expect(body.checks.temporal.ok).toBe(false);
      expect(body.checks.temporal.error).toEqual(expect.any(String));
    } finally {
      await unready.close();
      await connection.close();
    }
  });

  it('exposes Prometheus metrics including the HTTP request counter by route and status', async () => {
    await app.inject({ method: 'GET', url: '/healthz' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toMatch(/keel_http_requests_total\{method="GET",route="\/healthz",status_code="200"\} \d+/);
    expect(response.body).toContain('keel_http_request_duration_seconds_bucket');
  });
});

describe('OpenAPI', () => {
  it('serves a valid OpenAPI 3.1 document listing the routes with bearer security', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/v1/keys', '/v1/keys/{id}']),
    );
    expect(document.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(document.paths['/v1/keys'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/healthz'].get.security).toBeUndefined();
    expect(document.components.schemas.ErrorResponse).toBeDefined();
    // Every $ref in the document resolves to a component.
    const refs = JSON.stringify(document).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(document.components.schemas[name], ref).toBeDefined();
    }
    // The document itself is a valid JSON schema set for the request/response shapes.
    const ajv = new Ajv2020({ strict: false });
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      expect(ajv.validateSchema(schema as object), name).toBe(true);
    }
  });

  it('serves the Swagger UI at /docs', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('swagger');
  });
});

describe('access log through the real app (a pino logger as api/main.ts makes it)', () => {
  it('logs each answered request once with its id, status and time, and a failure with its detail under the same id', async () => {
    const lines: string[] = [];
    const logged = await buildApp({
      config: loadConfig({}),
      db: database.db,
      pool: database.pool,
      temporal: { client: temporal.client, connection: temporal.connection },
      logger: pino({ name: 'keel-api', level: 'info' }, { write: (line: string) => void lines.push(line) }),
    });
    logged.get('/v1/test/explode', { config: { roles: [] } }, async () => {
      throw new Error('boom in the handler');
    });
    logged.post('/v1/test/measure', { config: { roles: [] }, schema: { body: Type.Object({ count: Type.Number() }) } }, async () => ({}));
    try {
      const auth = { authorization: `Bearer ${adminKey}` };
      expect((await logged.inject({ method: 'GET', url: '/healthz?q=%22%09' })).statusCode).toBe(200);
      expect((await logged.inject({ method: 'POST', url: '/v1/test/measure', headers: auth, payload: { count: 'x' } })).statusCode).toBe(400);
      expect((await logged.inject({ method: 'GET', url: '/v1/test/explode', headers: auth })).statusCode).toBe(500);
      expect((await logged.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: 'Bearer junk' } })).statusCode).toBe(401);
    } finally {
      await logged.close();
    }
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The refused junk token writes no access line, only the auth plugin's sum of refusals.
    expect(entries.filter((entry) => entry.refused !== undefined)).toEqual([expect.objectContaining({ refused: { not_a_key: 1 } })]);
    const byRequest = entries.filter((entry) => entry.reqId !== undefined && entry.refused === undefined);
    const ids = [...new Set(byRequest.map((entry) => entry.reqId as string))];
    expect(ids).toHaveLength(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const [health, invalid, failed] = ids.map((id) => byRequest.filter((entry) => entry.reqId === id));
    const completed = { level: 30, name: 'keel-api', msg: 'request completed', responseTime: expect.any(Number) };
    expect(health).toEqual([
      expect.objectContaining({ ...completed, req: expect.objectContaining({ method: 'GET', url: '/healthz?q=%22%09' }), res: { statusCode: 200 } }),
    ]);
    expect(invalid).toEqual([
      expect.objectContaining({ level: 30, code: 'VALIDATION_FAILED', status: 400 }),
      expect.objectContaining({ ...completed, res: { statusCode: 400 } }),
    ]);
    expect(failed).toEqual([
      expect.objectContaining({ level: 50, msg: 'request failed', err: expect.objectContaining({ message: 'boom in the handler' }) }),
      expect.objectContaining({ ...completed, res: { statusCode: 500 } }),
    ]);
  });
});
