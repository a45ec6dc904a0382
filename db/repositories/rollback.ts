// Ops' rollback: production goes back to an earlier version that was approved (or served) before.
import type { DeploymentRow } from '../schema.js';
import type { Db } from '../client.js';
import { getModelByName } from './models.js';
import { getModelVersion, DEPLOYABLE_STATUSES } from './model-versions.js';
import { moveAlias, getAliasVersion, PRODUCTION_ALIAS } from './model-aliases.js';
import { RegistryError, modelNotFound, versionNotFound } from './registry-errors.js';

export interface AuditActor {
  actor: string;
  actorKeyId: string | null;
  role: string | null;
  requestId?: string | null;
}

export interface RollbackRequest {
  model: string;
  version: number;
  actor: AuditActor;
  reason: string;
  /** Compare-and-set: roll back only if production is this version now (null: none), else PRODUCTION_MOVED. */
  expectedProduction?: number | null;
}

export interface RollbackResult {
  model: string;
  alias: string;
  version: number;
  previousVersion: number | null;
  deployment: DeploymentRow;
}

export async function rollbackModel(db: Db, request: RollbackRequest): Promise<RollbackResult> {
  const model = await getModelByName(db, request.model);
  if (!model) throw modelNotFound(request.model);
  return db.transaction(async (tx) => {
    const target = await getModelVersion(tx, model.id, request.version);
    if (!target) throw versionNotFound(request.model, request.version);
    if (!DEPLOYABLE_STATUSES.includes(target.status as (typeof DEPLOYABLE_STATUSES)[number])) {
      throw new RegistryError(
        'VERSION_NOT_DEPLOYABLE',
        `version ${request.version} of "${request.model}" is ${target.status}; only a version that was approved or deployed can go to production`,
        { model: request.model, version: request.version, status: target.status },
      );
    }
    const current = await getAliasVersion(tx, model.id, PRODUCTION_ALIAS);
    if (current === request.version) {
      throw new RegistryError(
        'ALREADY_IN_PRODUCTION',
        `version ${request.version} of "${request.model}" is already in production`,
        { model: request.model, version: request.version },
      );
    }
    const { fromVersion, deployment } = await moveAlias(tx, {
      modelId: model.id,
      alias: PRODUCTION_ALIAS,
      toVersion: request.version,
      action: 'rollback',
      expectedFromVersion: request.expectedProduction,
      movedExplanation: () => `; rollback to v${request.version} refused: look at production again and decide`,
      actor: request.actor.actor,
      reason: request.reason,
      runId: null,
      statusChanges: (from) => [
        ...(from !== null ? [{ version: from, status: 'retired' as const, onlyFrom: ['deployed' as const] }] : []),
        { version: request.version, status: 'deployed' },
      ],
      audit: (from) => ({
        ...request.actor,
        action: 'model.rollback',
        subject: `model:${request.model}`,
        before: { production: from },
        after: { production: request.version, reason: request.reason },
      }),
      notifyModel: request.model,
    });
    return { model: request.model, alias: PRODUCTION_ALIAS, version: request.version, previousVersion: fromVersion, deployment };
  });
}
