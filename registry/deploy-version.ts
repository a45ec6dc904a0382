// Deploys an approved version: the candidate is loaded and smoke-tested through the serving code first, then
// production moves to it by compare-and-set on the production version its evaluation compared it with. A failed
// smoke test moves nothing (SMOKE_TEST_FAILED); a production that moved since the evaluation refuses the deploy
// (PRODUCTION_MOVED). Both are permanent.
import type { Db } from '../db/client.js';
import { writeAudit } from '../db/repositories/audit.js';
import { aliasMoved, getAliasVersion, getRunDeployment, moveAlias, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import { DEPLOYABLE_STATUSES, setModelVersionStatus, type ModelVersionStatus } from '../db/repositories/model-versions.js';
import type { DeploymentRow, ModelRow, ModelVersionRow } from '../db/schema.js';
import { KeelError, isKeelError } from '../errors/keel-error.js';
import type { ModelCache } from '../serving/model-cache.js';
import type { DeployModelVersionInput, DeployModelVersionResult } from '../workflows/contracts/pipeline-activities.js';
import type { ProductionChange } from '../workflows/monitor-messages.js';
import { comparedProductionVersion } from './compared-production.js';
import { smokePrediction, type SmokeResult } from './smoke-test.js';
import { PIPELINE_ACTOR, requireVersion } from './versions.js';

export interface DeployLogger {
  warn(fields: object, message: string): void;
}

export interface DeployDeps {
  db: Db;
  /** The serving cache the candidate is loaded and smoke-tested through. */
  modelCache: ModelCache;
  logger: DeployLogger;
  /** Tells the model's monitor that a smoke revert moved production (the pipeline worker signals it). */
  notifyProductionChange?: (change: ProductionChange) => Promise<void>;
}

const NO_SMOKE: SmokeResult = { prediction: null, latencyMs: 0 };

/** Idempotent per run: a retry neither moves production twice nor smoke-tests a newer version someone else deployed. */
export async function deployVersion(deps: DeployDeps, input: DeployModelVersionInput): Promise<DeployModelVersionResult> {
  const { db } = deps;
  const { model, row } = await requireVersion(db, input.model, input.version);
  // An attempt from before smoke-before-switch failed the smoke test and reverted: report the same outcome again.
  const reverted = await getRunDeployment(db, input.runId, 'revert');
  if (reverted) {
    await notifyRevert(deps, input, reverted.toVersion);
    throw smokeTestFailed(input, reverted.toVersion, reverted.reason ?? 'smoke test failed', 'reverted');
  }
  // An earlier attempt already moved production: finish that deploy instead of starting another.
  const deployed = await getRunDeployment(db, input.runId, 'deploy');
  if (deployed) return resumeSwitchedDeploy(deps, input, model, row, deployed);

  const current = await getAliasVersion(db, model.id, PRODUCTION_ALIAS);
  if (row.status === 'deploy_failed') {
    throw smokeTestFailed(input, current, 'an earlier attempt of this run found the version does not serve', 'unchanged');
  }
  if (!DEPLOYABLE_STATUSES.includes(row.status as ModelVersionStatus)) {
    throw new KeelError('INVALID_SPEC', `version ${input.version} of "${input.model}" is ${row.status}, not approved`);
  }
  const compared = await comparedProductionVersion(db, model.id, row);
  // Checked before the smoke test too: loading a candidate that will not be deployed helps nobody.
  if (current !== compared && current !== input.version) throw productionMovedSinceEvaluation(input, compared, current);

  let smoke: SmokeResult;
  try {
    smoke = await smokePrediction(db, deps.modelCache, input.model, row);
  } catch (error) {
    const problem = (error as Error).message;
    await recordSmokeFailure(deps, input, model, current, problem);
    throw smokeTestFailed(input, current, problem, 'unchanged');
  }

  const { fromVersion } = await db.transaction((tx) =>
    moveAlias(tx, {
      modelId: model.id,
      alias: PRODUCTION_ALIAS,
      toVersion: input.version,
      // Production already on the candidate (an ops rollback to it) is no move over an uncompared version.
      expectedFromVersion: current === input.version ? input.version : compared,
      movedExplanation: movedExplanation(input, compared),
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
        after: { production: input.version, runId: input.runId, reason: input.reason, smoke },
      }),
      notifyModel: input.model,
    }),
  );
  return { previousVersion: fromVersion, smoke };
}

/**
 * Production moved to the candidate in an earlier attempt (which may have stopped before its smoke test, in a
 * worker from before smoke-before-switch): smoke-test it while it is still production, revert if that fails.
 */
