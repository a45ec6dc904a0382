// The body of POST /v1/runs (and the `run` of a schedule), validated as sent: no coercion, no unknown fields.
import { Type, type Static } from '@sinclair/typebox';

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

const ColumnExpectation = Type.Object(
  {
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    nullable: Type.Optional(Type.Boolean()),
    maxNullRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    allowed: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);

const Expectations = Type.Object(
  {
    columns: Type.Optional(Type.Record(ColumnName, ColumnExpectation)),
    minRows: Type.Optional(Type.Integer({ minimum: 0 })),
    psi: Type.Optional(
      Type.Object(
        { warn: Type.Optional(Type.Number({ minimum: 0 })), fail: Type.Optional(Type.Number({ minimum: 0 })) },
        { additionalProperties: false },
      ),
    ),
    maxUnseenCategoryShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);

const MetricName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,40}$' });

/** `{ "auc": { "min": 0.75 }, "maxRegression": { "auc": 0.005 } }` */
const Gates = Type.Record(MetricName, Type.Record(MetricName, Type.Number()), {
  description: '`<metric>: { min?, max? }` thresholds, and `maxRegression: { <metric>: allowed drop vs the champion }`',
});

const Policy = Type.Object(
  {
    autoApprove: Type.Optional(Type.Boolean()),
    approvalTimeout: Type.Optional(DurationString),
  },
  { additionalProperties: false },
);

const TrainerSpec = Type.Object(
  {
    kind: Type.Union([Type.Literal('gbdt'), Type.Literal('linear')]),
    params: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,60}$' }), Type.Union([Type.Number(), Type.String({ maxLength: 200 }), Type.Boolean()])),
    ),
  },
  { additionalProperties: false },
);

export const RunSpecSchema = Type.Object(
  {
    model: ModelName,
    dataset: Type.Union([DatasetUri, DatasetQuery]),
    transform: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000, description: 'DuckDB SELECT over `source`' })),
    sources: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' }), Type.Union([DatasetUri, DatasetQuery]), {
        description: 'Extra named inputs the transform can join (not `source`)',
        maxProperties: 8,
      }),
    ),
    target: ColumnName,
    task: Type.Union([Type.Literal('binary'), Type.Literal('regression')]),
    features: Type.Optional(Type.Array(ColumnName, { minItems: 1, maxItems: 1000, uniqueItems: true })),
    trainer: Type.Optional(TrainerSpec),
    expectations: Type.Optional(Expectations),
    gates: Type.Optional(Gates),
    policy: Type.Optional(Policy),
  },
  { additionalProperties: false, $id: 'RunSpec', title: 'RunSpec' },
);
export type RunSpecBody = Static<typeof RunSpecSchema>;
