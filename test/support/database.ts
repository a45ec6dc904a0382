// A fresh, migrated database per test file on the shared embedded Postgres.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import pino from 'pino';
import { createDb, type DbHandle } from '../../db/client.js';
import { applyMigrations } from '../../db/migrate.js';

export interface TestDatabase extends DbHandle {
  url: string;
  name: string;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const name = `keel_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  await applyMigrations(url);
  const handle = createDb(url, { max: 5, logger: pino({ name: `test-db-${name}`, level: 'warn' }) });
  return {
    ...handle,
    url,
    name,
    close: async () => {
      await handle.close();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
