import { describe, expect, it } from 'vitest';
import { MODEL_PAGE_ROWS, modelPageView } from './model-page.js';

type Detail = Parameters<typeof modelPageView>[0];

function detailWith(versionCount: number, deploymentCount: number): Detail {
  const versions = Array.from({ length: versionCount }, (_, i) => ({
    version: i + 1,
    status: 'archived',
    trainer: 'gbdt',
    createdAt: '2026-01-01T00:00:00.000Z',
    lineage: { runId: `r-${i + 1}` },
    metrics: { auc: 0.8 },
    evaluation: null,
    artifactSha256: 'a'.repeat(64),
  }));
  const history = Array.from({ length: deploymentCount }, (_, i) => ({ at: '2026-01-01T00:00:00.000Z', alias: 'production', action: 'promote', fromVersion: null, toVersion: deploymentCount - i, actor: 'bob', reason: null, runId: null }));
  return { name: 'm', task: 'binary', target: 'y', createdAt: '2026-01-01T00:00:00.000Z', aliases: [{ alias: 'production', version: versionCount, updatedAt: '2026-01-01T00:00:00.000Z' }], versions, history, monitoring: { latestReport: null } } as unknown as Detail;
}

describe('modelPageView', () => {
  it('shows the newest versions and deployments only, and says how many older ones it left out', () => {
    const view = modelPageView(detailWith(MODEL_PAGE_ROWS + 30, MODEL_PAGE_ROWS + 5));
    expect(view.versions).toHaveLength(MODEL_PAGE_ROWS);
    expect(view.versions.at(-1)!.version).toBe(MODEL_PAGE_ROWS + 30);
    expect(view.olderVersions).toBe(30);
    expect(view.history).toHaveLength(MODEL_PAGE_ROWS);
    expect(view.history[0]!.toVersion).toBe(MODEL_PAGE_ROWS + 5);
    expect(view.olderDeployments).toBe(5);
  });

  it('leaves a small model whole', () => {
    const view = modelPageView(detailWith(3, 2));
    expect(view.versions).toHaveLength(3);
    expect(view.olderVersions).toBe(0);
    expect(view.olderDeployments).toBe(0);
  });
});
