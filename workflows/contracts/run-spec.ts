// The body of POST /v1/runs (and the `run` of a schedule): one TypeBox schema per part, each type derived with Static<>.
// Pure schemas, no I/O: the API validates requests with them; workflow and activity code imports the types only.
import { Type, type ObjectOptions, type Static, type TSchema } from '@sinclair/typebox';
import { SplitSpecSchema } from './split.js';

/** Model names become part of workflow ids and URLs. */
export const ModelName = Type.String({
  pattern: '^[a-z0-9][a-z0-9_.-]{0,62}$',
  description: 'Lower-case letters, digits, `_`, `.`, `-`; at most 63 characters.',
});

const ColumnName = Type.String({ minLength: 1, maxLength: 200 });

/** Temporal duration strings: `90s`, `10 minutes`, `72h`, `3 days`. */
export const DurationString = Type.String({
  pattern: '^[0-9]+(\\.[0-9]+)?\\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$',
});

/** Every task Keel trains; the database's check constraint is generated from this list too. */
export const TASKS = ['binary', 'multiclass', 'regression'] as const;
export const TaskSchema = Type.Union(TASKS.map((task) => Type.Literal(task)));
export type Task = Static<typeof TaskSchema>;

const DatasetUri = Type.Object(
  { uri: Type.String({ minLength: 1, maxLength: 4096, description: 'Local path inside KEEL_DATA_ROOTS, or https:// URL' }) },
  { additionalProperties: false },
);
const DatasetQuery = Type.Object(
  {
    connection: Type.String({ minLength: 1, maxLength: 200, description: 'Name of an admin-configured Postgres connection' }),
    query: Type.String({ minLength: 1, maxLength: 100_000, description: 'A single read-only SELECT' }),
  },
  { additionalProperties: false },
);
/** What an engineer names as data: a file path or URL, or a query against an admin-configured connection. */
export const DatasetSourceSchema = Type.Union([DatasetUri, DatasetQuery]);
export type DatasetSource = Static<typeof DatasetSourceSchema>;

