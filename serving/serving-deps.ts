// What an API process needs to serve models: the watched cache and the predictor over it.
import type pg from 'pg';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { createModelCache, type ModelCache, type ModelCacheLogger } from './model-cache.js';
import { createPredictor, type Predictor } from './predict.js';

export interface ServingDeps {
  cache: ModelCache;
  predictor: Predictor;
  close(): Promise<void>;
}

export interface ServingOptions {
  db: Db;
  pool: pg.Pool;
  artifacts: ArtifactStore;
  pollIntervalMs?: number;
  logger: ModelCacheLogger;
}

/** Builds and starts watching (LISTEN + polling); the caller owns it: `close()` releases the listener and every session. */
export async function createServingDeps(options: ServingOptions): Promise<ServingDeps> {
  const cache = createModelCache(options);
  await cache.start();
  return { cache, predictor: createPredictor(cache), close: () => cache.close() };
}
