// Registry activities: register a version, record the review, deploy with a smoke prediction, record run progress.
import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/common';
import { writeAudit } from '../db/repositories/audit.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Db } from '../db/client.js';
import { recordApproval } from '../db/repositories/approvals.js';
import { getEvaluationReport } from '../db/repositories/evaluation-reports.js';
import { getAliasVersion, getRunDeployment, moveAlias, notifyModelChanged, PRODUCTION_ALIAS } from '../db/repositories/model-aliases.js';
import {
  DEPLOYABLE_STATUSES,
  getModelVersion,
  registerModelVersion as insertModelVersion,
  setModelVersionStatus,
  type ModelVersionStatus,
} from '../db/repositories/model-versions.js';
import { getModelByName, getOrCreateModel, updateModelFeatureSchema } from '../db/repositories/models.js';
import { RegistryError } from '../db/repositories/registry-errors.js';
import { updateRunProgress } from '../db/repositories/runs.js';
import type { ModelRow, ModelVersionRow } from '../db/schema.js';
import type { RawRow } from '../ml/model.js';
import type { OnnxFeatureSchema } from '../ml/onnx/index.js';
import { createModelCache, type ModelCache } from '../serving/model-cache.js';
import { predictWithModel, type PredictResponse } from '../serving/predict.js';
import {
  FAILURE_TYPES,
  type DeployModelVersionInput,
  type DeployModelVersionResult,
  type PipelineActivities,
  type RecordReviewDecisionInput,
  type RecordRunProgressInput,
  type RegisterModelVersionInput,
  type RegisterModelVersionResult,
  type ProductionChange,
  type ReviewResult,
} from '../workflows/definitions.js';
import type pg from 'pg';
import { keepHeartbeating } from './evaluation/activity-heartbeat.js';
import { recordMonitoringReference } from '../monitoring/record-reference.js';

export interface RegistryActivityDeps {
  db: Db;
  pool: pg.Pool;
  artifacts: ArtifactStore;
  /** The serving cache the smoke prediction goes through; default: an unwatched cache that reads the alias per call. */
  modelCache?: ModelCache;
  clock?: () => Date;
  /** Tells the model's monitor that a smoke revert moved production (the pipeline worker signals it). */
  notifyProductionChange?: (change: ProductionChange) => Promise<void>;
}

const PIPELINE_ACTOR = { actor: 'pipeline', actorKeyId: null, role: null } as const;

const STATUS_BY_DECISION: Record<ReviewResult['decision'], ModelVersionStatus> = {
  approve: 'approved',
  auto_approve: 'approved',
  reject: 'rejected',
  auto_reject: 'rejected',
  expire: 'expired',
};

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function permanent(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? undefined : [details] });
}

/** A row of typical values when the evaluation kept no holdout row: 0 for numbers, the first known category. */
function typicalRow(features: readonly OnnxFeatureSchema[]): RawRow {
  const row: RawRow = {};
  for (const feature of features) row[feature.name] = feature.kind === 'numeric' ? 0 : (feature.categories[0] ?? null);
  return row;
}

function checkSmokePrediction(response: PredictResponse): void {
  const [prediction] = response.predictions;
  if (!prediction) throw new Error('the model returned no prediction');
  if ('probability' in prediction) {
    if (!(prediction.probability >= 0 && prediction.probability <= 1)) {
      throw new Error(`probability ${prediction.probability} is not in [0, 1]`);
    }
  } else if (!Number.isFinite(prediction.value)) {
    throw new Error(`prediction ${prediction.value} is not a finite number`);
  }
}

