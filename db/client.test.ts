// The pool survives Postgres dropping a connection that is checked out (a server restart mid-transaction).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';

let database: TestDatabase;
const logged: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

describe('createDb', () => {
  it('when the server ends a checked-out connection, then the error is handled (no crash) and the pool serves the next query', async () => {
    const { createDb } = await import('./client.js');
    const handle = createDb(database.url, { max: 2, logger: { error: (_fields, message) => logged.push(message) } });
    try {
      const client = await handle.pool.connect();
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // The pool emits 'error' on a checked-out client before 'end': unheard, that was an uncaught exception that
      // killed the process. (Waiting for 'end', not 'error', so the test itself adds no listener.)
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      } finally {
        await admin.end();
      }
      await ended;
      client.release(true);
      expect(logged).toContain('Postgres connection lost while in use');
      const after = await handle.pool.query<{ one: number }>('SELECT 1 AS one');
      expect(after.rows).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
    }
  });
});
