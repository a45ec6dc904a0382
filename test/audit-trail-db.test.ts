// The audit log in the database itself: append-only for the app role and the owner alike, and a hash chain that
// names the row a superuser altered behind the trigger's back.
import pg from 'pg';
import pino from 'pino';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../db/client.js';
import { APP_ROLE, setAppRolePassword } from '../db/app-role.js';
import { auditLog, installation } from '../db/schema.js';
import { verifyAuditChain, writeAudit } from '../db/repositories/audit.js';
import { dropExpiredPredictionPartitions, ensurePredictionPartitions } from '../db/prediction-partitions.js';
import { createRunActivities } from '../activities/run-activities.js';
import type { RunSpec } from '../workflows/contracts/run-spec.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

let database: TestDatabase;
let app: DbHandle;

const APP_PASSWORD = 'audit-test-app';

async function asOwner<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const entry = (action: string, details: unknown = {}) => ({
  actor: 'alice',
  actorKeyId: null,
  role: 'ops',
  action,
  subject: 'model:churn',
  details,
  requestId: 'req-1',
});

beforeAll(async () => {
  database = await createTestDatabase();
  const appUrl = new URL(database.url);
  appUrl.username = APP_ROLE;
  appUrl.password = APP_PASSWORD;
  await asOwner((client) => setAppRolePassword(client, appUrl.toString()));
  app = createDb(appUrl.toString(), { max: 8, logger: pino({ level: 'warn' }) });
  for (let index = 0; index < 5; index += 1) await writeAudit(app.db, entry(`test.step_${index}`, { index, nested: { b: 1, a: [1, 2] } }));
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('the app role', () => {
  it('when it updates, deletes or truncates audit_log, then Postgres refuses: permission denied', async () => {
    for (const statement of ['UPDATE audit_log SET actor = $1', 'DELETE FROM audit_log WHERE actor <> $1', 'TRUNCATE audit_log']) {
      const params = statement.includes('$1') ? ['mallory'] : [];
      await expect(app.pool.query(statement, params), statement).rejects.toThrow(/permission denied/);
    }
    const { rows } = await app.pool.query<{ count: number }>('SELECT count(*)::int AS count FROM audit_log');
    expect(rows[0]!.count).toBe(5);
  });

  it('when it disables the trigger, then Postgres refuses: it does not own the table', async () => {
    await expect(app.pool.query('ALTER TABLE audit_log DISABLE TRIGGER USER')).rejects.toThrow(/must be owner/);
  });

  it('when it inserts, updates and deletes rows of the other tables, then that works as before', async () => {
    await app.db.insert(installation).values({ key: 'audit-test', value: { n: 1 } });
    await app.db.update(installation).set({ value: { n: 2 } }).where(eq(installation.key, 'audit-test'));
    await app.db.delete(installation).where(eq(installation.key, 'audit-test'));
    expect(await app.db.select().from(installation).where(eq(installation.key, 'audit-test'))).toHaveLength(0);
  });
});

describe('the app role and the prediction log', () => {
  it('when the API creates and drops daily partitions as keel_app, then Postgres lets it', async () => {
    const past = new Date(Date.UTC(2020, 0, 1));
    const created = await ensurePredictionPartitions(app.pool, past, 1);
    expect(created).toEqual(['prediction_records_p20200101', 'prediction_records_p20200102']);
    const dropped = await dropExpiredPredictionPartitions(app.pool, new Date(Date.UTC(2020, 0, 10)), 3);
    expect(dropped).toEqual(expect.arrayContaining(['prediction_records_p20200101', 'prediction_records_p20200102']));
  });
});

describe('the owner', () => {
  it('when it updates, deletes or truncates audit_log, then the trigger refuses it too', async () => {
    await asOwner(async (client) => {
      await expect(client.query(`UPDATE audit_log SET actor = 'mallory'`)).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(client.query('DELETE FROM audit_log')).rejects.toThrow(/append-only: DELETE refused/);
      await expect(client.query('TRUNCATE audit_log')).rejects.toThrow(/append-only: TRUNCATE refused/);
    });
    expect(await app.db.select().from(auditLog)).toHaveLength(5);
  });
});

describe('the hash chain', () => {
  it('when many transactions write at once, then the chain stays linear and verifies', async () => {
    await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        app.db.transaction(async (tx) => {
          await writeAudit(tx, entry('test.concurrent', { index }));
        }),
      ),
    );
    const result = await verifyAuditChain(app.db);
    expect(result).toMatchObject({ ok: true, checked: 29, firstBroken: null });
  });

  it('when a transaction rolls back, then its audit row is gone with it and the chain still verifies', async () => {
    await expect(
      app.db.transaction(async (tx) => {
        await writeAudit(tx, entry('test.rolled_back'));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await app.db.select().from(auditLog).where(sql`${auditLog.action} = 'test.rolled_back'`)).toHaveLength(0);
    expect((await verifyAuditChain(app.db)).ok).toBe(true);
  });

  it('when a superuser alters a row with the trigger disabled, then verify names that row', async () => {
    const [{ id }] = (await app.db.select({ id: auditLog.id }).from(auditLog).orderBy(auditLog.id).offset(2).limit(1)) as [{ id: number }];
    await asOwner(async (client) => {
      await client.query('BEGIN');
      await client.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
      await client.query(`UPDATE audit_log SET details = '{"index": 99}' WHERE id = $1`, [id]);
      await client.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
      await client.query('COMMIT');
    });
    const result = await verifyAuditChain(app.db);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ id, reason: expect.stringMatching(/altered/) as unknown });
  });
});

