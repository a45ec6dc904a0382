import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { createDb } from './client.js';
import { insertRun } from './repositories/runs.js';
import { RUN_STATUSES } from '../workflows/run-status.js';
import { getOrCreateModel } from './repositories/models.js';
import { RUN_STAGES, TASKS } from './schema.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const run = (id: string) => ({ id, workflowId: `pipeline/m/${id}`, model: 'm', spec: {}, specHash: 'h' });
const pgCode = (error: unknown) => (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;

describe('typed storage', () => {
  it('accepts every status, stage and task the code knows', async () => {
    for (const status of RUN_STATUSES) await insertRun(database.db, { ...run(`status-${status}`), status });
    for (const stage of RUN_STAGES) await insertRun(database.db, { ...run(`stage-${stage}`), stage });
    for (const task of TASKS) expect((await getOrCreateModel(database.db, { name: `task-${task}`, task, target: 'y', featureSchema: [] })).task).toBe(task);
  });

  it('when a writer bypasses the types, then the database refuses a status, stage or task outside the tables', async () => {
    const refused = [
      sql`INSERT INTO runs (id, workflow_id, model, spec, spec_hash, status) VALUES ('bad-status', 'w', 'm', '{}', 'h', 'done')`,
      sql`INSERT INTO runs (id, workflow_id, model, spec, spec_hash, stage) VALUES ('bad-stage', 'w', 'm', '{}', 'h', 'training')`,
      sql`INSERT INTO models (name, task, target, feature_schema) VALUES ('bad-task', 'ranking', 'y', '[]')`,
      sql`INSERT INTO api_keys (name, user_name, prefix, secret_hash, roles) VALUES ('bad-role', 'bad-role', 'p', 'h', ARRAY['root'])`,
    ];
    for (const statement of refused) {
      const error = await database.db.execute(statement).then(() => undefined, (caught: unknown) => caught);
      expect(pgCode(error)).toBe('23514'); // check_violation
    }
  });
});

describe('database client', () => {
  it('when an idle pooled connection dies, then the error is logged and the pool keeps working', async () => {
    const logged: object[] = [];
    const handle = createDb(database.url, { max: 1, logger: { error: (fields) => logged.push(fields) } });
    try {
      const { rows } = await handle.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await database.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await vi.waitFor(() => expect(logged).toHaveLength(1), { timeout: 10_000, interval: 20 });
      expect(logged[0]).toHaveProperty('err');
      expect((await handle.pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
    }
  });
});
