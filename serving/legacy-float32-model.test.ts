// Versions registered before float64 graphs declare float32 inputs: serving reads the type each session declares,
// so they keep serving next to float64 versions of the same model.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { registerFixtureVersion, setProduction, sigmoid } from '../test/support/model-fixtures.js';
import { createModelCache, type ModelCache } from './model-cache.js';
import { createPredictor } from './predict.js';

let database: TestDatabase;
let artifactDir: string;
let cache: ModelCache | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  artifactDir = await mkdtemp(join(tmpdir(), 'keel-legacy-float32-'));
});
afterAll(async () => {
  await cache?.close();
  await database?.close();
  await rm(artifactDir, { recursive: true, force: true });
});

it('when production is a version with float32 inputs, then it serves, and so does the float64 version deployed after it', async () => {
  const artifacts = new FsArtifactStore(artifactDir);
  const legacyBytes = new Uint8Array(await readFile(new URL('../test/fixtures/models/legacy-float32-stump-binary.onnx', import.meta.url)));
  const v1 = await registerFixtureVersion(database.db, artifacts, { model: 'legacy', runId: 'legacy-1', bytes: legacyBytes });
  await setProduction(database.db, v1, 'legacy');
  cache = createModelCache({ db: database.db, pool: database.pool, artifacts, pollIntervalMs: 3_600_000, logger: pino({ level: 'silent' }) });
  const predictor = createPredictor(cache);
  const rows = [{ x: 2, color: 'red' }, { x: 0.5, color: 'red' }, { x: null, color: 'blue' }, { x: 1, color: 'blue' }];
  const expected = [sigmoid(1), sigmoid(-1), sigmoid(-1), sigmoid(0.5)];

  const old = await predictor.predict('legacy', rows);
  expect(old.version).toBe(1);
  expect(old.predictions.map((p) => ('probability' in p ? p.probability : Number.NaN))).toEqual(expected.map((p) => expect.closeTo(p, 6)));
  expect(old.predictions.map((p) => ('label' in p ? p.label : Number.NaN))).toEqual([1, 0, 0, 1]);

  // The same stump exported now (float64 inputs and outputs): exact to the double.
  const v2 = await registerFixtureVersion(database.db, artifacts, { model: 'legacy', runId: 'legacy-2' });
  await setProduction(database.db, v2, 'legacy');
  await cache.refresh('legacy');
  const current = await predictor.predict('legacy', rows);
  expect(current.version).toBe(2);
  expect(current.predictions.map((p) => ('probability' in p ? p.probability : Number.NaN))).toEqual(expected.map((p) => expect.closeTo(p, 12)));
});
