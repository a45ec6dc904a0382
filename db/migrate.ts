import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { setAppRolePassword } from './app-role.js';

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Applies the committed drizzle-kit migrations on a short-lived connection of its own, as the schema owner
 * `databaseUrl` names. With `appDatabaseUrl` (the keel_app role's URL) the owner also sets that role's password.
 */
export async function applyMigrations(databaseUrl: string, options: { appDatabaseUrl?: string } = {}): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Serialise concurrent starters (API + workers) so only one applies migrations.
    await client.query('SELECT pg_advisory_lock(72731)');
    await migrate(drizzle(client), { migrationsFolder });
    if (options.appDatabaseUrl && options.appDatabaseUrl !== databaseUrl) await setAppRolePassword(client, options.appDatabaseUrl);
  } finally {
    await client.query('SELECT pg_advisory_unlock(72731)').catch(() => undefined);
    await client.end();
  }
}
