// Deploys an approved version: production moves to it, the serving cache smoke-tests it, and a failed smoke test
// moves production back (revert) and fails for good with SMOKE_TEST_FAILED.
import type { Db } from '../db/client.js';
import { getAliasVersion, getRunDeployment, moveAlias, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { DEPLOYABLE_STATUSES, type ModelVersionStatus } from '../db/repositories/model-versions.js';
import type { ModelRow } from '../db/schema.js';
import { KeelError } from '../errors/keel-error.js';
import type { ModelCache } from '../serving/model-cache.js';
import type { DeployModelVersionInput, DeployModelVersionResult } from '../workflows/contracts/pipeline-activities.js';
import type { ProductionChange } from '../workflows/monitor-messages.js';
import { smokePrediction } from './smoke-test.js';
import { PIPELINE_ACTOR, requireVersion } from './versions.js';

export interface DeployLogger {
  warn(fields: object, message: string): void;
}

export interface DeployDeps {
  db: Db;
  /** The serving cache the smoke prediction goes through. */
  modelCache: ModelCache;
  logger: DeployLogger;
  /** Tells the model's monitor that a smoke revert moved production (the pipeline worker signals it). */
  notifyProductionChange?: (change: ProductionChange) => Promise<void>;
}

/** Idempotent per run: a retry neither moves production twice nor smoke-tests a newer version someone else deployed. */
export async function deployVersion(deps: DeployDeps, input: DeployModelVersionInput): Promise<DeployModelVersionResult> {
  const { db } = deps;
  const { model, row } = await requireVersion(db, input.model, input.version);
  // An earlier attempt already failed the smoke test and reverted: report the same outcome again.
  const reverted = await getRunDeployment(db, input.runId, 'revert');
  if (reverted) {
    await notifyRevert(deps, input, reverted.toVersion);
    throw smokeTestFailed(input, reverted.toVersion, reverted.reason ?? 'smoke test failed');
  }
  if (!DEPLOYABLE_STATUSES.includes(row.status as ModelVersionStatus)) {
    throw new KeelError('INVALID_SPEC', `version ${input.version} of "${input.model}" is ${row.status}, not approved`);
  }
  const { fromVersion } = await db.transaction((tx) =>
    moveAlias(tx, {
      modelId: model.id,
      alias: PRODUCTION_ALIAS,
      toVersion: input.version,
      action: 'deploy',
      actor: input.actor,
      reason: input.reason,
      runId: input.runId,
      statusChanges: (from) => [
        ...(from !== null && from !== input.version ? [{ version: from, status: 'retired' as const, onlyFrom: ['deployed' as const] }] : []),
        { version: input.version, status: 'deployed' },
      ],
      audit: (from) => ({
        actor: input.actor,
        actorKeyId: null,
        role: null,
        action: 'model.deploy',
        subject: `model:${input.model}`,
        before: { production: from },
        after: { production: input.version, runId: input.runId, reason: input.reason },
      }),
      notifyModel: input.model,
    }),
  );
  // A retry after another run deployed a newer version must not smoke-test (and revert) that one.
  const current = await getAliasVersion(db, model.id, PRODUCTION_ALIAS);
  if (current !== input.version) return { previousVersion: fromVersion, smoke: { prediction: null, latencyMs: 0 } };
  try {
    const smoke = await smokePrediction(db, deps.modelCache, input.model, row);
    return { previousVersion: fromVersion, smoke };
  } catch (error) {
    const problem = (error as Error).message;
    await revertDeploy(deps, input, model, fromVersion, problem);
    await notifyRevert(deps, input, fromVersion);
    throw smokeTestFailed(input, fromVersion, problem);
  }
}

/** Production goes back to `previousVersion` (or away, for a first deploy); the candidate is marked deploy_failed. */
async function revertDeploy(
  deps: DeployDeps,
  input: DeployModelVersionInput,
  model: ModelRow,
  previousVersion: number | null,
  problem: string,
): Promise<void> {
  await deps.db.transaction((tx) =>
    moveAlias(tx, {
      modelId: model.id,
      alias: PRODUCTION_ALIAS,
      toVersion: previousVersion,
      action: 'revert',
      actor: 'pipeline',
      reason: `smoke test of version ${input.version} failed: ${problem}`,
      runId: input.runId,
      statusChanges: () => [
        { version: input.version, status: 'deploy_failed' },
        ...(previousVersion !== null ? [{ version: previousVersion, status: 'deployed' as const, onlyFrom: ['retired' as const] }] : []),
      ],
      audit: () => ({
        ...PIPELINE_ACTOR,
        action: 'model.deploy_revert',
        subject: `model:${input.model}`,
        before: { production: input.version },
        after: { production: previousVersion, runId: input.runId, problem },
      }),
      notifyModel: input.model,
    }),
  );
  // NOTIFY reaches the cache too; refreshing now only makes it sooner, so a failure here is not the deploy's.
  await deps.modelCache.refresh(input.model).catch((error: unknown) => {
    deps.logger.warn({ model: input.model, err: error }, 'model cache refresh after a revert failed');
  });
}

/** The monitor follows production back (a retried deploy tells it again; the signal is idempotent). */
async function notifyRevert(deps: DeployDeps, input: DeployModelVersionInput, restoredVersion: number | null): Promise<void> {
  // Without a previous version the model never had production, so there is no monitor to correct.
  if (!deps.notifyProductionChange || restoredVersion === null) return;
  await deps.notifyProductionChange({ model: input.model, version: restoredVersion, action: 'revert', runId: input.runId, actor: 'pipeline' });
}

function smokeTestFailed(input: DeployModelVersionInput, previousVersion: number | null, problem: string): KeelError {
  const restored = previousVersion === null ? 'the model has no production version again' : `production is back on version ${previousVersion}`;
  return new KeelError(
    'SMOKE_TEST_FAILED',
    `smoke prediction with version ${input.version} of "${input.model}" failed: ${problem}; ${restored}`,
    { model: input.model, version: input.version, previousVersion, problem },
  );
}
