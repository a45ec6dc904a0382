// What activities need, built once per worker process from config (STYLE: deps passed in, not imported).
import os from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import type { KeelConfig } from '../config.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { DataPlaneSettings } from '../data/dataset-source.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { duckDbSessionBudget } from '../data/duckdb-budget.js';
import { createDb, type DbHandle, type DbLogger } from '../db/client.js';

export interface WorkerDeps {
  config: KeelConfig;
  temporalAddress: string;
  db: DbHandle;
  /** Content-addressed snapshots and models (filesystem store under config.artifactDir). */
  artifacts: ArtifactStore;
  close(): Promise<void>;
}

/** Every data-plane setting of the config, for the ingest and validation activities; scratch space lives under the data directory. */
export function dataPlaneSettings(config: KeelConfig): DataPlaneSettings {
  return {
    dataRoots: config.dataRoots,
    workDir: path.join(config.dataDir, 'tmp', 'data-plane'),
    sqlConnections: config.sqlConnections,
    allowPrivateUrls: config.allowPrivateUrls,
    allowHttpUrls: config.allowHttpUrls,
    allowedPrivateNetworks: config.allowedPrivateNetworks,
    // Node trusts only the `ca` it is given: keep the public roots so the internal CA is an addition.
    urlCaCertificates: config.urlCaCertificates ? [...rootCertificates, ...config.urlCaCertificates] : undefined,
    maxDownloadBytes: config.maxDownloadBytes,
    sqlStatementTimeoutMs: config.sqlStatementTimeoutMs,
    // Each session's share of the worker's DuckDB budget: the ingests and validations that may run at once together
    // stay within it (a session that needs more spills to workDir).
    ...duckDbSettings(config),
  };
}

/** DuckDB's memory_limit and threads for one ingest or validation session of a pipeline worker. */
export function duckDbSettings(
  config: KeelConfig,
  machine: { totalMemoryBytes: number; cores: number } = { totalMemoryBytes: os.totalmem(), cores: os.availableParallelism() },
): { duckdbMemoryLimit: string; duckdbThreads: number } {
  const budget = duckDbSessionBudget({
    sessionMemoryLimit: config.duckdbMemoryLimit,
    memoryBudget: config.duckdbMemoryBudget,
    threads: config.duckdbThreads,
    concurrentSessions: config.maxConcurrentIngests + config.maxConcurrentValidations,
    ...machine,
  });
  return { duckdbMemoryLimit: budget.memoryLimit, duckdbThreads: budget.threads };
}

export async function createWorkerDeps(config: KeelConfig, logger: DbLogger): Promise<WorkerDeps> {
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required for workers (npm start sets it for the embedded stack)');
  if (!config.temporalAddress) throw new Error('TEMPORAL_ADDRESS is required for workers (npm start sets it for the embedded stack)');
  const db = createDb(config.databaseUrl, { logger });
  return {
    config,
    temporalAddress: config.temporalAddress,
    db,
    artifacts: new FsArtifactStore(config.artifactDir),
    close: () => db.close(),
  };
}
