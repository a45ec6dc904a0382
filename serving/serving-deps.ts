// What an API process needs to serve models: the watched cache, the prediction log, and the predictor over both.
import type pg from 'pg';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { createModelCache, type ModelCache, type ModelCacheLogger } from './model-cache.js';
import { createPredictor, type Predictor } from './predict.js';
import { PredictionLog, type PredictionLogOptions } from './prediction-log.js';

export interface ServingDeps {
  cache: ModelCache;
  predictionLog: PredictionLog;
  predictor: Predictor;
  /** Writes every buffered prediction, then releases the listener and every session. */
  close(): Promise<void>;
}

export interface ServingOptions {
  db: Db;
  pool: pg.Pool;
  artifacts: ArtifactStore;
  pollIntervalMs?: number;
  /** Rows of concurrent requests scored in one onnxruntime run (dynamic batching; default 4096, 1: off). */
  scoreBatchRows?: number;
  logger: ModelCacheLogger;
  /** Buffer size, flush interval, retention (defaults: DEFAULT_PREDICTION_LOG_SETTINGS) and test hooks. */
  predictionLog?: Omit<PredictionLogOptions, 'pool'>;
}

/** Builds the log (partitions ready) and starts watching (LISTEN + polling); the caller owns it: `close()` releases the listener and every session. */
export async function createServingDeps(options: ServingOptions): Promise<ServingDeps> {
  const predictionLog = new PredictionLog({ logger: options.logger, ...options.predictionLog, pool: options.pool });
  await predictionLog.start();
  const cache = createModelCache(options);
  await cache.start();
  return {
    cache,
    predictionLog,
    predictor: createPredictor(cache, predictionLog),
    close: async () => {
      try {
        await predictionLog.close();
      } finally {
        await cache.close();
      }
    },
  };
}
