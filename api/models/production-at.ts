// GET /v1/models/:name/production?at=…: the version serving at a moment, who put it there and who approved it,
// read from Postgres (alias history, approvals, versions) so it answers after Temporal has forgotten the run.
import type { Db } from '../../db/client.js';
import { getApprovalByRunId } from '../../db/repositories/approvals.js';
import { PRODUCTION_ALIAS } from '../../db/repositories/model-aliases.js';
import { getModelVersion } from '../../db/repositories/model-versions.js';
import { getModelByName } from '../../db/repositories/models.js';
import { aliasMoveInForceAt } from '../../db/repositories/production-history.js';
import { modelNotFound } from '../../db/repositories/registry-errors.js';
import { KeelError } from '../../errors/keel-error.js';

export async function productionAt(db: Db, name: string, at: Date) {
  const model = await getModelByName(db, name);
  if (!model) throw modelNotFound(name);
  const move = await aliasMoveInForceAt(db, model.id, PRODUCTION_ALIAS, at);
  if (!move || move.toVersion === null) {
    const why = move ? `production was unset at ${move.createdAt.toISOString()} (${move.action}: ${move.reason ?? 'no reason given'})` : 'it had never been deployed';
    throw new KeelError('NOT_FOUND', `no version of ${name} was serving at ${at.toISOString()}: ${why}`);
  }
  const version = await getModelVersion(db, model.id, move.toVersion);
  if (!version) throw new Error(`deployment ${move.id} points at ${name} v${move.toVersion}, which has no row`);
  const approval = await getApprovalByRunId(db, version.runId);
  return {
    model: name,
    at: at.toISOString(),
    version: version.version,
    since: move.createdAt.toISOString(),
    how: move.action,
    deployedBy: move.actor,
    reason: move.reason,
    fromVersion: move.fromVersion,
    runId: version.runId,
    snapshotSha256: version.snapshotSha256,
    artifactSha256: version.artifactSha256,
    approval: approval
      ? {
          decision: approval.decision,
          reviewer: approval.reviewer,
          reviewerKeyId: approval.reviewerKeyId,
          comment: approval.comment,
          at: approval.createdAt.toISOString(),
        }
      : null,
  };
}