describe('a removed row', () => {
  it('when a superuser deletes a row in the middle with the trigger disabled, then verify names the row after it', async () => {
    const other = await createTestDatabase();
    try {
      for (let index = 0; index < 4; index += 1) await writeAudit(other.db, entry(`test.step_${index}`));
      const ids = (await other.db.select({ id: auditLog.id }).from(auditLog).orderBy(auditLog.id)).map((row) => row.id);
      const client = new pg.Client({ connectionString: other.url });
      await client.connect();
      await client.query('SET session_replication_role = replica');
      await client.query('DELETE FROM audit_log WHERE id = $1', [ids[1]]);
      await client.end();
      const result = await verifyAuditChain(other.db);
      expect(result.firstBroken).toEqual({ id: ids[2], reason: expect.stringMatching(/removed/) as unknown });

      // The tail: deleting the newest row is caught by the chain head.
      const tail = new pg.Client({ connectionString: other.url });
      await tail.connect();
      await tail.query('SET session_replication_role = replica');
      await tail.query('DELETE FROM audit_log WHERE id >= $1', [ids[2]]);
      await tail.end();
      expect((await verifyAuditChain(other.db)).firstBroken).toEqual({ id: ids[3], reason: expect.stringMatching(/missing/) as unknown });
    } finally {
      await other.close();
    }
  });
});

describe('a run a Temporal Schedule started', () => {
  it('when the run registers itself (twice, as a retried activity would), then one run.start row names the schedule', async () => {
    const activities = createRunActivities({ db: app.db });
    const input = {
      runId: 'sched-nightly-audit-1',
      workflowId: 'pipeline/churn/sched-nightly-audit-1',
      scheduleId: 'nightly',
      spec: { model: 'churn', dataset: { uri: 'file:///data/churn.csv' }, target: 'y', task: 'binary' } as RunSpec,
      requestedBy: { keyId: null, name: 'alice' },
    };
    await activities.registerScheduledRun(input);
    await activities.registerScheduledRun(input);
    const rows = await app.db.select().from(auditLog).where(eq(auditLog.subject, 'run:sched-nightly-audit-1'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: 'schedule:nightly',
      role: null,
      action: 'run.start',
      requestId: input.workflowId,
      details: { scheduleId: 'nightly', scheduleCreatedBy: 'alice' },
    });
  });
});
