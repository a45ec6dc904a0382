// onnxruntime sessions of each model's production version, swapped without a restart when the alias moves.
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { MODEL_CHANGED_CHANNEL, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { modelAliases, models, modelVersions } from '../db/schema.js';
import type { Task } from '../ml/model.js';
import { createOnnxScorer, type OnnxFeatureSchema, type OnnxScorer } from '../ml/onnx/index.js';
import { ModelLoadError, ModelNotServingError } from './errors.js';
import { createRawRowFeatures, type RawRowFeatures } from './raw-row-features.js';
import type { ServingRecipe } from './serving-recipe.js';

export interface LoadedModel {
  model: string;
  modelId: string;
  version: number;
  sha256: string;
  task: Task;
  features: OnnxFeatureSchema[];
  scorer: OnnxScorer;
  /** Raw source rows → feature rows through the version's serving recipe (refuses when it has none). */
  rawRows: RawRowFeatures;
}

export interface ModelCacheLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface ModelCacheOptions {
  db: Db;
  /** Its connection settings open the dedicated LISTEN connection. */
  pool: pg.Pool;
  artifacts: ArtifactStore;
  /** How often watched models' aliases are re-read in case a notification was lost (default 5 s). */
  pollIntervalMs?: number;
  /** Delay before reconnecting the LISTEN connection after it fails (default 1 s). */
  reconnectDelayMs?: number;
  /** Threads per onnxruntime session (default 1: many small models share few cores). */
  intraOpNumThreads?: number;
  logger?: ModelCacheLogger;
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

interface Entry {
  key: string;
  loading: Promise<LoadedModel>;
  inFlight: number;
  retired: boolean;
}

const silentLogger: ModelCacheLogger = { info: () => undefined, warn: () => undefined };

export function createModelCache(options: ModelCacheOptions): ModelCache {
  const { db, pool, artifacts } = options;
  const logger = options.logger ?? silentLogger;
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  const reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  const entries = new Map<string, Entry>();
  /** model name → key of the entry serving production. */
  const production = new Map<string, string>();
  /** Per model: the number of the latest alias read, and of the read whose result was applied. */
  const readsStarted = new Map<string, number>();
  const readApplied = new Map<string, number>();
  let watching = false;
  let closed = false;
  let listener: pg.Client | undefined;
  let listening = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const keyOf = (model: string, version: number) => `${model}@${version}`;

  async function readProduction(model: string) {
    const [row] = await db
      .select({
        modelId: models.id,
        task: models.task,
        version: modelAliases.version,
        sha256: modelVersions.artifactSha256,
        servingRecipe: modelVersions.servingRecipe,
      })
      .from(models)
      .leftJoin(modelAliases, and(eq(modelAliases.modelId, models.id), eq(modelAliases.alias, PRODUCTION_ALIAS)))
      .leftJoin(modelVersions, and(eq(modelVersions.modelId, models.id), eq(modelVersions.version, modelAliases.version)))
      .where(eq(models.name, model))
      .limit(1);
    return row;
  }

  async function readVersion(model: string, version: number) {
    const [row] = await db
      .select({ modelId: models.id, task: models.task, sha256: modelVersions.artifactSha256, servingRecipe: modelVersions.servingRecipe })
      .from(models)
      .innerJoin(modelVersions, eq(modelVersions.modelId, models.id))
      .where(and(eq(models.name, model), eq(modelVersions.version, version)))
      .limit(1);
    return row;
  }

  async function load(model: string, modelId: string, version: number, sha256: string, task: string, recipe: unknown): Promise<LoadedModel> {
    let bytes: Buffer;
    try {
      bytes = await artifacts.read(sha256);
    } catch (error) {
      throw new ModelLoadError(model, version, (error as Error).message, { cause: error });
    }
    // Checked here too, whatever the store does: serving must never run bytes other than the approved ones.
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256) throw new ModelLoadError(model, version, `artifact bytes hash to ${actual}, expected ${sha256}`);
    let scorer: OnnxScorer;
    try {
      scorer = await createOnnxScorer(bytes, { intraOpNumThreads: options.intraOpNumThreads ?? 1 });
    } catch (error) {
      throw new ModelLoadError(model, version, `onnxruntime refused the artifact: ${(error as Error).message}`, { cause: error });
    }
    if (scorer.task !== task) {
      await scorer.close();
      throw new ModelLoadError(model, version, `artifact is a ${scorer.task} model but "${model}" is ${task}`);
    }
    logger.info({ model, version, sha256 }, 'model version loaded');
    const rawRows = createRawRowFeatures(model, version, recipe as ServingRecipe | null);
    return { model, modelId, version, sha256, task: scorer.task, features: scorer.features, scorer, rawRows };
  }

  function entryFor(model: string, modelId: string, version: number, sha256: string, task: string, recipe: unknown): Entry {
    const key = keyOf(model, version);
    const existing = entries.get(key);
    if (existing && !existing.retired) return existing;
    const entry: Entry = { key, loading: load(model, modelId, version, sha256, task, recipe), inFlight: 0, retired: false };
    entries.set(key, entry);
    // A failed load is forgotten so the next request tries again.
    entry.loading.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return entry;
  }

  async function dispose(entry: Entry): Promise<void> {
    const loaded = await entry.loading.catch(() => undefined);
    loaded?.rawRows.close();
    await loaded?.scorer.close().catch(() => undefined);
  }

  function retire(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    entry.retired = true;
    if (entry.inFlight === 0) void dispose(entry);
  }

  async function use<T>(entry: Entry, run: (loaded: LoadedModel) => Promise<T>): Promise<T> {
    entry.inFlight++;
    try {
      return await run(await entry.loading);
    } finally {
      entry.inFlight--;
      if (entry.retired && entry.inFlight === 0) void dispose(entry);
    }
  }

  /** Makes the cache's production entry match the alias; returns it (or throws why there is none). */
  async function syncProduction(model: string): Promise<Entry> {
    const ticket = (readsStarted.get(model) ?? 0) + 1;
    readsStarted.set(model, ticket);
    const row = await readProduction(model);
    // A slower, older read (e.g. a poll overlapping a NOTIFY) must not undo what a newer one applied.
    const stale = () => (readApplied.get(model) ?? 0) > ticket;
    const previousKey = production.get(model);
    if (stale()) {
      const newer = previousKey === undefined ? undefined : entries.get(previousKey);
      if (newer) return newer;
      throw new ModelNotServingError(model, 'no_production_version');
    }
    if (!row || row.version === null || row.sha256 === null) {
      readApplied.set(model, ticket);
      if (previousKey !== undefined) {
        production.delete(model);
        retire(previousKey);
      }
      throw new ModelNotServingError(model, row ? 'no_production_version' : 'unknown_model');
    }
    const entry = entryFor(model, row.modelId, row.version, row.sha256, row.task, row.servingRecipe);
    // Load fully before switching, so requests keep using the old version until the new one is ready.
    await entry.loading;
    const currentKey = production.get(model);
    if (stale()) {
      const newer = currentKey === undefined ? undefined : entries.get(currentKey);
      if (newer) return newer;
      throw new ModelNotServingError(model, 'no_production_version');
    }
    readApplied.set(model, ticket);
    if (currentKey !== entry.key) {
      production.set(model, entry.key);
      if (currentKey !== undefined) {
        retire(currentKey);
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

  function scheduleReconnect(): void {
    listening = false;
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connectListener();
    }, reconnectDelayMs);
    reconnectTimer.unref();
  }

  async function connectListener(): Promise<void> {
    if (closed) return;
    const client = new pg.Client(pool.options);
    listener = client;
    let failed = false;
    const onFailure = (error?: unknown) => {
      if (failed || listener !== client) return;
      failed = true;
      if (!closed) logger.warn({ err: error }, 'model change listener lost; reconnecting');
      client.end().catch(() => undefined);
      scheduleReconnect();
    };
    client.on('error', onFailure);
    client.on('end', () => onFailure());
    client.on('notification', (message) => {
      if (message.channel === MODEL_CHANGED_CHANNEL && message.payload) void refreshSafely(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${MODEL_CHANGED_CHANNEL}`);
      listening = true;
      // Changes made while we were not listening were not notified to us.
      await refreshWatched();
    } catch (error) {
      onFailure(error);
    }
  }

  return {
    async start() {
      if (watching || closed) return;
      watching = true;
      await connectListener();
      pollTimer = setInterval(() => void refreshWatched(), pollIntervalMs);
      pollTimer.unref();
    },

    async withProduction(model, run) {
      for (let attempt = 1; ; attempt++) {
        const key = production.get(model);
        const cached = watching && key !== undefined ? entries.get(key) : undefined;
        const entry = cached ?? (await syncProduction(model));
        // Swapped out while we awaited the alias read: look again rather than use a session being disposed.
        if (!entry.retired || attempt === 3) return use(entry, run);
      }
    },

    async withVersion(model, version, run) {
      const row = await readVersion(model, version);
      if (!row) throw new ModelNotServingError(model, 'unknown_model');
      const entry = entryFor(model, row.modelId, version, row.sha256, row.task, row.servingRecipe);
      // A non-production version is only kept while used, unless it is (or becomes) production.
      try {
        return await use(entry, run);
      } finally {
        if (production.get(model) !== entry.key) retire(entry.key);
      }
    },

    async refresh(model) {
      if (model === undefined) return refreshWatched();
      await syncProduction(model);
    },

    servingVersion(model) {
      const key = production.get(model);
      return key === undefined ? undefined : Number(key.slice(key.lastIndexOf('@') + 1));
    },

    isListening: () => listening,

    async close() {
      closed = true;
      if (pollTimer) clearInterval(pollTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await listener?.end().catch(() => undefined);
      const all = [...entries.values()];
      entries.clear();
      production.clear();
      await Promise.all(all.map((entry) => dispose(entry)));
    },
  };
}
