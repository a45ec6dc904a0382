// Use cases behind /v1/models: list, detail with versions/aliases/history/lineage, rollback, predict.
import type { Db } from '../../db/client.js';
import { getEvaluationReport } from '../../db/repositories/evaluation-reports.js';
import { getAliasVersion, listAliases, listDeployments, PRODUCTION_ALIAS } from '../../db/repositories/model-aliases.js';
import { listModelVersions } from '../../db/repositories/model-versions.js';
import { getModelByName, listModels } from '../../db/repositories/models.js';
import { latestMonitoringReport } from '../../db/repositories/monitoring-reports.js';
import { monitoringReportSummaryView } from '../../monitoring/report-views.js';
import { RegistryError, type RegistryErrorCode } from '../../db/repositories/registry-errors.js';
import { rollbackModel, type AuditActor } from '../../db/repositories/rollback.js';
import type { ModelRow } from '../../db/schema.js';
import { ModelLoadError, ModelNotServingError, PredictionInputError } from '../../serving/errors.js';
import type { PredictionCaller, PredictResponse } from '../../serving/predict.js';
import type { EvaluationReport } from '../../activities/evaluate-activities.js';
import { ApiError } from '../errors.js';
import type { ServingProvider } from './serving-provider.js';

const STATUS_BY_REGISTRY_CODE: Record<RegistryErrorCode, number> = {
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  ALREADY_IN_PRODUCTION: 409,
  VERSION_NOT_DEPLOYABLE: 422,
  MODEL_TASK_MISMATCH: 422,
};

function toApiError(error: unknown): unknown {
  if (error instanceof RegistryError) return new ApiError(STATUS_BY_REGISTRY_CODE[error.code], error.code, error.message, error.details);
  if (error instanceof ModelNotServingError) {
    return new ApiError(404, error.reason === 'unknown_model' ? 'MODEL_NOT_FOUND' : 'NO_PRODUCTION_VERSION', error.message, { model: error.model });
  }
  if (error instanceof PredictionInputError) {
    return new ApiError(400, 'INVALID_ROW', error.message, { row: error.rowIndex, field: error.field });
  }
  return error;
}

async function requireModel(db: Db, name: string): Promise<ModelRow> {
  const model = await getModelByName(db, name);
  if (!model) throw new ApiError(404, 'MODEL_NOT_FOUND', `model "${name}" does not exist`, { model: name });
  return model;
}

export async function listModelSummaries(db: Db) {
  const rows = await listModels(db);
  return Promise.all(
    rows.map(async (model) => {
      const versions = await listModelVersions(db, model.id);
      return {
        name: model.name,
        task: model.task,
        target: model.target,
        productionVersion: await getAliasVersion(db, model.id, PRODUCTION_ALIAS),
        latestVersion: versions.at(-1)?.version ?? null,
        versionCount: versions.length,
        createdAt: model.createdAt.toISOString(),
      };
    }),
  );
}

function evaluationSummary(id: string, report: EvaluationReport, gatesPassed: boolean) {
  return {
    id,
    gatesPassed,
    candidateMetrics: report.candidate?.metrics ?? {},
    champion: report.champion ? { version: report.champion.version, metrics: report.champion.metrics } : null,
    championSkipped: report.championSkipped ?? null,
    deltas: report.deltas ?? {},
    failedGates: report.failedGates ?? [],
    gates: report.gates?.checks ?? [],
    parity: report.parity ?? null,
    challengerNoWorse: report.challengerNoWorse ?? null,
    holdoutRows: report.holdoutRows ?? null,
  };
}

export async function getModelDetail(db: Db, name: string) {
  const model = await requireModel(db, name);
  const [versions, aliases, history, latestReport] = await Promise.all([
    listModelVersions(db, model.id),
    listAliases(db, model.id),
    listDeployments(db, model.id),
    latestMonitoringReport(db, model.id),
  ]);
  const versionViews = await Promise.all(
    versions.map(async (version) => {
      const report = version.evaluationReportId ? await getEvaluationReport(db, version.evaluationReportId) : undefined;
      return {
        version: version.version,
        status: version.status,
        trainer: version.trainer,
        artifactSha256: version.artifactSha256,
        metrics: version.metrics as Record<string, unknown>,
        params: version.params as Record<string, unknown>,
        createdAt: version.createdAt.toISOString(),
        lineage: {
          runId: version.runId,
          snapshotSha256: version.snapshotSha256,
          parentVersion: version.parentVersion,
          evaluationReportId: version.evaluationReportId,
        },
        evaluation: report ? evaluationSummary(report.id, report.report as EvaluationReport, report.gatesPassed) : null,
      };
    }),
  );
  return {
    name: model.name,
    task: model.task,
    target: model.target,
    featureSchema: model.featureSchema,
    createdAt: model.createdAt.toISOString(),
    aliases: aliases.map((alias) => ({ alias: alias.alias, version: alias.version, updatedAt: alias.updatedAt.toISOString() })),
    versions: versionViews,
    history: history.map((row) => ({
      alias: row.alias,
      action: row.action,
      fromVersion: row.fromVersion,
      toVersion: row.toVersion,
      actor: row.actor,
      reason: row.reason,
      runId: row.runId,
      at: row.createdAt.toISOString(),
    })),
    monitoring: { latestReport: latestReport ? monitoringReportSummaryView(latestReport) : null },
  };
}

export interface RollbackCommand {
  model: string;
  version: number;
  reason: string;
  actor: AuditActor;
}

/** Checks the version still loads (sha256 and onnxruntime) before production points at it, then moves the alias. */
export async function rollbackProduction(db: Db, serving: ServingProvider, command: RollbackCommand) {
  await requireModel(db, command.model);
  const { cache } = await serving.get();
  try {
    await cache.withVersion(command.model, command.version, async () => undefined);
  } catch (error) {
    if (error instanceof ModelLoadError) {
      throw new ApiError(422, 'VERSION_NOT_LOADABLE', error.message, { model: command.model, version: command.version });
    }
    if (!(error instanceof ModelNotServingError)) throw error;
    // An unknown version is reported by rollbackModel below with the registry's wording.
  }
  try {
    const result = await rollbackModel(db, command);
    // This process serves the rolled-back version at once; others hear the NOTIFY.
    await cache.refresh(command.model).catch(() => undefined);
    return {
      model: result.model,
      alias: result.alias,
      version: result.version,
      previousVersion: result.previousVersion,
      at: result.deployment.createdAt.toISOString(),
    };
  } catch (error) {
    throw toApiError(error);
  }
}

export async function predict(
  serving: ServingProvider,
  model: string,
  rows: readonly unknown[],
  caller?: PredictionCaller,
): Promise<PredictResponse> {
  const { predictor } = await serving.get();
  try {
    return await predictor.predict(model, rows, caller);
  } catch (error) {
    if (error instanceof ModelLoadError) {
      throw new ApiError(503, 'MODEL_UNAVAILABLE', error.message, { model: error.model, version: error.version });
    }
    throw toApiError(error);
  }
}
