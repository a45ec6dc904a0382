// Per-minute rollups of the prediction log, counted in JS where the rows are buffered: each row's features, score
// and latency land in the version's reference bins exactly as the window SQL (window-aggregates.ts) counts them,
// so the monitoring report can sum a few rollup rows instead of binning a million JSON rows in Postgres.
import { createHash } from 'node:crypto';
import {
  binLayout,
  bucketOf,
  type CategoricalLiveCounts,
  type FeatureReference,
  type LiveCounts,
  type NumericLiveCounts,
  type NumericReference,
} from '../ml/drift/index.js';
import type { PredictionRollup } from '../db/repositories/prediction-rollups.js';
import type { PredictionRecord } from '../db/repositories/predictions.js';
import type { MonitoringReference } from './reference.js';
import { LATENCY_BOUNDS_MS, type WindowAggregates } from './window-aggregates.js';

/** Bumped whenever the meaning of a rollup's `counts` changes: old rollups then stop matching and are not summed. */
const ROLLUP_FORMAT = 1;
const MINUTE_MS = 60_000;

export type { PredictionRollup };

// counts of a numeric part: [missing, belowMin, aboveMax, unseen, bucket 0 … bucket cuts.length]
interface NumericPart {
  kind: 'numeric';
  cuts: readonly number[];
  min: number | null;
  max: number | null;
  values: ReadonlySet<number> | null;
  offset: number;
  /** Index into mins/maxs. */
  slot: number;
}

// counts of a categorical part: [missing, unseen, category 1 … category n, other]
interface CategoricalPart {
  kind: 'categorical';
  /** Category → its bin (the first position, as array_position finds it). */
  bins: ReadonlyMap<string, number>;
  known: ReadonlySet<string>;
  categories: number;
  offset: number;
}

type Part = NumericPart | CategoricalPart;

/** How one version's rows are counted: the parts' offsets into the flat `counts` array, and the layout's hash. */
export interface RollupLayout {
  sha: string;
  features: { name: string; part: Part }[];
  score: NumericPart;
  /** latency bucket k (0 … LATENCY_BOUNDS_MS.length) is counts[latencyOffset + k], as width_bucket numbers them. */
  latencyOffset: number;
  width: number;
  numericSlots: number;
}

export function rollupLayout(reference: MonitoringReference): RollupLayout {
  let offset = 0;
  let slot = 0;
  const partOf = (feature: FeatureReference): Part => {
    const layout = binLayout(feature);
    if (layout.kind === 'numeric') {
      const part: NumericPart = {
        kind: 'numeric', cuts: layout.cuts, min: layout.min, max: layout.max,
        values: layout.values === null ? null : new Set(layout.values), offset, slot: slot++,
      };
      offset += 4 + layout.cuts.length + 1;
      return part;
    }
    const bins = new Map<string, number>();
    layout.categories.forEach((category, index) => {
      if (!bins.has(category)) bins.set(category, index);
    });
    const part: CategoricalPart = { kind: 'categorical', bins, known: new Set(layout.known), categories: layout.categories.length, offset };
    offset += 2 + layout.categories.length + 1;
    return part;
  };
  const features = reference.features.map(({ name, reference: feature }) => ({ name, part: partOf(feature) }));
  const score = partOf(reference.score) as NumericPart;
  const latencyOffset = offset;
  offset += LATENCY_BOUNDS_MS.length + 1;
  const sha = createHash('sha256')
    .update(JSON.stringify({
      format: ROLLUP_FORMAT,
      features: reference.features.map(({ name, reference: feature }) => ({ name, layout: binLayout(feature) })),
      score: binLayout(reference.score),
      latency: LATENCY_BOUNDS_MS,
    }))
    .digest('hex');
  return { sha, features, score, latencyOffset, width: offset, numericSlots: slot };
}

class MinuteRollup {
  readonly counts: Float64Array;
  readonly mins: (number | null)[];
  readonly maxs: (number | null)[];
  rows = 0;

