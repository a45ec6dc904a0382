// What the prediction log's flusher needs to write rollups with its rows: each version's bin layout, loaded once
// from its stored reference and cached, and the batch's rollups.
import type pg from 'pg';
import { findMonitoringReferenceJson } from '../db/repositories/prediction-rollups.js';
import type { PredictionRecord } from '../db/repositories/predictions.js';
import { rollupLayout, rollupRecords, type PredictionRollup, type RollupLayout } from './prediction-rollup.js';
import type { MonitoringReference } from './reference.js';

/** A version without a reference is asked again after this long (its reference may be recorded later). */
const ABSENT_REFERENCE_RECHECK_MS = 30_000;

interface CachedLayout {
  layout: RollupLayout | null;
  checkedAt: number;
}

export class PredictionRollupLayouts {
  private readonly cache = new Map<string, CachedLayout>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The batch's rollups (none for versions without a reference: the report reads those rows raw). */
  async rollupsOf(records: readonly PredictionRecord[]): Promise<PredictionRollup[]> {
    const versions = new Map<string, { modelId: string; version: number }>();
    for (const record of records) versions.set(`${record.modelId}|${record.version}`, { modelId: record.modelId, version: record.version });
    const now = this.clock();
    for (const [key, { modelId, version }] of versions) {
      const cached = this.cache.get(key);
      if (cached && (cached.layout !== null || now - cached.checkedAt < ABSENT_REFERENCE_RECHECK_MS)) continue;
      const reference = (await findMonitoringReferenceJson(this.pool, modelId, version)) as MonitoringReference | undefined;
      // A stored reference never changes (saved once, idempotently): its layout is cached for good.
      this.cache.set(key, { layout: reference === undefined ? null : rollupLayout(reference), checkedAt: now });
    }
    return rollupRecords(records, (modelId, version) => this.cache.get(`${modelId}|${version}`)?.layout ?? null);
  }
}
