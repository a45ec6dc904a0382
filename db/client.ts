import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';

export type Db = NodePgDatabase<typeof schema>;
/** A database or an open transaction: repository functions take either, so callers choose the transaction. */
export type DbOrTx = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

/** The part of a pino logger the pool needs. */
export interface DbLogger {
  error(fields: object, message: string): void;
}

export interface DbHandle {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDb(databaseUrl: string, options: { logger: DbLogger; max?: number }): DbHandle {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.max ?? 10 });
  // An idle client's error (e.g. the server restarting) must not crash the process; the pool replaces the client.
  pool.on('error', (error) => options.logger.error({ err: error }, 'idle Postgres connection failed'));
  // A checked-out client also emits 'error' when the server goes away (Postgres restarting mid-query), and the pool
  // listens only while it is idle: unheard, it crashed the process. Its query rejects anyway and the pool discards it.
  // Logged here only while checked out: an idle client's error is the pool's 'error' above (one line per failure).
  const inUse = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => inUse.add(client));
  pool.on('release', (_error, client) => inUse.delete(client));
  pool.on('connect', (client) =>
    client.on('error', (error) => {
      if (inUse.has(client)) options.logger.error({ err: error }, 'Postgres connection lost while in use');
    }),
  );
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}
