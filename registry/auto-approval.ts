// Auto-approval by the model's approval policy (set by ops, versioned), never by a run's requester. The policy may
// approve only when every gate (the run's and its own) passes against a fair champion comparison; without a champion
// only if it allows a first deployment. Anything it cannot vouch for goes to a person.
import type { Db } from '../db/client.js';
import { getApprovalPolicy } from '../db/repositories/approval-policies.js';
import { writeAudit } from '../db/repositories/audit.js';
import { getAliasVersion } from '../db/repositories/model-aliases.js';
import { getModelByName } from '../db/repositories/models.js';
import type { ModelApprovalPolicyRow } from '../db/schema.js';
import { evaluateGates } from '../evaluation/gates.js';
import type { DecideAutoApprovalInput, DecideAutoApprovalResult } from '../workflows/contracts/pipeline-activities.js';

export type ApprovalPolicy = Pick<ModelApprovalPolicyRow, 'version' | 'autoApprove' | 'allowFirstDeployment' | 'gates'>;

/** Pure: what the policy decides for this evaluation; `productionVersion` is the model's production version now. */
export function decideByPolicy(
  policy: ApprovalPolicy | undefined,
  evaluation: DecideAutoApprovalInput['evaluation'],
  productionVersion: number | null,
): DecideAutoApprovalResult {
  if (!policy) return { decision: 'review', policyVersion: null, comment: 'the model has no approval policy: a person reviews' };
  const policyVersion = policy.version;
  const review = (why: string): DecideAutoApprovalResult => ({ decision: 'review', policyVersion, comment: `auto-approval refused: ${why}; a person reviews` });
  if (!policy.autoApprove) return { decision: 'review', policyVersion, comment: `approval policy v${policyVersion} does not auto-approve` };
  if (evaluation.champion === null) {
    if (productionVersion !== null) {
      return review(`production version ${productionVersion} was not compared with the candidate (the champion comparison is missing)`);
    }
    if (!policy.allowFirstDeployment) return review('no production version to compare with, and the policy does not allow a first deployment');
  } else if (evaluation.comparison?.status !== 'fair') {
    return review(`the champion comparison is not comparable (${evaluation.comparison?.reason ?? 'its fairness is unknown'})`);
  }
  const policyGates = evaluateGates(policy.gates, evaluation.candidateMetrics, evaluation.champion?.metrics ?? null);
  const reasons = [...evaluation.failedGates, ...policyGates.failed.map((detail) => `policy gate: ${detail}`)];
  if (evaluation.champion !== null && evaluation.challengerNoWorse !== true) reasons.push('challenger is worse than the champion');
  if (reasons.length > 0) return { decision: 'auto_reject', policyVersion, comment: `auto-approval refused: ${reasons.join('; ')}` };
  return {
    decision: 'auto_approve',
    policyVersion,
    comment: `approval policy v${policyVersion}: every gate passed${evaluation.champion ? ' and the challenger is no worse than the champion' : ' (first deployment allowed)'}`,
  };
}

/** Reads the policy and the production version now; a refused auto-approval is audited (the decisions themselves are audited where they are recorded). */
export async function decideAutoApproval(db: Db, input: DecideAutoApprovalInput): Promise<DecideAutoApprovalResult> {
  const policy = await getApprovalPolicy(db, input.model);
  const model = await getModelByName(db, input.model);
  const productionVersion = model ? await getAliasVersion(db, model.id, 'production') : null;
  const result = decideByPolicy(policy, input.evaluation, productionVersion);
  if (policy?.autoApprove && result.decision === 'review') {
    await writeAudit(db, {
      actor: `policy:${input.model}@v${policy.version}`,
      actorKeyId: null,
      role: null,
      action: 'run.auto_approval_refused',
      subject: `run:${input.runId}`,
      after: { model: input.model, policyVersion: policy.version, reason: result.comment },
    });
  }
  return result;
}
