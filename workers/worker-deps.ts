// What activities need, built once per worker process from config (STYLE: deps passed in, not imported).
import type { KeelConfig } from '../config.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { FsArtifactStore } from '../artifacts/fs-artifact-store.js';
import { createDb, type DbHandle, type DbLogger } from '../db/client.js';

export interface WorkerDeps {
  config: KeelConfig;
  temporalAddress: string;
  db: DbHandle;
  /** Content-addressed snapshots and models (filesystem store under config.artifactDir). */
  artifacts: ArtifactStore;
  close(): Promise<void>;
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
