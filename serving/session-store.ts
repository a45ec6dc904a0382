// onnxruntime sessions by model version: loaded once, sha256-verified, disposed when retired and no longer in use.
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Task } from '../ml/model.js';
import { createOnnxScorer, type OnnxFeatureSchema, type OnnxScorer } from '../ml/onnx/index.js';
import { ModelLoadError } from './errors.js';
import { createRawRowFeatures, type RawRowFeatures } from './raw-row-features.js';
import type { ServingRecipe } from '../workflows/contracts/serving-recipe.js';

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

/** The part of a pino logger serving needs. */
export interface ServingLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Which version to load, as the registry describes it. */
export interface VersionToLoad {
  model: string;
  modelId: string;
  version: number;
  sha256: string;
  task: Task;
  /** The version's serving recipe (null for versions registered before recipes existed). */
  servingRecipe: ServingRecipe | null;
}

export interface SessionEntry {
  readonly key: string;
  readonly loading: Promise<LoadedModel>;
  /** True once retired: a caller holding it should look up the current entry instead. */
  readonly retired: boolean;
}

export interface SessionStore {
  /** The entry of this version, loading it if no live entry exists; a failed load is forgotten so the next call retries. */
  entryFor(version: VersionToLoad): SessionEntry;
  /** The live entry under `key`, if any. */
  get(key: string): SessionEntry | undefined;
  /** Runs `run` with the loaded session; a retired entry is disposed only after its last user returns. */
  use<T>(entry: SessionEntry, run: (loaded: LoadedModel) => Promise<T>): Promise<T>;
  /** Forgets the entry and disposes it once nobody uses it. */
  retire(key: string): void;
  /** Disposes every session. */
  close(): Promise<void>;
}

export interface SessionStoreOptions {
  artifacts: ArtifactStore;
  logger: ServingLogger;
  /** Threads per onnxruntime session (default 1: many small models share few cores). */
  intraOpNumThreads?: number;
  /** Rows of concurrent requests scored in one onnxruntime run (dynamic batching; default 4096, 1: off). */
  scoreBatchRows?: number;
}

interface Entry extends SessionEntry {
  inFlight: number;
  retired: boolean;
}

export const sessionKey = (model: string, version: number) => `${model}@${version}`;

export function versionOfSessionKey(key: string): number {
  return Number(key.slice(key.lastIndexOf('@') + 1));
}

export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const { artifacts, logger } = options;
  const entries = new Map<string, Entry>();

  async function load({ model, modelId, version, sha256, task, servingRecipe }: VersionToLoad): Promise<LoadedModel> {
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
      scorer = await createOnnxScorer(bytes, { intraOpNumThreads: options.intraOpNumThreads ?? 1, maxBatchRows: options.scoreBatchRows });
    } catch (error) {
      throw new ModelLoadError(model, version, `onnxruntime refused the artifact: ${(error as Error).message}`, { cause: error });
    }
    if (scorer.task !== task) {
      await scorer.close();
      throw new ModelLoadError(model, version, `artifact is a ${scorer.task} model but "${model}" is ${task}`);
    }
    logger.info({ model, version, sha256 }, 'model version loaded');
    const rawRows = createRawRowFeatures(model, version, servingRecipe);
    return { model, modelId, version, sha256, task: scorer.task, features: scorer.features, scorer, rawRows };
  }

  async function dispose(entry: Entry): Promise<void> {
    const loaded = await entry.loading.catch(() => undefined);
    loaded?.rawRows.close();
    await loaded?.scorer.close().catch(() => undefined);
  }

  return {
    entryFor(version) {
      const key = sessionKey(version.model, version.version);
      const existing = entries.get(key);
      if (existing && !existing.retired) return existing;
      const entry: Entry = { key, loading: load(version), inFlight: 0, retired: false };
      entries.set(key, entry);
      entry.loading.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return entry;
    },

    get: (key) => entries.get(key),

    async use(handle, run) {
      const entry = handle as Entry;
      entry.inFlight++;
      try {
        return await run(await entry.loading);
      } finally {
        entry.inFlight--;
        if (entry.retired && entry.inFlight === 0) void dispose(entry);
      }
    },

    retire(key) {
      const entry = entries.get(key);
      if (!entry) return;
      entries.delete(key);
      entry.retired = true;
      if (entry.inFlight === 0) void dispose(entry);
    },

    async close() {
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((entry) => dispose(entry)));
    },
  };
}
