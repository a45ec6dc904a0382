// The production version of each model, served from the session store and swapped without a restart when the
// alias watcher hears that the alias moved.
import type pg from 'pg';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { getAliasedArtifact, getVersionArtifact } from '../db/repositories/model-artifacts.js';
import { PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { createAliasWatcher } from './alias-watcher.js';
import { ModelNotServingError } from './errors.js';
import {
  createSessionStore,
  versionOfSessionKey,
  type LoadedModel,
  type ServingLogger,
  type SessionEntry,
} from './session-store.js';
import type { ServingRecipe } from '../workflows/contracts/serving-recipe.js';

export type { LoadedModel } from './session-store.js';
export type ModelCacheLogger = ServingLogger;

export interface ModelCacheOptions {
  db: Db;
  /** Its connection settings open the dedicated LISTEN connection. */
  pool: pg.Pool;
  artifacts: ArtifactStore;
  logger: ModelCacheLogger;
  /** How often watched models' aliases are re-read in case a notification was lost (default 5 s). */
  pollIntervalMs?: number;
  /** Delay before reconnecting the LISTEN connection after it fails (default 1 s). */
  reconnectDelayMs?: number;
  /** Threads per onnxruntime session (default 1: many small models share few cores). */
  intraOpNumThreads?: number;
  /** Rows of concurrent requests scored in one onnxruntime run (dynamic batching; default 4096, 1: off). */
  scoreBatchRows?: number;
}

export interface ModelCache {
  /** Begins watching: LISTEN on the change channel, plus polling. Until then every lookup reads the alias. */
  start(): Promise<void>;
  /** Runs `use` with the model's production version, which is not disposed while `use` runs. */
  withProduction<T>(model: string, use: (loaded: LoadedModel) => Promise<T>): Promise<T>;
  /** Runs `use` with a specific version (loaded and verified like production, kept in the cache). */
  withVersion<T>(model: string, version: number, use: (loaded: LoadedModel) => Promise<T>): Promise<T>;
  /** Re-reads the alias of one model (or of every watched one) and swaps sessions if it moved. */
  refresh(model?: string): Promise<void>;
  /** The production version this cache currently serves, if it has loaded one. */
  servingVersion(model: string): number | undefined;
  /** True while the LISTEN connection is up. */
  isListening(): boolean;
  close(): Promise<void>;
}

export function createModelCache(options: ModelCacheOptions): ModelCache {
  const { db, logger } = options;
  const sessions = createSessionStore(options);
  /** model name → key of the session entry serving production. */
  const production = new Map<string, string>();
  /** Per model: the number of the latest alias read, and of the read whose result was applied. */
  const readsStarted = new Map<string, number>();
  const readApplied = new Map<string, number>();
  let watching = false;
  let closed = false;

  /** Makes the production entry match the alias; returns it (or throws why there is none). */
  async function syncProduction(model: string): Promise<SessionEntry> {
    const ticket = (readsStarted.get(model) ?? 0) + 1;
    readsStarted.set(model, ticket);
    const row = await getAliasedArtifact(db, model, PRODUCTION_ALIAS);
    // A slower, older read (e.g. a poll overlapping a NOTIFY) must not undo what a newer one applied.
    const stale = () => (readApplied.get(model) ?? 0) > ticket;
    const newerOrNone = (): SessionEntry => {
      const key = production.get(model);
      const newer = key === undefined ? undefined : sessions.get(key);
      if (newer) return newer;
      throw new ModelNotServingError(model, 'no_production_version');
    };
    if (stale()) return newerOrNone();
    const previousKey = production.get(model);
    if (!row || row.version === null || row.sha256 === null) {
      readApplied.set(model, ticket);
      if (previousKey !== undefined) {
        production.delete(model);
        sessions.retire(previousKey);
      }
      throw new ModelNotServingError(model, row ? 'no_production_version' : 'unknown_model');
    }
    const entry = sessions.entryFor({ model, modelId: row.modelId, version: row.version, sha256: row.sha256, task: row.task, servingRecipe: row.servingRecipe as ServingRecipe | null });
    // Load fully before switching, so requests keep using the old version until the new one is ready.
    await entry.loading;
    if (stale()) return newerOrNone();
    readApplied.set(model, ticket);
    const currentKey = production.get(model);
    if (currentKey !== entry.key) {
      production.set(model, entry.key);
      if (currentKey !== undefined) {
        sessions.retire(currentKey);
        logger.info({ model, from: currentKey, to: entry.key }, 'production model swapped');
      }
    }
    return entry;
  }

  async function refreshSafely(model: string): Promise<void> {
    try {
      await syncProduction(model);
    } catch (error) {
      if (!(error instanceof ModelNotServingError)) logger.warn({ model, err: error }, 'model refresh failed');
    }
  }

  async function refreshWatched(): Promise<void> {
    await Promise.all([...production.keys()].map((model) => refreshSafely(model)));
  }

  const watcher = createAliasWatcher({
    pool: options.pool,
    logger,
    pollIntervalMs: options.pollIntervalMs,
    reconnectDelayMs: options.reconnectDelayMs,
    onModelChanged: (model) => void refreshSafely(model),
    onResync: refreshWatched,
  });

  return {
    async start() {
      if (watching || closed) return;
      watching = true;
      await watcher.start();
    },

    async withProduction(model, run) {
      for (let attempt = 1; ; attempt++) {
        const key = production.get(model);
        const cached = watching && key !== undefined ? sessions.get(key) : undefined;
        const entry = cached ?? (await syncProduction(model));
        // Swapped out while we awaited the alias read: look again rather than use a session being disposed.
        if (!entry.retired || attempt === 3) return sessions.use(entry, run);
      }
    },

    async withVersion(model, version, run) {
      const row = await getVersionArtifact(db, model, version);
      if (!row) throw new ModelNotServingError(model, 'unknown_model');
      const entry = sessions.entryFor({ model, modelId: row.modelId, version, sha256: row.sha256, task: row.task, servingRecipe: row.servingRecipe as ServingRecipe | null });
      // A non-production version is only kept while used, unless it is (or becomes) production.
      try {
        return await sessions.use(entry, run);
      } finally {
        if (production.get(model) !== entry.key) sessions.retire(entry.key);
      }
    },

    async refresh(model) {
      if (model === undefined) return refreshWatched();
      await syncProduction(model);
    },

    servingVersion(model) {
      const key = production.get(model);
      return key === undefined ? undefined : versionOfSessionKey(key);
    },

    isListening: () => watcher.isListening(),

    async close() {
      closed = true;
      await watcher.close();
      production.clear();
      await sessions.close();
    },
  };
}
