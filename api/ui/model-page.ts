// What the model page shows: GET /v1/models/:name's detail (versions, aliases, their history, the latest monitoring
// report), with numbers formatted for reading.
import type { getModelDetail } from '../models/models-service.js';
import { formatNumber } from './run-page.js';

type ModelDetail = Awaited<ReturnType<typeof getModelDetail>>;

/** Versions and deployments shown at most (the newest): a model retrained daily for years keeps a fast page. */
export const MODEL_PAGE_ROWS = 100;

export function modelPageView(detail: ModelDetail) {
  const production = detail.aliases.find((alias) => alias.alias === 'production')?.version ?? null;
  return {
    model: {
      name: detail.name,
      task: detail.task,
      target: detail.target,
      createdAt: detail.createdAt,
      production,
    },
    aliases: detail.aliases,
    olderVersions: Math.max(0, detail.versions.length - MODEL_PAGE_ROWS),
    olderDeployments: Math.max(0, detail.history.length - MODEL_PAGE_ROWS),
    // Versions come oldest first, deployments newest first: keep the newest of each.
    versions: detail.versions.slice(-MODEL_PAGE_ROWS).map((version) => {
      const primary = Object.entries(version.evaluation?.candidateMetrics ?? version.metrics ?? {}).slice(0, 4);
      return {
        version: version.version,
        status: version.status,
        trainer: version.trainer,
        createdAt: version.createdAt,
        runId: version.lineage.runId,
        isProduction: version.version === production,
        metrics: primary.map(([name, value]) => `${name} ${formatNumber(value)}`).join(' · '),
        gatesPassed: version.evaluation?.gatesPassed ?? null,
        artifact: version.artifactSha256.slice(0, 12),
      };
    }),
    history: detail.history.slice(0, MODEL_PAGE_ROWS),
    monitoring: detail.monitoring.latestReport,
  };
}
