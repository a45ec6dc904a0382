// The model approval policy's decision: it approves only what it can vouch for; everything else goes to a person.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putApprovalPolicy } from '../db/repositories/approval-policies.js';
import { getModelByName } from '../db/repositories/models.js';
import { approvals, auditLog, modelAliases } from '../db/schema.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { registerTestVersion } from '../test/support/registration-input.js';
import type { DecideAutoApprovalInput } from '../workflows/contracts/pipeline-activities.js';
import { decideAutoApproval, decideByPolicy, type ApprovalPolicy } from './auto-approval.js';
import { recordReviewDecision } from './review-decision.js';

const policy: ApprovalPolicy = { version: 4, autoApprove: true, allowFirstDeployment: false, gates: { auc: { min: 0.8 }, maxRegression: { auc: 0.01 } } };
const fair: DecideAutoApprovalInput['evaluation'] = {
  candidateMetrics: { auc: 0.9 },
  champion: { version: 2, metrics: { auc: 0.89 } },
  failedGates: [],
  challengerNoWorse: true,
  comparison: { status: 'fair', reason: null },
};

describe('decideByPolicy', () => {
  it('auto-approves a fair, passing comparison and names the policy version', () => {
    expect(decideByPolicy(policy, fair, 2)).toMatchObject({ decision: 'auto_approve', policyVersion: 4 });
  });

  it('sends every run to a person when the model has no policy or auto-approval is off', () => {
    expect(decideByPolicy(undefined, fair, 2)).toMatchObject({ decision: 'review', policyVersion: null });
    expect(decideByPolicy({ ...policy, autoApprove: false }, fair, 2)).toMatchObject({ decision: 'review', policyVersion: 4 });
  });

  it('refuses auto-approval when the champion was skipped (e.g. the features changed) although a version is in production', () => {
    const skipped = { ...fair, champion: null, challengerNoWorse: true, comparison: undefined };
    expect(decideByPolicy(policy, skipped, 2)).toMatchObject({ decision: 'review', comment: expect.stringContaining('comparison is missing') });
  });

  it('refuses a first deployment unless the policy explicitly allows one', () => {
    const first = { ...fair, champion: null, comparison: { status: 'no_champion' as const, reason: null } };
    expect(decideByPolicy(policy, first, null)).toMatchObject({ decision: 'review', comment: expect.stringContaining('first deployment') });
    expect(decideByPolicy({ ...policy, allowFirstDeployment: true }, first, null)).toMatchObject({ decision: 'auto_approve' });
  });

  it('refuses a biased or unknown comparison, even with a first deployment allowed', () => {
    const biased = { ...fair, challengerNoWorse: null, comparison: { status: 'biased' as const, reason: 'the split changed' } };
    expect(decideByPolicy({ ...policy, allowFirstDeployment: true }, biased, 2)).toMatchObject({ decision: 'review', comment: expect.stringContaining('the split changed') });
    expect(decideByPolicy(policy, { ...fair, comparison: undefined }, 2).decision).toBe('review');
  });

  it("rejects when the policy's own gates fail, whatever gates the run chose", () => {
    const weak = { ...fair, candidateMetrics: { auc: 0.75 }, champion: { version: 2, metrics: { auc: 0.74 } } };
    expect(decideByPolicy(policy, weak, 2)).toMatchObject({ decision: 'auto_reject', comment: expect.stringContaining('policy gate: auc 0.7500 < min 0.8000') });
    const worse = { ...fair, candidateMetrics: { auc: 0.85 }, challengerNoWorse: false };
    expect(decideByPolicy(policy, worse, 2)).toMatchObject({ decision: 'auto_reject' });
    expect(decideByPolicy(policy, { ...fair, failedGates: ['f1 0.2 < min 0.5'] }, 2).decision).toBe('auto_reject');
  });
});

describe('the auto-approval decision on Postgres', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  const registered = (model: string, runId: string) =>
    registerTestVersion(database.db, model, runId, { evaluation: { candidateMetrics: { auc: 0.9 } } });

  const auditOf = (runId: string) => database.db.select().from(auditLog).where(eq(auditLog.subject, `run:${runId}`));

  it('reads the policy ops set, audits a refused auto-approval with its version, and records an automatic approval with the version that allowed it', async () => {
    const firstDeployment = { candidateMetrics: { auc: 0.9 }, champion: null, failedGates: [], challengerNoWorse: true };
    expect(await decideAutoApproval(database.db, { runId: 'none-1', model: 'nopolicy', evaluation: firstDeployment })).toMatchObject({ decision: 'review', policyVersion: null });

    await putApprovalPolicy(database.db, 'churn', { autoApprove: true, allowFirstDeployment: false, gates: {}, updatedBy: 'olga' });
    await putApprovalPolicy(database.db, 'churn', { autoApprove: true, allowFirstDeployment: false, gates: { auc: { min: 0.8 } }, updatedBy: 'olga' });
    const version = await registered('churn', 'churn-1');
    const refused = await decideAutoApproval(database.db, { runId: 'churn-1', model: 'churn', evaluation: firstDeployment });
    expect(refused).toMatchObject({ decision: 'review', policyVersion: 2 });
    expect(await auditOf('churn-1')).toEqual([
      expect.objectContaining({ action: 'run.auto_approval_refused', actor: 'policy:churn@v2', after: expect.objectContaining({ policyVersion: 2 }) }),
    ]);

    await putApprovalPolicy(database.db, 'churn', { autoApprove: true, allowFirstDeployment: true, gates: { auc: { min: 0.8 } }, updatedBy: 'olga' });
    const approved = await decideAutoApproval(database.db, { runId: 'churn-1', model: 'churn', evaluation: firstDeployment });
    expect(approved).toMatchObject({ decision: 'auto_approve', policyVersion: 3 });
    await recordReviewDecision(database.db, {
      runId: 'churn-1',
      model: 'churn',
      version,
      result: { decision: 'auto_approve', reviewer: 'policy:churn@v3', comment: approved.comment, decidedAt: new Date().toISOString(), policyVersion: 3 },
      reviewerKeyId: null,
    });
    const [approval] = await database.db.select().from(approvals).where(eq(approvals.runId, 'churn-1'));
    expect(approval).toMatchObject({ decision: 'auto_approve', reviewer: 'policy:churn@v3', policyVersion: 3 });
    const decided = (await auditOf('churn-1')).find((row) => row.action === 'run.auto_approve');
    expect(decided).toMatchObject({ actor: 'policy:churn@v3', role: null, after: expect.objectContaining({ policyVersion: 3 }) });
  });

  it('refuses when a production version exists but the evaluation has no champion (the comparison was skipped)', async () => {
    const version = await registered('fraud', 'fraud-1');
    const model = await getModelByName(database.db, 'fraud');
    await database.db.insert(modelAliases).values({ modelId: model!.id, alias: 'production', version, updatedAt: new Date() });
    await putApprovalPolicy(database.db, 'fraud', { autoApprove: true, allowFirstDeployment: true, gates: {}, updatedBy: 'olga' });
    const result = await decideAutoApproval(database.db, {
      runId: 'fraud-1',
      model: 'fraud',
      evaluation: { candidateMetrics: { auc: 0.99 }, champion: null, failedGates: [], challengerNoWorse: true },
    });
    expect(result).toMatchObject({ decision: 'review', comment: expect.stringContaining(`production version ${version}`) });
  });
});