export function createRegistryActivities(deps: RegistryActivityDeps) {
  const { db } = deps;
  const clock = deps.clock ?? (() => new Date());
  const modelCache = deps.modelCache ?? createModelCache({ db, pool: deps.pool, artifacts: deps.artifacts });

  async function requireVersion(modelName: string, version: number): Promise<{ model: ModelRow; row: ModelVersionRow }> {
    const model = await getModelByName(db, modelName);
    const row = model ? await getModelVersion(db, model.id, version) : undefined;
    if (!model || !row) throw permanent(FAILURE_TYPES.invalidSpec, `model "${modelName}" has no version ${version}`);
    return { model, row };
  }

  async function smokeRowFor(row: ModelVersionRow, features: readonly OnnxFeatureSchema[]): Promise<RawRow> {
    const report = row.evaluationReportId ? await getEvaluationReport(db, row.evaluationReportId) : undefined;
    const smokeRow = (report?.report as { smokeRow?: RawRow | null } | undefined)?.smokeRow;
    return smokeRow ?? typicalRow(features);
  }

  /** Loads production through the serving cache and predicts one row; throws what went wrong. */
  async function smokePrediction(modelName: string, row: ModelVersionRow): Promise<{ prediction: unknown; latencyMs: number }> {
    await modelCache.refresh(modelName);
    return modelCache.withProduction(modelName, async (loaded) => {
      if (loaded.version !== row.version) throw new Error(`serving loaded version ${loaded.version}, expected ${row.version}`);
      const input = await smokeRowFor(row, loaded.features);
      const started = performance.now();
      const response = await predictWithModel(loaded, [input]);
      const latencyMs = performance.now() - started;
      checkSmokePrediction(response);
      return { prediction: response.predictions[0], latencyMs };
    });
  }

  async function revertDeploy(input: DeployModelVersionInput, model: ModelRow, previousVersion: number | null, problem: string) {
    await db.transaction(async (tx) => {
      const { moved } = await moveAlias(tx, {
        modelId: model.id,
        alias: PRODUCTION_ALIAS,
        toVersion: previousVersion,
        action: 'revert',
        actor: 'pipeline',
        reason: `smoke test of version ${input.version} failed: ${problem}`,
        runId: input.runId,
      });
      if (!moved) return;
      await setModelVersionStatus(tx, model.id, input.version, 'deploy_failed');
      if (previousVersion !== null) await setModelVersionStatus(tx, model.id, previousVersion, 'deployed', ['retired']);
      await writeAudit(tx, {
        ...PIPELINE_ACTOR,
        action: 'model.deploy_revert',
        subject: `model:${input.model}`,
        before: { production: input.version },
        after: { production: previousVersion, runId: input.runId, problem },
      });
      await notifyModelChanged(tx, input.model);
    });
    await modelCache.refresh(input.model).catch(() => undefined);
  }

  /** The monitor follows production back (a retried deploy tells it again; the signal is idempotent). */
  async function notifyRevert(input: DeployModelVersionInput, restoredVersion: number | null): Promise<void> {
    // Without a previous version the model never had production, so there is no monitor to correct.
    if (!deps.notifyProductionChange || restoredVersion === null) return;
    await deps.notifyProductionChange({ model: input.model, version: restoredVersion, action: 'revert', runId: input.runId, actor: 'pipeline' });
  }

  function smokeFailure(input: DeployModelVersionInput, previousVersion: number | null, problem: string): ApplicationFailure {
    const restored = previousVersion === null ? 'the model has no production version again' : `production is back on version ${previousVersion}`;
    return permanent(
      FAILURE_TYPES.smokeTestFailed,
      `smoke prediction with version ${input.version} of "${input.model}" failed: ${problem}; ${restored}`,
      { model: input.model, version: input.version, previousVersion, problem },
    );
  }

  const activities = {
    async registerModelVersion(input: RegisterModelVersionInput): Promise<RegisterModelVersionResult> {
      let model: ModelRow;
      try {
        model = await getOrCreateModel(db, {
          name: input.model,
          task: input.task,
          target: input.target,
          featureSchema: input.training.featureSchema,
        });
      } catch (error) {
        if (error instanceof RegistryError) throw permanent(FAILURE_TYPES.invalidSpec, error.message, error.details);
        throw error;
      }
      const { version } = await insertModelVersion(
        db,
        {
          modelId: model.id,
          runId: input.runId,
          artifactUri: input.training.artifactUri,
          artifactSha256: input.training.artifactSha256,
          trainer: input.training.trainer,
          metrics: input.evaluation.candidateMetrics,
          params: {
            ...input.training.params,
            bestIteration: input.training.bestIteration,
            trainRows: input.training.trainRows,
            validRows: input.training.validRows,
            holdoutRows: input.training.holdoutRows,
            modelJsonSha256: input.training.modelJsonSha256,
          },
          featureSchema: input.training.featureSchema,
          snapshotSha256: input.snapshotSha256,
          parentVersion: input.evaluation.champion?.version ?? null,
          evaluationReportId: input.evaluation.reportId || null,
        },
        async (tx, created) => {
          await updateModelFeatureSchema(tx, model.id, input.training.featureSchema);
          await writeAudit(tx, {
            ...PIPELINE_ACTOR,
            action: 'model_version.register',
            subject: `model:${input.model}`,
            after: { version: created.version, runId: input.runId, artifactSha256: created.artifactSha256 },
          });
        },
      );
      const stopHeartbeats = keepHeartbeating(`drift reference of version ${version.version} of ${input.model}`);
      try {
        await recordMonitoringReference(deps, {
          modelVersionId: version.id,
          modelId: model.id,
          version: version.version,
          snapshotSha256: input.snapshotSha256,
          featureSchema: input.training.featureSchema,
          modelJsonSha256: input.training.modelJsonSha256,
        });
      } finally {
        stopHeartbeats();
      }
      return { modelVersionId: version.id, version: version.version };
    },

    async recordReviewDecision(input: RecordReviewDecisionInput): Promise<void> {
      const { model, row } = await requireVersion(input.model, input.version);
      const { result } = input;
      await db.transaction(async (tx) => {
        const { created } = await recordApproval(tx, {
          runId: input.runId,
          modelVersionId: row.id,
          decision: result.decision,
          reviewer: result.reviewer,
          reviewerKeyId: input.reviewerKeyId && UUID_PATTERN.test(input.reviewerKeyId) ? input.reviewerKeyId : null,
          comment: result.comment ?? null,
          decidedAt: new Date(result.decidedAt),
        });
        if (!created) return;
        const status = STATUS_BY_DECISION[result.decision];
        await setModelVersionStatus(tx, model.id, input.version, status, ['pending_approval']);
        const human = result.decision === 'approve' || result.decision === 'reject';
        await writeAudit(tx, {
          actor: result.reviewer,
          actorKeyId: human && input.reviewerKeyId && UUID_PATTERN.test(input.reviewerKeyId) ? input.reviewerKeyId : null,
          role: human ? 'reviewer' : null,
          action: `run.${result.decision}`,
          subject: `run:${input.runId}`,
          before: { status: row.status },
          after: { status, model: input.model, version: input.version, comment: result.comment ?? null },
        });
      });
    },

    async deployModelVersion(input: DeployModelVersionInput): Promise<DeployModelVersionResult> {
      const stopHeartbeats = keepHeartbeating(`deploying version ${input.version} of ${input.model}`);
      try {
        return await deploy(input);
      } finally {
        stopHeartbeats();
      }
    },

    async recordRunProgress(input: RecordRunProgressInput): Promise<void> {
      await updateRunProgress(db, input, clock());
    },
  } satisfies Pick<PipelineActivities, 'registerModelVersion' | 'recordReviewDecision' | 'deployModelVersion' | 'recordRunProgress'>;
  return activities;

  async function deploy(input: DeployModelVersionInput): Promise<DeployModelVersionResult> {
    const { model, row } = await requireVersion(input.model, input.version);
    // An earlier attempt already failed the smoke test and reverted: report the same outcome again.
    const reverted = await getRunDeployment(db, input.runId, 'revert');
    if (reverted) {
      await notifyRevert(input, reverted.toVersion);
      throw smokeFailure(input, reverted.toVersion, reverted.reason ?? 'smoke test failed');
    }
    if (!DEPLOYABLE_STATUSES.includes(row.status as ModelVersionStatus)) {
      throw permanent(FAILURE_TYPES.invalidSpec, `version ${input.version} of "${input.model}" is ${row.status}, not approved`);
    }
    const { fromVersion } = await db.transaction(async (tx) => {
      const move = await moveAlias(tx, {
        modelId: model.id,
        alias: PRODUCTION_ALIAS,
        toVersion: input.version,
        action: 'deploy',
        actor: input.actor,
        reason: input.reason,
        runId: input.runId,
      });
      if (!move.moved) return move;
      if (move.fromVersion !== null && move.fromVersion !== input.version) {
        await setModelVersionStatus(tx, model.id, move.fromVersion, 'retired', ['deployed']);
      }
      await setModelVersionStatus(tx, model.id, input.version, 'deployed');
      await writeAudit(tx, {
        actor: input.actor,
        actorKeyId: null,
        role: null,
        action: 'model.deploy',
        subject: `model:${input.model}`,
        before: { production: move.fromVersion },
        after: { production: input.version, runId: input.runId, reason: input.reason },
      });
      await notifyModelChanged(tx, input.model);
      return move;
    });
    // A retry after another run deployed a newer version must not smoke-test (and revert) that one.
    const current = await getAliasVersion(db, model.id, PRODUCTION_ALIAS);
    if (current !== input.version) return { previousVersion: fromVersion, smoke: { prediction: null, latencyMs: 0 } };
    try {
      const smoke = await smokePrediction(input.model, row);
      return { previousVersion: fromVersion, smoke };
    } catch (error) {
      const problem = (error as Error).message;
      await revertDeploy(input, model, fromVersion, problem);
      await notifyRevert(input, fromVersion);
      throw smokeFailure(input, fromVersion, problem);
    }
  }
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
