// A flipped byte in a stored ONNX file: the deploy refuses it before load, the serving API (its own watched cache,
// as in an API process) never loads it and keeps answering with the previous version.
import pino from 'pino';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type KeelApp } from '../api/app.js';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { loadConfig } from '../config.js';
import { getAliasVersion, moveAlias, notifyModelChanged, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelByName } from '../db/repositories/models.js';
import type { ModelVersionRow } from '../db/schema.js';
import { deployVersion, type DeployDeps } from '../registry/deploy-version.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { createServingDeps, type ServingDeps } from '../serving/serving-deps.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { filesUnder } from './support/files-under.js';
import { registerFixtureVersion, sigmoid } from './support/model-fixtures.js';

let database: TestDatabase;
let artifactDir: string;
let artifacts: FsArtifactStore;
/** The API process's serving: a cache that LISTENs for alias moves. */
let serving: ServingDeps;
/** The pipeline worker's cache, which the deploy's smoke test goes through. */
let workerCache: ModelCache;
let deps: DeployDeps;
let app: KeelApp;
let predictKey = '';
let opsKey = '';
const servingWarnings: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-corrupt-'));
  artifacts = new FsArtifactStore(artifactDir);
  const quiet = pino({ name: 'corrupt-test', level: 'error' });
  const servingLogger = {
    info: () => undefined,
    warn: (_fields: object, message: string) => void servingWarnings.push(message),
    error: () => undefined,
  };
  serving = await createServingDeps({ db: database.db, pool: database.pool, artifacts, logger: servingLogger as never, pollIntervalMs: 200 });
  workerCache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: quiet });
  deps = { db: database.db, modelCache: workerCache, logger: { warn: () => undefined } };
  const adminKey = (await ensureAdminKey(database.db, { adminKey: undefined })).secret!;
  app = await buildApp({ config: loadConfig({}), db: database.db, pool: database.pool, serving, logger: false });
  await app.ready();
  for (const role of ['predict', 'ops'] as const) {
    const created = await app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${adminKey}` }, payload: { name: `${role}-key`, roles: [role] } });
    if (role === 'predict') predictKey = created.json().secret;
    else opsKey = created.json().secret;
  }
});

afterAll(async () => {
  await app?.close();
  await serving?.close();
  await workerCache?.close();
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

async function predict(model: string) {
  return app.inject({
    method: 'POST',
    url: `/v1/models/${model}/predict`,
    headers: { authorization: `Bearer ${predictKey}` },
    payload: { features: [{ x: 2, color: 'red' }] },
  });
}

/** Content-addressed: give each corrupted version its own bytes (shift), or a second flip restores the first. */
async function flipAByteOf(version: ModelVersionRow): Promise<void> {
  const [stored] = (await filesUnder(artifactDir)).filter((path) => path.includes(version.artifactSha256));
  const bytes = await readFile(stored!);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  await writeFile(stored!, bytes);
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never: ${what}`);
}

describe('a flipped byte in a stored ONNX file', () => {
  it('when a new version is corrupted on disk, then its deploy is refused before load and the API keeps serving the old one', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'flip', runId: 'flip-1' });
    await deployVersion(deps, { runId: 'flip-1', model: 'flip', version: v1.version, actor: 'rita', reason: 'ok' });
    await until('the API serves v1', async () => (await predict('flip')).json().version === 1);

    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'flip', runId: 'flip-2', shift: 2 });
    await flipAByteOf(v2);
    const refused = await deployVersion(deps, { runId: 'flip-2', model: 'flip', version: 2, actor: 'rita', reason: 'ok' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'SMOKE_TEST_FAILED', message: expect.stringContaining(`artifact ${v2.artifactSha256} is corrupt`) });

    const model = await getModelByName(database.db, 'flip');
    expect(await getAliasVersion(database.db, model!.id, PRODUCTION_ALIAS)).toBe(1);
    const response = await predict('flip');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ version: 1, predictions: [{ probability: expect.closeTo(sigmoid(1), 6) }] });
    // And ops cannot roll production onto it either.
    const rollback = await app.inject({
      method: 'POST',
      url: '/v1/models/flip/rollback',
      headers: { authorization: `Bearer ${opsKey}` },
      payload: { version: 2, reason: 'try it' },
    });
    expect(rollback.statusCode).toBe(422);
  });

  it('when production is pointed at a corrupted version anyway, then the API refuses to load it and keeps answering with the previous one', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'flip-late', runId: 'flip-late-1' });
    await deployVersion(deps, { runId: 'flip-late-1', model: 'flip-late', version: v1.version, actor: 'rita', reason: 'ok' });
    await until('the API serves v1', async () => (await predict('flip-late')).json().version === 1);
    // Smoke-tested and deployed from a good file, then the disk flips a byte of it before the API loads it.
    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'flip-late', runId: 'flip-late-2', shift: 3 });
    await flipAByteOf(v2);
    const warningsBefore = servingWarnings.length;
    await database.db.transaction(async (tx) => {
      await moveAlias(tx, { modelId: v2.modelId, alias: PRODUCTION_ALIAS, toVersion: 2, action: 'deploy', actor: 'test', reason: null, runId: 'flip-late-2' });
      await notifyModelChanged(tx, 'flip-late');
    });
    await until('the API tried to load v2', () => servingWarnings.length > warningsBefore);
    expect(servingWarnings.slice(warningsBefore)).toContain('model refresh failed');

    const response = await predict('flip-late');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ version: 1 });
    expect(serving.cache.servingVersion('flip-late')).toBe(1);
  });
});
