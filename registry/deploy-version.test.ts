import pino from 'pino';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { getAliasVersion, listDeployments, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { getModelByName } from '../db/repositories/models.js';
import { KeelError } from '../errors/keel-error.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { registerFixtureVersion } from '../test/support/model-fixtures.js';
import type { ProductionChange } from '../workflows/monitor-messages.js';
import { deployVersion, type DeployDeps } from './deploy-version.js';
import { checkSmokePrediction, typicalRow } from './smoke-test.js';

let database: TestDatabase;
let artifactDir: string;
let cache: ModelCache;
let deps: DeployDeps;
let artifacts: FsArtifactStore;
const warnings: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-deploy-'));
  artifacts = new FsArtifactStore(artifactDir);
  cache = createModelCache({ db: database.db, pool: database.pool, artifacts, logger: pino({ name: 'deploy-test', level: 'error' }) });
  deps = { db: database.db, modelCache: cache, logger: { warn: (_fields, message) => warnings.push(message) } };
  await registerFixtureVersion(database.db, artifacts, { model: 'deploy-domain', runId: 'dd-1' });
});
afterAll(async () => {
  await cache?.close();
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

describe('deployVersion', () => {
  it('when the version is approved, then production moves to it and the smoke prediction is returned', async () => {
    const result = await deployVersion(deps, { runId: 'dd-1', model: 'deploy-domain', version: 1, actor: 'rita', reason: 'ok' });
    expect(result.previousVersion).toBeNull();
    expect(result.smoke.prediction).toMatchObject({ probability: expect.any(Number) });
    const model = await getModelByName(database.db, 'deploy-domain');
    expect(await getAliasVersion(database.db, model!.id, PRODUCTION_ALIAS)).toBe(1);
    expect(await listDeployments(database.db, model!.id)).toHaveLength(1);
  });

  it('when the version does not exist, then it throws INVALID_SPEC without Temporal', async () => {
    const error = await deployVersion(deps, { runId: 'dd-9', model: 'deploy-domain', version: 9, actor: 'rita', reason: 'ok' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeelError);
    expect(error).toMatchObject({ code: 'INVALID_SPEC', message: 'model "deploy-domain" has no version 9' });
  });
});

describe('deployVersion when the smoke test fails', () => {
  it('when production moves back, then the monitor is told of the revert, again on a retry', async () => {
    const changes: ProductionChange[] = [];
    const notifying: DeployDeps = { ...deps, notifyProductionChange: async (change) => void changes.push(change) };
    // Version 2's artifact does not load: the smoke test fails after production moved to it.
    await registerFixtureVersion(database.db, artifacts, { model: 'deploy-domain', runId: 'dd-2', bytes: new Uint8Array([1, 2, 3]) });
    const input = { runId: 'dd-2', model: 'deploy-domain', version: 2, actor: 'rita', reason: 'ok' };
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await deployVersion(notifying, input).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SMOKE_TEST_FAILED' });
    }
    const model = await getModelByName(database.db, 'deploy-domain');
    expect(await getAliasVersion(database.db, model!.id, PRODUCTION_ALIAS)).toBe(1);
    const revert = { model: 'deploy-domain', version: 1, action: 'revert', runId: 'dd-2', actor: 'pipeline' };
    expect(changes).toEqual([revert, revert]);
  });
});

describe('smoke prediction checks', () => {
  it('when the evaluation kept no row, then the smoke row is 0 for numbers and the first category', () => {
    expect(
      typicalRow([
        { name: 'x', kind: 'numeric' },
        { name: 'color', kind: 'categorical', categories: ['red', 'blue'] },
      ] as never),
    ).toEqual({ x: 0, color: 'red' });
  });

  it('refuses a probability outside [0, 1] and a non-finite value', () => {
    expect(() => checkSmokePrediction({ predictions: [{ probability: 1.5 }] } as never)).toThrow(/not in \[0, 1\]/);
    expect(() => checkSmokePrediction({ predictions: [{ value: Number.NaN }] } as never)).toThrow(/not a finite number/);
    expect(() => checkSmokePrediction({ predictions: [] } as never)).toThrow(/no prediction/);
  });
});