  constructor(
    readonly modelId: string,
    readonly version: number,
    readonly minuteMs: number,
    readonly layout: RollupLayout,
  ) {
    this.counts = new Float64Array(layout.width);
    this.mins = new Array<number | null>(layout.numericSlots).fill(null);
    this.maxs = new Array<number | null>(layout.numericSlots).fill(null);
  }

  private addNumeric(part: NumericPart, x: number | null): void {
    const counts = this.counts;
    // width_bucket over (−MAX_VALUE … +Infinity) sends NULL, NaN and ±Infinity to the ends: missing.
    if (x === null || !Number.isFinite(x)) {
      counts[part.offset]! += 1;
      return;
    }
    counts[part.offset + 4 + bucketOf(part.cuts, x)]! += 1;
    if (part.min !== null && x < part.min) counts[part.offset + 1]! += 1;
    if (part.max !== null && x > part.max) counts[part.offset + 2]! += 1;
    if (part.values !== null && !part.values.has(x)) counts[part.offset + 3]! += 1;
    // Postgres never holds −0 (a JS −0 reaches it as "0"): keep the extremes as it would report them.
    if (x === 0) x = 0;
    const low = this.mins[part.slot]!;
    if (low === null || x < low) this.mins[part.slot] = x;
    const high = this.maxs[part.slot]!;
    if (high === null || x > high) this.maxs[part.slot] = x;
  }

  private addCategorical(part: CategoricalPart, value: string | null): void {
    if (value === null) {
      this.counts[part.offset]! += 1;
      return;
    }
    const bin = part.bins.get(value);
    if (bin !== undefined) this.counts[part.offset + 2 + bin]! += 1;
    else {
      this.counts[part.offset + 2 + part.categories]! += 1;
      if (!part.known.has(value)) this.counts[part.offset + 1]! += 1;
    }
  }

  /**
   * Adds every row of the record. A numeric feature reads the record's numeric column of that name (else missing),
   * a categorical one its text column (else missing): what the window SQL reads.
   */
  add(record: PredictionRecord): void {
    const rows = record.rowCount;
    for (const { name, part } of this.layout.features) {
      const j = record.featureNames.indexOf(name);
      const column = j < 0 ? undefined : record.featureColumns[j];
      if (part.kind === 'numeric') {
        const numeric = column instanceof Float64Array ? column : undefined;
        for (let i = 0; i < rows; i++) this.addNumeric(part, numeric === undefined || Number.isNaN(numeric[i]!) ? null : numeric[i]!);
      } else {
        const text = column === undefined || column instanceof Float64Array ? undefined : column;
        for (let i = 0; i < rows; i++) this.addCategorical(part, text?.[i] ?? null);
      }
    }
    const scores = record.scores;
    for (let i = 0; i < rows; i++) this.addNumeric(this.layout.score, scores[i]!);
    const latency = record.latencyMs;
    const bucket = Number.isNaN(latency) ? LATENCY_BOUNDS_MS.length : bucketOf(LATENCY_BOUNDS_MS, latency);
    this.counts[this.layout.latencyOffset + bucket]! += rows;
    this.rows += rows;
  }

  toRollup(): PredictionRollup {
    return {
      modelId: this.modelId, version: this.version, minute: new Date(this.minuteMs), layoutSha: this.layout.sha,
      rows: this.rows, counts: Array.from(this.counts), mins: this.mins, maxs: this.maxs,
    };
  }
}

/**
 * Counts `records` into one rollup per (model, version, minute), each in its version's layout (`layoutOf`
 * returns null for a version without a reference: its rows get no rollup and the report reads them raw).
 * Sorted by key, so concurrent writers upsert rows in the same order.
 */
