// The serving recipe: what a registered version needs to turn a raw source row into the feature row its
// model was trained on (source schema → the run's feature SQL → the trainer's type conversions).
import { Type, type Static } from '@sinclair/typebox';

export const SourceColumnSchema = Type.Object({
  name: Type.String(),
  /** DuckDB type as DESCRIBE prints it, e.g. DATE, DOUBLE, VARCHAR, BOOLEAN. */
  type: Type.String(),
});
export type SourceColumn = Static<typeof SourceColumnSchema>;

/** The trainer's conversions (data/read-snapshot-columns.ts), by name. */
export const FEATURE_CONVERSIONS = ['boolean_0_1', 'epoch_seconds', 'double', 'text'] as const;
export type FeatureConversion = (typeof FEATURE_CONVERSIONS)[number];

export const RecipeFeatureSchema = Type.Object({
  name: Type.String(),
  /** DuckDB type of the column the transform produces. */
  type: Type.String(),
  conversion: Type.Union(FEATURE_CONVERSIONS.map((name) => Type.Literal(name))),
  /** What onnxruntime receives. */
  kind: Type.Union([Type.Literal('numeric'), Type.Literal('categorical')]),
});
export type RecipeFeature = Static<typeof RecipeFeatureSchema>;

export const ServingRecipeSchema = Type.Object({
  version: Type.Literal(1),
  /** The relation `source` as the transform saw it at ingest, before any SQL ran. */
  source: Type.Array(SourceColumnSchema),
  /** Named extra inputs the transform could join (schemas only: their rows are not served). */
  sources: Type.Record(Type.String(), Type.Array(SourceColumnSchema)),
  /** The checked feature SQL, or null when the snapshot is the source as read. */
  transform: Type.Union([Type.String(), Type.Null()]),
  /** The model's inputs in order, with the conversion applied to each. */
  features: Type.Array(RecipeFeatureSchema),
  /** True when each row's features depend on that row alone, so raw rows can be served one request at a time. */
  rowWise: Type.Boolean(),
  /** Why raw rows are refused, when `rowWise` is false. */
  rowWiseReason: Type.Optional(Type.String()),
  /** Sample source rows the row-wise check ran on (one at a time and as one batch). */
  checkedRows: Type.Integer({ minimum: 0 }),
});
export type ServingRecipe = Static<typeof ServingRecipeSchema>;

/** What ingest records for the recipe: travels in the snapshot activity's result. */
export interface ServingSource {
  source: SourceColumn[];
  sources: Record<string, SourceColumn[]>;
  transform: string | null;
  /** A sample of source rows (Parquet in the artifact store) for the row-wise check and serving parity. */
  sampleSha256: string;
  sampleRows: number;
}

export type SourceValueKind = 'boolean' | 'integer' | 'number' | 'text' | 'date' | 'timestamp' | 'time';

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const REAL_TYPES = /^(FLOAT|DOUBLE|DECIMAL.*)$/;

/** How a JSON request carries a value of this DuckDB type; undefined when it cannot. */
export function sourceValueKind(type: string): SourceValueKind | undefined {
  const upper = type.toUpperCase();
  if (upper === 'BOOLEAN') return 'boolean';
  if (INTEGER_TYPES.test(upper)) return 'integer';
  if (REAL_TYPES.test(upper)) return 'number';
  if (upper === 'VARCHAR' || upper.startsWith('ENUM')) return 'text';
  if (upper === 'DATE') return 'date';
  if (upper.startsWith('TIMESTAMP')) return 'timestamp';
  if (upper === 'TIME') return 'time';
  return undefined;
}

const TEMPORAL = /^(DATE|TIME|TIMESTAMP.*|TIME WITH TIME ZONE)$/;
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;

/** The conversion the trainer applies to a column of `type` read as a `kind` model input. */
export function featureConversion(type: string, kind: 'numeric' | 'categorical'): FeatureConversion {
  if (kind === 'categorical') return 'text';
  const upper = type.toUpperCase();
  if (upper === 'BOOLEAN') return 'boolean_0_1';
  if (TEMPORAL.test(upper)) return 'epoch_seconds';
  if (NUMERIC.test(upper)) return 'double';
  return 'text';
}

export const RAW_ROWS_REFUSED = 'send ready feature rows as { "features": [...] } instead';

/** Why this version cannot take raw source rows, or null when it can. */
export function rawRowsRefusal(recipe: ServingRecipe | null | undefined): string | null {
  if (!recipe) return `this version was registered before serving recipes existed, so it cannot take raw source rows: ${RAW_ROWS_REFUSED}`;
  if (!recipe.rowWise) return `this version's feature SQL cannot be served row by row (${recipe.rowWiseReason ?? 'not row-wise'}): ${RAW_ROWS_REFUSED}`;
  return null;
}
