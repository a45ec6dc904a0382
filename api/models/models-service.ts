// Use cases behind /v1/models: list, detail with versions/aliases/history/lineage, rollback, predict.
import { rawRowsRefusal, type ServingRecipe } from '../../workflows/contracts/serving-recipe.js';
import type { Db } from '../../db/client.js';
import { listEvaluationReportsByIds } from '../../db/repositories/evaluation-reports.js';
import { getAliasVersion, listAliases, listDeployments, PRODUCTION_ALIAS } from '../../db/repositories/model-aliases.js';
import { getModelVersion, listModelVersions } from '../../db/repositories/model-versions.js';
import { getModelByName, listModelOverviews } from '../../db/repositories/models.js';
import { modelNotFound } from '../../db/repositories/registry-errors.js';
import { latestMonitoringReport } from '../../db/repositories/monitoring-reports.js';
import { monitoringReportSummaryView } from '../../monitoring/report-views.js';
import { rollbackModel, type AuditActor } from '../../db/repositories/rollback.js';
import type { ModelRow } from '../../db/schema.js';
import { ModelLoadError, ModelNotServingError } from '../../serving/errors.js';
import type { FeatureRowsInput, PredictionCaller, PredictResponse } from '../../serving/predict.js';
import type { EvaluationReport } from '../../evaluation/evaluation-report.js';
import { KeelError } from '../../errors/keel-error.js';
import type { ServingProvider } from './serving-provider.js';

async function requireModel(db: Db, name: string): Promise<ModelRow> {
  const model = await getModelByName(db, name);
  if (!model) throw modelNotFound(name);
  return model;
}

export async function listModelSummaries(db: Db) {
  const overviews = await listModelOverviews(db, PRODUCTION_ALIAS);
  return overviews.map(({ model, aliasVersion, latestVersion, versionCount }) => ({
    name: model.name,
    task: model.task,
    target: model.target,
    productionVersion: aliasVersion,
    latestVersion,
    versionCount,
    createdAt: model.createdAt.toISOString(),
  }));
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
  const reportIds = versions.flatMap((version) => (version.evaluationReportId ? [version.evaluationReportId] : []));
  const reports = new Map((await listEvaluationReportsByIds(db, reportIds)).map((report) => [report.id, report]));
  const versionViews = versions.map((version) => {
      const report = version.evaluationReportId ? reports.get(version.evaluationReportId) : undefined;
      return {
        version: version.version,
        status: version.status,
        trainer: version.trainer,
        artifactSha256: version.artifactSha256,
        metrics: version.metrics as Record<string, unknown>,
        params: version.params as Record<string, unknown>,
        createdAt: version.createdAt.toISOString(),
        input: servingInputOf(version.servingRecipe as ServingRecipe | null),
        lineage: {
          runId: version.runId,
          snapshotSha256: version.snapshotSha256,
          parentVersion: version.parentVersion,
          evaluationReportId: version.evaluationReportId,
        },
        evaluation: report ? evaluationSummary(report.id, report.report as EvaluationReport, report.gatesPassed) : null,
      };
    });
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

/**
 * What a client needs to call predict, and nothing else (readable with a predict key): the production version, whether
 * it takes raw source rows, their columns and DuckDB types, and the feature names and kinds. No URLs, SQL, profiles or
 * category values.
 */
export async function getModelInput(db: Db, name: string) {
  const model = await requireModel(db, name);
  const version = await getAliasVersion(db, model.id, PRODUCTION_ALIAS);
  const row = version === null ? undefined : await getModelVersion(db, model.id, version);
  const schema = Array.isArray(model.featureSchema) ? (model.featureSchema as { name?: unknown; kind?: unknown }[]) : [];
  return {
    model: model.name,
    task: model.task,
    version,
    input: row ? servingInputOf(row.servingRecipe as ServingRecipe | null) : null,
    features: schema.flatMap((feature) =>
      typeof feature.name === 'string' ? [{ name: feature.name, kind: typeof feature.kind === 'string' ? feature.kind : 'numeric' }] : [],
    ),
  };
}

export interface RollbackCommand {
  model: string;
  version: number;
  reason: string;
  actor: AuditActor;
  /** Compare-and-set: only if production is this version now. */
  expectedProduction?: number | null;
}

/** Checks the version still loads (sha256 and onnxruntime) before production points at it, then moves the alias. */
export async function rollbackProduction(db: Db, serving: ServingProvider, command: RollbackCommand) {
  await requireModel(db, command.model);
  const { cache } = await serving.get();
  try {
    await cache.withVersion(command.model, command.version, async () => undefined);
  } catch (error) {
    // A rollback target that does not load is refused (422), not an outage (503 when serving it).
    if (error instanceof ModelLoadError) {
      throw new KeelError('VERSION_NOT_LOADABLE', error.message, { model: command.model, version: command.version }, { cause: error });
    }
    if (!(error instanceof ModelNotServingError)) throw error;
    // An unknown version is reported by rollbackModel below with the registry's wording.
  }
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
}

/** `features`: ready feature rows; `rows`: raw source rows that go through the version's serving recipe. */
export async function predict(
  serving: ServingProvider,
  model: string,
  body: { rows: readonly unknown[] } | { features: FeatureRowsInput },
  caller?: PredictionCaller,
): Promise<PredictResponse> {
  const { predictor } = await serving.get();
  return 'features' in body
    ? predictor.predict(model, body.features, caller)
    : predictor.predictSourceRows(model, body.rows, caller);
}

/** What a client needs to send raw rows (the CLI converts CSV fields by these types). */
function servingInputOf(recipe: ServingRecipe | null): { rawRows: boolean; sourceColumns: { name: string; type: string }[] } | null {
  if (!recipe || !Array.isArray(recipe.source)) return null;
  return { rawRows: rawRowsRefusal(recipe) === null, sourceColumns: recipe.source.map(({ name, type }) => ({ name, type })) };
}
