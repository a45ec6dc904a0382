import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { registerFixtureVersion, setProduction, sigmoid } from '../test/support/model-fixtures.js';
import { ModelLoadError, ModelNotServingError } from './errors.js';
import { createModelCache, type ModelCache } from './model-cache.js';
import { createPredictor } from './predict.js';

let database: TestDatabase;
let artifactDir: string;
let artifacts: FsArtifactStore;
const caches: ModelCache[] = [];
const logger = pino({ name: 'model-cache-test', level: 'error' });

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-serving-'));
  artifacts = new FsArtifactStore(artifactDir);
});
afterAll(async () => {
  await Promise.all(caches.map((cache) => cache.close()));
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

function newCache(pollIntervalMs = 3_600_000): ModelCache {
  const cache = createModelCache({ db: database.db, pool: database.pool, artifacts, pollIntervalMs, logger });
  caches.push(cache);
  return cache;
}

describe('model cache and prediction', () => {
  it('when a deploy moves production, then a listening cache swaps to the new version through NOTIFY', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'swap', runId: 'swap-1' });
    await setProduction(database.db, v1, 'swap');
    // Polling is effectively off (1 h), so only the notification can trigger the swap.
    const cache = newCache();
    await cache.start();
    const predictor = createPredictor(cache);
    const rows = [{ x: 2, color: 'red' }, { x: 0, color: null }, { x: 3 }];

    const first = await predictor.predict('swap', rows);
    expect(first.version).toBe(1);
    expect(first.predictions.map((p) => ('probability' in p ? p.probability : NaN))).toEqual(
      [sigmoid(1), sigmoid(-1), sigmoid(0.5)].map((p) => expect.closeTo(p, 6)),
    );
    expect(first.predictions.map((p) => ('label' in p ? p.label : NaN))).toEqual([1, 0, 1]);
    expect(new Set(first.predictions.map((p) => p.id)).size).toBe(3);

    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'swap', runId: 'swap-2', shift: -2 });
    await setProduction(database.db, v2, 'swap');
    await vi.waitFor(() => expect(cache.servingVersion('swap')).toBe(2), { timeout: 10_000, interval: 20 });
    const second = await predictor.predict('swap', rows);
    expect(second.version).toBe(2);
    expect((second.predictions[0] as { probability: number }).probability).toBeCloseTo(sigmoid(-1), 6);
  });

  it('answers regression models with values', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'price', runId: 'price-1', task: 'regression', shift: 10 });
    await setProduction(database.db, v1, 'price');
    const response = await createPredictor(newCache()).predict('price', [{ x: 1, color: 'blue' }]);
    expect(response).toMatchObject({ model: 'price', version: 1, predictions: [{ value: 10.5 }] });
  });

  it('when the artifact bytes no longer match the sha256, then the version is refused', async () => {
    // Its own bytes (shift), since corrupting a shared content-addressed file would break other tests.
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'tampered', runId: 'tampered-1', shift: 0.125 });
    await setProduction(database.db, v1, 'tampered');
    const shard = join(artifactDir, 'sha256', v1.artifactSha256.slice(0, 2));
    const [file] = (await readdir(shard)).filter((name) => name.startsWith(v1.artifactSha256));
    await writeFile(join(shard, file!), Buffer.from('not the approved model'));
    const cache = newCache();
    await expect(cache.refresh('tampered')).rejects.toBeInstanceOf(ModelLoadError);
    await expect(createPredictor(cache).predict('tampered', [{ x: 1 }])).rejects.toThrow(/cannot load version 1 of "tampered"/);
    expect(cache.servingVersion('tampered')).toBeUndefined();
  });

  it('rejects an unknown model and a model without a production version', async () => {
    await registerFixtureVersion(database.db, artifacts, { model: 'undeployed', runId: 'undeployed-1' });
    const predictor = createPredictor(newCache());
    await expect(predictor.predict('no-such-model', [{}])).rejects.toMatchObject({ reason: 'unknown_model' });
    const noProduction = predictor.predict('undeployed', [{}]);
    await expect(noProduction).rejects.toBeInstanceOf(ModelNotServingError);
    await expect(noProduction).rejects.toMatchObject({ reason: 'no_production_version' });
  });

  it('when its listener connection is killed, then the cache reconnects and still hears deploys', async () => {
    const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'reconnect', runId: 'reconnect-1' });
    await setProduction(database.db, v1, 'reconnect');
    const cache = createModelCache({ db: database.db, pool: database.pool, artifacts, pollIntervalMs: 3_600_000, reconnectDelayMs: 50, logger });
    caches.push(cache);
    await cache.start();
    await cache.refresh('reconnect');
    await database.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
    );
    await vi.waitFor(() => expect(cache.isListening()).toBe(false), { timeout: 10_000, interval: 10 });
    await vi.waitFor(() => expect(cache.isListening()).toBe(true), { timeout: 10_000, interval: 20 });
    const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'reconnect', runId: 'reconnect-2', shift: 1 });
    await setProduction(database.db, v2, 'reconnect');
    await vi.waitFor(() => expect(cache.servingVersion('reconnect')).toBe(2), { timeout: 10_000, interval: 20 });
  });
});
