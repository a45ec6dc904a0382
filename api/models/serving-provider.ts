// Gives routes the serving cache: the one the process passed to buildApp, or one made on first use.
import type pg from 'pg';
import type { KeelConfig } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { ModelCacheLogger } from '../../serving/model-cache.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { createServingDeps, type ServingDeps } from '../../serving/serving-deps.js';
import { KeelError } from '../../errors/keel-error.js';

export interface ServingProvider {
  get(): Promise<ServingDeps>;
  /** Closes the cache only if this provider created it; safe to call more than once. */
  close(): Promise<void>;
}

export function createServingProvider(deps: {
  serving?: ServingDeps;
  config: KeelConfig;
  db: Db;
  pool: pg.Pool;
  logger: ModelCacheLogger;
}): ServingProvider {
  if (deps.serving) {
    const given = deps.serving;
    return { get: async () => given, close: async () => undefined };
  }
  let own: Promise<ServingDeps> | undefined;
  let closed = false;
  return {
    get() {
      // A request that arrives while the app closes must not start a second cache and log nobody will flush.
      if (closed) return Promise.reject(new KeelError('SERVICE_UNAVAILABLE', 'the API is shutting down; retry on another instance'));
      own ??= createServingDeps({
        db: deps.db,
        pool: deps.pool,
        artifacts: new FsArtifactStore(deps.config.artifactDir),
        logger: deps.logger,
        scoreBatchRows: deps.config.scoreBatchRows,
        predictionLog: {
          bufferRows: deps.config.predictionBufferRows,
          flushIntervalMs: deps.config.predictionFlushMs,
          retentionDays: deps.config.predictionRetentionDays,
        },
      });
      return own;
    },
    async close() {
      closed = true;
      const created = own;
      own = undefined;
      if (created) await (await created).close();
    },
  };
}