export const ColumnExpectationSchema = Type.Object(
  {
    /** A kind (`numeric`, `categorical`, `boolean`, `temporal`) or an exact DuckDB type (`DOUBLE`, `VARCHAR`, …). */
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /** `false` means no nulls at all. */
    nullable: Type.Optional(Type.Boolean()),
    maxNullRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    /** The only values a categorical column may hold (beyond `maxUnseenCategoryShare`). */
    allowed: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);
export type ColumnExpectation = Static<typeof ColumnExpectationSchema>;

/** The data plane checks a snapshot against these (declared here, or inferred from the last accepted snapshot). */
export const ExpectationsSchema = Type.Object(
  {
    columns: Type.Optional(StrictRecord('^[\\s\\S]{1,200}$', ColumnExpectationSchema, { maxProperties: 10_000 })),
    /** Minimum row count (default 1). */
    minRows: Type.Optional(Type.Integer({ minimum: 0 })),
    psi: Type.Optional(
      Type.Object(
        { warn: Type.Optional(Type.Number({ minimum: 0 })), fail: Type.Optional(Type.Number({ minimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
    /** Largest share of non-null values outside the known categories (default: 0 when declared, 0.05 when inferred). */
    maxUnseenCategoryShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type Expectations = Static<typeof ExpectationsSchema>;

const METRIC_NAME_PATTERN = '^[a-z][a-z0-9_]{0,40}$';

/**
 * A map whose keys must match `keyPattern`: any other key is refused (a 400 naming it), never silently unvalidated.
 * TypeBox's Record leaves keys that miss the pattern unchecked, so `{ "AUC": null }` used to pass the schema.
 */
export function StrictRecord<T extends TSchema>(keyPattern: string, value: T, options: ObjectOptions = {}) {
  return Type.Record(Type.String({ pattern: keyPattern }), value, { ...options, additionalProperties: false });
}

/** `{ "auc": { "min": 0.75 }, "maxRegression": { "auc": 0.005 } }` */
export const GatesSchema = StrictRecord(METRIC_NAME_PATTERN, StrictRecord('^(min|max)$', Type.Number()), {
  description: '`<metric>: { min?, max? }` thresholds, and `maxRegression: { <metric>: allowed drop (>= 0) vs the champion }`',
  maxProperties: 200,
  // `maxRegression` misses the metric pattern (capital R), so it is declared on its own: drops are 0 or more.
  properties: {
    maxRegression: StrictRecord(METRIC_NAME_PATTERN, Type.Number({ minimum: 0 }), {
      description: "<metric>: the largest drop from the champion allowed, in the metric's own units",
    }),
  },
});
export type Gates = Static<typeof GatesSchema>;

export const PolicySchema = Type.Object(
  {
    autoApprove: Type.Optional(Type.Boolean()),
    /** Temporal duration string ('72h', '10 minutes'). */
    approvalTimeout: Type.Optional(DurationString),
  },
  { additionalProperties: false },
);
export type Policy = Static<typeof PolicySchema>;

const TrainerParams = StrictRecord('^[A-Za-z][A-Za-z0-9_]{0,60}$', Type.Union([Type.Number(), Type.String({ maxLength: 200 }), Type.Boolean()]), {
  maxProperties: 100,
});

/** Keel's own trainers, run on the `training` task queue. */
export const BuiltInTrainerSpecSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('gbdt'), Type.Literal('linear')]),
    params: Type.Optional(TrainerParams),
  },
  { additionalProperties: false },
);
export type BuiltInTrainerSpec = Static<typeof BuiltInTrainerSpecSchema>;

/**
 * A trainer outside Keel: any Temporal worker polling `taskQueue` that implements the `trainModel` activity of
 * docs/training-contract.md (e.g. the reference Python worker in trainers/python/).
 */
export const ExternalTrainerSpecSchema = Type.Object(
  {
    kind: Type.Literal('external'),
    /** The task queue the external worker polls; the API refuses Keel's own (`pipeline`, `training`, as configured). */
    taskQueue: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$' }),
    /** Which of the worker's trainers, e.g. `lightgbm`, `xgboost`, `sklearn:HistGradientBoostingClassifier`. */
    name: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.:-]{0,99}$' }),
    params: Type.Optional(TrainerParams),
    /** Longest one attempt may take (start-to-close); default '2 hours'. */
    timeout: Type.Optional(DurationString),
    /** Longest the trainer may go without a heartbeat before the attempt counts as crashed; default '1 minute'. */
    heartbeatTimeout: Type.Optional(DurationString),
    /** Longest an attempt may wait for a worker on `taskQueue` to take it (schedule-to-start); default '10 minutes'. */
    scheduleToStartTimeout: Type.Optional(DurationString),
  },
  { additionalProperties: false },
);
export type ExternalTrainerSpec = Static<typeof ExternalTrainerSpecSchema>;

export const TrainerSpecSchema = Type.Union([BuiltInTrainerSpecSchema, ExternalTrainerSpecSchema]);
export type TrainerSpec = Static<typeof TrainerSpecSchema>;

/** Validated as sent: no coercion, no unknown fields. */
export const RunSpecSchema = Type.Object(
  {
    model: ModelName,
    dataset: DatasetSourceSchema,
    /** DuckDB SELECT over the relation `source` (and the named `sources`). */
    transform: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000, description: 'DuckDB SELECT over `source`' })),
    /** Extra named inputs the transform can join, e.g. `{ airports: { uri } }`. */
    sources: Type.Optional(
      StrictRecord('^[A-Za-z_][A-Za-z0-9_]{0,62}$', DatasetSourceSchema, {
        description: 'Extra named inputs the transform can join (not `source`)',
        maxProperties: 8,
      }),
    ),
    target: ColumnName,
    task: TaskSchema,
    /** Feature columns; default: every column but the target. */
    features: Type.Optional(Type.Array(ColumnName, { minItems: 1, maxItems: 1000, uniqueItems: true })),
    trainer: Type.Optional(TrainerSpecSchema),
    /** How rows are assigned to train / valid / holdout; default `{ kind: 'hash' }` (stable per model). */
    split: Type.Optional(SplitSpecSchema),
    expectations: Type.Optional(ExpectationsSchema),
    gates: Type.Optional(GatesSchema),
    policy: Type.Optional(PolicySchema),
  },
  { additionalProperties: false, $id: 'RunSpec', title: 'RunSpec' },
);
export type RunSpec = Static<typeof RunSpecSchema>;
