// What a SQL query needs to count live values exactly as live-counts.ts does, so the monitoring activity can
// aggregate the prediction log where it lives instead of pulling rows into JS.
import type { FeatureReference } from './reference-profile.js';

/**
 * Numeric column `x` (a double; NULL or NaN is missing). Per window, in Postgres:
 *   rows     = count(*)
 *   missing  = count(*) FILTER (WHERE x IS NULL OR x = 'NaN')      -- also count ±Infinity here if they can occur
 *   counts   = SELECT width_bucket(x, $cuts::float8[]) AS bucket, count(*) … WHERE x is finite GROUP BY bucket
 *              (bucket is 0…cuts.length, the index into `counts`; left-closed, as the reference was counted;
 *               when cuts is empty, skip width_bucket: every finite value is bucket 0)
 *   belowMin = count(*) FILTER (WHERE x < $min),  aboveMax = count(*) FILTER (WHERE x > $max)  (0 when min/max are null)
 *   unseen   = count(*) FILTER (WHERE x <> ALL($values::float8[]))  -- value binning only, else 0
 *   min/max  = min(x), max(x) over finite x
 * Cut points must reach SQL exactly: send them as float8 parameters (JS numbers round-trip), never as rounded text.
 */
export interface NumericBinLayout {
  kind: 'numeric';
  cuts: number[];
  min: number | null;
  max: number | null;
  /** Value binning only: the reference's distinct values (for `unseen`); null for quantile binning. */
  values: number[] | null;
}

/**
 * Categorical column `x` (text; NULL is missing). Per window:
 *   rows    = count(*),  missing = count(*) FILTER (WHERE x IS NULL)
 *   counts  = coalesce(array_position($categories::text[], x) - 1, $categories.length) AS bin … GROUP BY bin
 *             (the last bin is "other": any non-null value not in `categories`)
 *   unseen  = count(*) FILTER (WHERE x IS NOT NULL AND x <> ALL($known::text[]))
 */
export interface CategoricalBinLayout {
  kind: 'categorical';
  categories: string[];
  /** Every remembered training category (top ones first); live values outside it are unseen. */
  known: string[];
}

export type BinLayout = NumericBinLayout | CategoricalBinLayout;

export function binLayout(reference: FeatureReference): BinLayout {
  if (reference.kind === 'numeric') {
    return { kind: 'numeric', cuts: [...reference.cuts], min: reference.min, max: reference.max, values: reference.values === null ? null : [...reference.values] };
  }
  return { kind: 'categorical', categories: [...reference.categories], known: [...reference.categories, ...reference.otherCategories] };
}
