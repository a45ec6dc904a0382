// Aliases (`production`) and their append-only history in `deployments`: deploys, rollbacks, reverts.
import { and, asc, desc, eq, lte, sql } from 'drizzle-orm';
import { deployments, modelAliases, type DeploymentAction, type DeploymentRow, type ModelAliasRow } from '../schema.js';
import type { DbOrTx } from '../client.js';
import { writeAudit, type AuditEntry } from './audit.js';
import { setModelVersionStatus, type ModelVersionStatus } from './model-versions.js';
import { RegistryError } from './registry-errors.js';
import { writeForRun } from './run-ownership.js';

export const PRODUCTION_ALIAS = 'production';
/** Postgres NOTIFY channel; the payload is the model name. Serving processes LISTEN on it. */
export const MODEL_CHANGED_CHANNEL = 'keel_model_changed';

export type { DeploymentAction } from '../schema.js';

export async function getAliasVersion(db: DbOrTx, modelId: string, alias: string): Promise<number | null> {
  const [row] = await db
    .select({ version: modelAliases.version })
    .from(modelAliases)
    .where(and(eq(modelAliases.modelId, modelId), eq(modelAliases.alias, alias)))
    .limit(1);
  return row?.version ?? null;
}

export async function listAliases(db: DbOrTx, modelId: string): Promise<ModelAliasRow[]> {
  return db.select().from(modelAliases).where(eq(modelAliases.modelId, modelId)).orderBy(asc(modelAliases.alias));
}

/** The version the alias pointed at, per its history, at `at` (null: unset then). */
export async function getAliasVersionAt(db: DbOrTx, modelId: string, alias: string, at: Date): Promise<number | null> {
  const [row] = await db
    .select({ version: deployments.toVersion })
    .from(deployments)
    .where(and(eq(deployments.modelId, modelId), eq(deployments.alias, alias), lte(deployments.createdAt, at)))
    .orderBy(desc(deployments.createdAt), desc(deployments.id))
    .limit(1);
  return row?.version ?? null;
}

/** Newest first. */
export async function listDeployments(db: DbOrTx, modelId: string): Promise<DeploymentRow[]> {
  return db
    .select()
    .from(deployments)
    .where(eq(deployments.modelId, modelId))
    .orderBy(desc(deployments.createdAt), desc(deployments.id));
}

export async function getRunDeployment(
  db: DbOrTx,
  runId: string,
  action: DeploymentAction,
): Promise<DeploymentRow | undefined> {
  const [row] = await db
    .select()
    .from(deployments)
    .where(and(eq(deployments.runId, runId), eq(deployments.action, action)))
    .limit(1);
  return row;
}

export interface VersionStatusChange {
  version: number;
  status: ModelVersionStatus;
  /** Change it only from one of these statuses. */
  onlyFrom?: readonly ModelVersionStatus[];
}

export interface AliasMove {
  modelId: string;
  alias: string;
  /** Null removes the alias (a revert of a model's first deploy). */
  toVersion: number | null;
  action: DeploymentAction;
  actor: string;
  reason: string | null;
  /** A run's move happens once per action: a retry finds the earlier history row and changes nothing. */
  runId: string | null;
  /**
   * Compare-and-set: move only if the alias points at this version now (null: it is unset), else throw
   * PRODUCTION_MOVED and change nothing. Undefined moves whatever the alias points at.
   */
  expectedFromVersion?: number | null;
  /** What the PRODUCTION_MOVED message says after "<alias> moved from vX to vY" (why that matters, what to do). */
  movedExplanation?: (actual: number | null) => string;
  /** When the alias moved: the version statuses that change with it, given the version it moved from. */
  statusChanges?: (fromVersion: number | null) => VersionStatusChange[];
  /** When the alias moved: the audit row, written in the same transaction. */
  audit?: (fromVersion: number | null) => AuditEntry;
  /** When the alias moved: tells serving processes this model changed (delivered on commit). */
  notifyModel?: string;
}

/**
 * The one alias move: points the alias at `toVersion`, appends the history row and, when it moved, applies the
 * move's status changes, audit row and NOTIFY. Deploy, revert and rollback all go through it. Call inside a
 * transaction: the model row is locked so two moves of one model's aliases serialise.
 */
export async function moveAlias(
  tx: DbOrTx,
  move: AliasMove,
): Promise<{ moved: boolean; fromVersion: number | null; deployment: DeploymentRow }> {
  await tx.execute(sql`SELECT id FROM models WHERE id = ${move.modelId} FOR UPDATE`);
  if (move.runId !== null) {
    const earlier = await getRunDeployment(tx, move.runId, move.action);
    if (earlier) return { moved: false, fromVersion: earlier.fromVersion, deployment: earlier };
  }
  const fromVersion = await getAliasVersion(tx, move.modelId, move.alias);
  if (move.expectedFromVersion !== undefined && fromVersion !== move.expectedFromVersion) {
    throw aliasMoved(move, move.expectedFromVersion, fromVersion);
  }
  if (move.toVersion === null) {
    await tx.delete(modelAliases).where(and(eq(modelAliases.modelId, move.modelId), eq(modelAliases.alias, move.alias)));
  } else {
    await tx
      .insert(modelAliases)
      .values({ modelId: move.modelId, alias: move.alias, version: move.toVersion, updatedAt: new Date() })
      .onConflictDoUpdate({
        target: [modelAliases.modelId, modelAliases.alias],
        set: { version: move.toVersion, updatedAt: new Date() },
      });
  }
  const insertHistoryRow = () =>
    tx
      .insert(deployments)
      .values({
        modelId: move.modelId,
        alias: move.alias,
        fromVersion,
        toVersion: move.toVersion,
        action: move.action,
        reason: move.reason,
        actor: move.actor,
        runId: move.runId,
      })
      .returning();
  const [deployment] = await (move.runId !== null ? writeForRun(move.runId, insertHistoryRow) : insertHistoryRow());
  for (const change of move.statusChanges?.(fromVersion) ?? []) {
    await setModelVersionStatus(tx, move.modelId, change.version, change.status, change.onlyFrom);
  }
  if (move.audit) await writeAudit(tx, move.audit(fromVersion));
  if (move.notifyModel !== undefined) await notifyModelChanged(tx, move.notifyModel);
  return { moved: true, fromVersion, deployment: deployment! };
}

const describeVersion = (version: number | null) => (version === null ? 'no version' : `v${version}`);

/** The compare-and-set refusal: the alias is not where the caller last saw it. */
export function aliasMoved(
  move: Pick<AliasMove, 'alias' | 'toVersion' | 'movedExplanation'>,
  expected: number | null,
  actual: number | null,
): RegistryError {
  const explanation = move.movedExplanation?.(actual) ?? `; refusing to move it to ${describeVersion(move.toVersion)}`;
  return new RegistryError(
    'PRODUCTION_MOVED',
    `${move.alias} moved from ${describeVersion(expected)} to ${describeVersion(actual)}${explanation}`,
    { alias: move.alias, expectedVersion: expected, actualVersion: actual, toVersion: move.toVersion },
  );
}

/** Tells serving processes the model's aliases changed; inside a transaction it is delivered on commit. */
export async function notifyModelChanged(db: DbOrTx, modelName: string): Promise<void> {
  await db.execute(sql`SELECT pg_notify(${MODEL_CHANGED_CHANNEL}, ${modelName})`);
}