async function resumeSwitchedDeploy(
  deps: DeployDeps,
  input: DeployModelVersionInput,
  model: ModelRow,
  row: ModelVersionRow,
  deployed: DeploymentRow,
): Promise<DeployModelVersionResult> {
  const current = await getAliasVersion(deps.db, model.id, PRODUCTION_ALIAS);
  // A newer version (or a rollback) replaced it since: that one is not this run's to smoke-test or revert.
  if (current !== input.version) return { previousVersion: deployed.fromVersion, smoke: NO_SMOKE };
  try {
    return { previousVersion: deployed.fromVersion, smoke: await smokePrediction(deps.db, deps.modelCache, input.model, row) };
  } catch (error) {
    const problem = (error as Error).message;
    const { reverted, production } = await revertDeploy(deps, input, model, deployed.fromVersion, problem);
    if (reverted) await notifyRevert(deps, input, production);
    throw smokeTestFailed(input, production, problem, reverted ? 'reverted' : 'moved_on');
  }
}

/** The candidate never served: it is marked deploy_failed, with an audit row saying why; production is untouched. */
async function recordSmokeFailure(
  deps: DeployDeps,
  input: DeployModelVersionInput,
  model: ModelRow,
  production: number | null,
  problem: string,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    // Only an approved candidate: one ops already rolled production onto keeps its status.
    const changed = await setModelVersionStatus(tx, model.id, input.version, 'deploy_failed', ['approved']);
    if (!changed) return;
    await writeAudit(tx, {
      ...PIPELINE_ACTOR,
      action: 'model.deploy_smoke_failed',
      subject: `model:${input.model}`,
      before: { production },
      after: { production, version: input.version, runId: input.runId, problem },
    });
  });
}

/**
 * Production goes back to `previousVersion` (or away, for a first deploy) only while it is still the candidate;
 * the candidate is marked deploy_failed. Says whether it reverted and the version production is on afterwards.
 */
async function revertDeploy(
  deps: DeployDeps,
  input: DeployModelVersionInput,
  model: ModelRow,
  previousVersion: number | null,
  problem: string,
): Promise<{ reverted: boolean; production: number | null }> {
  try {
    await deps.db.transaction((tx) =>
      moveAlias(tx, {
        modelId: model.id,
        alias: PRODUCTION_ALIAS,
        toVersion: previousVersion,
        expectedFromVersion: input.version,
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
  } catch (error) {
    // Someone moved production off the candidate meanwhile: that move stands; only the candidate's status changes.
    if (!isKeelError(error) || error.code !== 'PRODUCTION_MOVED') throw error;
    await setModelVersionStatus(deps.db, model.id, input.version, 'deploy_failed');
    return { reverted: false, production: await getAliasVersion(deps.db, model.id, PRODUCTION_ALIAS) };
  }
  // NOTIFY reaches the cache too; refreshing now only makes it sooner, so a failure here is not the deploy's.
  await deps.modelCache.refresh(input.model).catch((error: unknown) => {
    deps.logger.warn({ model: input.model, err: error }, 'model cache refresh after a revert failed');
  });
  return { reverted: true, production: previousVersion };
}

/** The monitor follows production back (a retried deploy tells it again; the signal is idempotent). */
async function notifyRevert(deps: DeployDeps, input: DeployModelVersionInput, restoredVersion: number | null): Promise<void> {
  // Without a previous version the model never had production, so there is no monitor to correct.
  if (!deps.notifyProductionChange || restoredVersion === null) return;
  await deps.notifyProductionChange({ model: input.model, version: restoredVersion, action: 'revert', runId: input.runId, actor: 'pipeline' });
}

const versionName = (version: number | null) => (version === null ? 'no production version' : `v${version}`);

/** "production moved from v1 to v3" + this: why the deploy is refused and what to do instead. */
function movedExplanation(input: DeployModelVersionInput, compared: number | null) {
  return (actual: number | null) =>
    ` since this run was evaluated; version ${input.version} of "${input.model}" was compared with ${versionName(compared)}, ` +
    `never with ${versionName(actual)}, so it is not deployed: start a new run to evaluate a candidate against the current production`;
}

function productionMovedSinceEvaluation(input: DeployModelVersionInput, compared: number | null, current: number | null): KeelError {
  return aliasMoved({ alias: PRODUCTION_ALIAS, toVersion: input.version, movedExplanation: movedExplanation(input, compared) }, compared, current);
}

function smokeTestFailed(
  input: DeployModelVersionInput,
  productionVersion: number | null,
  problem: string,
  /** unchanged: it never moved; reverted: it moved back; moved_on: someone else moved it meanwhile, and it stays. */
  production: 'unchanged' | 'reverted' | 'moved_on',
): KeelError {
  const where = productionVersion === null ? 'the model has no production version' : `production is on version ${productionVersion}`;
  const outcome = {
    unchanged: `nothing switched: ${where}`,
    reverted: productionVersion === null ? 'the model has no production version again' : `production is back on version ${productionVersion}`,
    moved_on: `production had moved on meanwhile and was not reverted: ${where}`,
  }[production];
  return new KeelError(
    'SMOKE_TEST_FAILED',
    `smoke prediction with version ${input.version} of "${input.model}" failed: ${problem}; ${outcome}`,
    { model: input.model, version: input.version, previousVersion: productionVersion, problem },
  );
}
