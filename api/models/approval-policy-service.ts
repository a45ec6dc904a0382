// The model approval policy behind GET/PUT /v1/models/:name/policy: set by ops (or admin), versioned, audited in the
// same transaction. A run's requester cannot set it: run specs may no longer carry `policy.autoApprove: true`.
import type { Db } from '../../db/client.js';
import { getApprovalPolicy, lockApprovalPolicy, putApprovalPolicy } from '../../db/repositories/approval-policies.js';
import { writeAudit, type AuditEntry } from '../../db/repositories/audit.js';
import type { ModelApprovalPolicyRow } from '../../db/schema.js';
import type { Gates } from '../../workflows/contracts/run-spec.js';

export interface ApprovalPolicyBody {
  autoApprove: boolean;
  allowFirstDeployment?: boolean;
  gates?: Gates;
}

export interface ApprovalPolicyView {
  model: string;
  /** 0 while the model has no policy (a person reviews every run). */
  version: number;
  autoApprove: boolean;
  allowFirstDeployment: boolean;
  gates: Gates;
  updatedBy: string | null;
  updatedAt: string | null;
}

function toView(model: string, row: ModelApprovalPolicyRow | undefined): ApprovalPolicyView {
  if (!row) return { model, version: 0, autoApprove: false, allowFirstDeployment: false, gates: {}, updatedBy: null, updatedAt: null };
  return {
    model,
    version: row.version,
    autoApprove: row.autoApprove,
    allowFirstDeployment: row.allowFirstDeployment,
    gates: row.gates,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function getApprovalPolicyView(db: Db, model: string): Promise<ApprovalPolicyView> {
  return toView(model, await getApprovalPolicy(db, model));
}

export async function setApprovalPolicy(
  db: Db,
  model: string,
  body: ApprovalPolicyBody,
  actor: Pick<AuditEntry, 'actor' | 'actorKeyId' | 'role'>,
): Promise<ApprovalPolicyView> {
  // GatesSchema (the route's body schema) already refused unknown keys and negative maxRegression values.
  const gates = body.gates ?? {};
  return db.transaction(async (tx) => {
    const before = await lockApprovalPolicy(tx, model);
    const row = await putApprovalPolicy(tx, model, {
      autoApprove: body.autoApprove,
      allowFirstDeployment: body.allowFirstDeployment ?? false,
      gates,
      updatedBy: actor.actor,
    });
    const view = toView(model, row);
    await writeAudit(tx, {
      ...actor,
      action: 'model.approval_policy',
      subject: `model:${model}`,
      before: before ? toView(model, before) : null,
      after: view,
    });
    return view;
  });
}
