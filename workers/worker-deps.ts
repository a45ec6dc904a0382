// What activities need, built once per worker process from config (STYLE: deps passed in, not imported).
import type { KeelConfig } from '../config.js';
import { createDb, type DbHandle } from '../db/client.js';

export interface WorkerDeps {
  config: KeelConfig;
  temporalAddress: string;
  db: DbHandle;
  close(): Promise<void>;
}

export async function createWorkerDeps(config: KeelConfig): Promise<WorkerDeps> {
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required for workers (npm start sets it for the embedded stack)');
  if (!config.temporalAddress) throw new Error('TEMPORAL_ADDRESS is required for workers (npm start sets it for the embedded stack)');
  const db = createDb(config.databaseUrl);
  return {
    config,
    temporalAddress: config.temporalAddress,
    db,
    close: () => db.close(),
  };
}
