// Gives routes the serving cache: the one the process passed to buildApp, or one made on first use.
import type pg from 'pg';
import type { KeelConfig } from '../../config.js';
import type { Db } from '../../db/client.js';
import { FsArtifactStore } from '../../artifacts/fs-artifact-store.js';
import { createServingDeps, type ServingDeps } from '../../serving/serving-deps.js';

export interface ServingProvider {
  get(): Promise<ServingDeps>;
  /** Closes the cache only if this provider created it; safe to call more than once. */
  close(): Promise<void>;
}

export function createServingProvider(deps: { serving?: ServingDeps; config: KeelConfig; db: Db; pool: pg.Pool }): ServingProvider {
  if (deps.serving) {
    const given = deps.serving;
    return { get: async () => given, close: async () => undefined };
  }
  let own: Promise<ServingDeps> | undefined;
  return {
    get() {
      own ??= createServingDeps({
        db: deps.db,
        pool: deps.pool,
        artifacts: new FsArtifactStore(deps.config.artifactDir),
        predictionLog: {
          bufferRows: deps.config.predictionBufferRows,
          flushIntervalMs: deps.config.predictionFlushMs,
          retentionDays: deps.config.predictionRetentionDays,
        },
      });
      return own;
    },
    async close() {
      const created = own;
      own = undefined;
      if (created) await (await created).close();
    },
  };
}
