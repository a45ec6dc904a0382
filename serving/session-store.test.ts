import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { onnxBytesOf, stumpModel } from '../test/support/model-fixtures.js';
import { ModelLoadError } from './errors.js';
import { createSessionStore, sessionKey, type SessionStore, type VersionToLoad } from './session-store.js';

let artifactDir: string;
let artifacts: FsArtifactStore;
let binarySha: string;
const stores: SessionStore[] = [];
const logger = pino({ name: 'session-store-test', level: 'error' });

beforeAll(async () => {
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-sessions-'));
  artifacts = new FsArtifactStore(artifactDir);
  binarySha = (await artifacts.putBytes(onnxBytesOf(stumpModel('binary')), { extension: '.onnx' })).sha256;
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await rm(artifactDir, { recursive: true, force: true });
});

function newStore(): SessionStore {
  const store = createSessionStore({ artifacts, logger });
  stores.push(store);
  return store;
}

const version = (overrides: Partial<VersionToLoad> = {}): VersionToLoad => ({
  model: 'm',
  modelId: '00000000-0000-0000-0000-000000000001',
  version: 1,
  sha256: binarySha,
  task: 'binary',
  servingRecipe: null,
  ...overrides,
});

describe('session store', () => {
  it('when a version is asked for twice, then it is loaded once and its session scores', async () => {
    const store = newStore();
    const first = store.entryFor(version());
    expect(store.entryFor(version())).toBe(first);
    const features = await store.use(first, async (loaded) => loaded.features.map((feature) => feature.name));
    expect(features).toEqual(['x', 'color']);
    expect(store.get(sessionKey('m', 1))).toBe(first);
  });

  it('when the artifact is of another task than the model, then loading fails and the next request loads again', async () => {
    const store = newStore();
    const failed = store.entryFor(version({ task: 'regression' }));
    await expect(failed.loading).rejects.toBeInstanceOf(ModelLoadError);
    expect(store.get(sessionKey('m', 1))).toBeUndefined();
    expect(store.entryFor(version())).not.toBe(failed);
  });

  it('when an artifact is missing, then loading fails with ModelLoadError', async () => {
    const store = newStore();
    await expect(store.entryFor(version({ sha256: 'e'.repeat(64) })).loading).rejects.toBeInstanceOf(ModelLoadError);
  });

  it('when an entry is retired while in use, then its user finishes and later requests get a new entry', async () => {
    const store = newStore();
    const entry = store.entryFor(version());
    const scores = await store.use(entry, async (loaded) => {
      store.retire(entry.key);
      expect(entry.retired).toBe(true);
      expect(store.get(entry.key)).toBeUndefined();
      // The session still scores: it is disposed only after this use returns.
      return loaded.scorer.score([{ x: 2, color: 'red' }]);
    });
    expect(scores.probability).toHaveLength(1);
    expect(store.entryFor(version())).not.toBe(entry);
  });
});
