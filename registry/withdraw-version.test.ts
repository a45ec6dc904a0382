import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModelVersion } from '../db/repositories/model-versions.js';
import { getModelByName } from '../db/repositories/models.js';
import { auditLog } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { registerTestVersion } from '../test/support/registration-input.js';
import { insertRunRow } from '../test/support/run-rows.js';
import { recordReviewDecision } from './review-decision.js';
import { withdrawPendingVersion } from './withdraw-version.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const registered = (model: string, runId: string) => registerTestVersion(database.db, model, runId);

async function statusOf(model: string, version: number): Promise<string | undefined> {
  const row = await getModelByName(database.db, model);
  return (await getModelVersion(database.db, row!.id, version))?.status;
}

const withdrawalsOf = (runId: string) =>
  database.db.select().from(auditLog).where(eq(auditLog.subject, `run:${runId}`)).then((rows) => rows.filter((row) => row.action === 'version.withdraw'));

describe('withdrawing the version of a cancelled run', () => {
  it('when the version awaits review, then it becomes rejected with the reason in one audit row; a retry adds nothing', async () => {
    const version = await registered('withdrawn', 'withdrawn-1');
    const input = { runId: 'withdrawn-1', model: 'withdrawn', reason: 'the run was cancelled while awaiting review' };
    expect(await withdrawPendingVersion(database.db, input)).toBe(true);
    expect(await withdrawPendingVersion(database.db, input)).toBe(false);
    expect(await statusOf('withdrawn', version)).toBe('rejected');
    const audit = await withdrawalsOf('withdrawn-1');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'pipeline', after: { status: 'rejected', version, reason: input.reason } });
  });

  it('when the version was already reviewed, then it is left as the review made it', async () => {
    const version = await registered('reviewed', 'reviewed-1');
    await recordReviewDecision(database.db, {
      runId: 'reviewed-1',
      model: 'reviewed',
      version,
      result: { decision: 'approve', reviewer: 'rita', decidedAt: new Date().toISOString() },
      reviewerKeyId: null,
    });
    expect(await withdrawPendingVersion(database.db, { runId: 'reviewed-1', model: 'reviewed', reason: 'cancelled' })).toBe(false);
    expect(await statusOf('reviewed', version)).toBe('approved');
    expect(await withdrawalsOf('reviewed-1')).toEqual([]);
  });

  it('when the run never registered a version, then nothing changes', async () => {
    await insertRunRow(database.db, 'unregistered-1', 'unregistered');
    expect(await withdrawPendingVersion(database.db, { runId: 'unregistered-1', model: 'unregistered', reason: 'cancelled' })).toBe(false);
  });
});
