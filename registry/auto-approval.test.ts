// The model approval policy's decision: it approves only what it can vouch for; everything else goes to a person.
import { describe, expect, it } from 'vitest';
import type { DecideAutoApprovalInput } from '../workflows/contracts/pipeline-activities.js';
import { decideByPolicy, type ApprovalPolicy } from './auto-approval.js';

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