export function rollupRecords(
  records: readonly PredictionRecord[],
  layoutOf: (modelId: string, version: number) => RollupLayout | null,
): PredictionRollup[] {
  const minutes = new Map<string, MinuteRollup | null>();
  for (const record of records) {
    const minuteMs = Math.floor(record.createdAt.getTime() / MINUTE_MS) * MINUTE_MS;
    const key = `${record.modelId}|${record.version}|${minuteMs}`;
    let rollup = minutes.get(key);
    if (rollup === undefined) {
      const layout = layoutOf(record.modelId, record.version);
      rollup = layout === null ? null : new MinuteRollup(record.modelId, record.version, minuteMs, layout);
      minutes.set(key, rollup);
    }
    if (rollup !== null) rollup.add(record);
  }
  return [...minutes.values()]
    .filter((rollup): rollup is MinuteRollup => rollup !== null && rollup.rows > 0)
    .sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : a.version - b.version || a.minuteMs - b.minuteMs))
    .map((rollup) => rollup.toRollup());
}

/** Sum of stored rollups of one layout (counts added, mins and maxs combined). */
export interface RollupSum {
  rows: number;
  counts: number[];
  mins: (number | null)[];
  maxs: (number | null)[];
}

export function emptyRollupSum(layout: RollupLayout): RollupSum {
  return {
    rows: 0,
    counts: new Array<number>(layout.width).fill(0),
    mins: new Array<number | null>(layout.numericSlots).fill(null),
    maxs: new Array<number | null>(layout.numericSlots).fill(null),
  };
}

export function addRollup(sum: RollupSum, rollup: { rows: number; counts: readonly number[]; mins: readonly (number | null)[]; maxs: readonly (number | null)[] }): void {
  if (rollup.counts.length !== sum.counts.length || rollup.mins.length !== sum.mins.length) {
    throw new Error('a rollup does not have its layout’s shape');
  }
  sum.rows += rollup.rows;
  for (let i = 0; i < sum.counts.length; i++) sum.counts[i]! += rollup.counts[i]!;
  for (let i = 0; i < sum.mins.length; i++) {
    const low = rollup.mins[i] ?? null;
    if (low !== null && (sum.mins[i] === null || low < sum.mins[i]!)) sum.mins[i] = low;
    const high = rollup.maxs[i] ?? null;
    if (high !== null && (sum.maxs[i] === null || high > sum.maxs[i]!)) sum.maxs[i] = high;
  }
}

function numericLive(part: NumericPart, sum: RollupSum, reference: NumericReference): NumericLiveCounts {
  const at = part.offset;
  return {
    kind: 'numeric', rows: sum.rows, missing: sum.counts[at]!,
    counts: sum.counts.slice(at + 4, at + 4 + reference.cuts.length + 1),
    belowMin: sum.counts[at + 1]!, aboveMax: sum.counts[at + 2]!, unseen: sum.counts[at + 3]!,
    min: sum.mins[part.slot]!, max: sum.maxs[part.slot]!,
  };
}

/** The summed rollups as the window SQL reports them. */
export function windowAggregatesFromRollups(reference: MonitoringReference, layout: RollupLayout, sum: RollupSum): WindowAggregates {
  const features = layout.features.map(({ name, part }, index): { name: string; live: LiveCounts } => {
    const feature = reference.features[index]!.reference;
    if (part.kind === 'numeric') return { name, live: numericLive(part, sum, feature as NumericReference) };
    const at = part.offset;
    const live: CategoricalLiveCounts = {
      kind: 'categorical', rows: sum.rows, missing: sum.counts[at]!, unseen: sum.counts[at + 1]!,
      counts: sum.counts.slice(at + 2, at + 2 + part.categories + 1),
    };
    return { name, live };
  });
  const score = numericLive(layout.score, sum, reference.score);
  const latencyCounts = sum.counts.slice(layout.latencyOffset, layout.latencyOffset + LATENCY_BOUNDS_MS.length + 1);
  return { rows: sum.rows, errorRows: score.missing, features, score, latencyCounts };
}
