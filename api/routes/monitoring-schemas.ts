// Response and body schemas of the monitoring routes (also used by the model detail's latest report).
import { Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../../monitoring/duration.js';
import { MAX_POLICY_DURATION_MS } from '../../monitoring/policy.js';
import { PgPositiveInteger } from '../schemas.js';

const Duration = Type.Union([
  Type.String({ pattern: DURATION_PATTERN, description: "e.g. '1h', '30m', '90s'; at most 365 days" }),
  Type.Integer({ minimum: 0, maximum: MAX_POLICY_DURATION_MS, description: 'milliseconds; at most 365 days' }),
]);

export const MonitoringPolicyBody = Type.Object(
  {
    interval: Type.Optional(Duration),
    minRows: Type.Optional(PgPositiveInteger()),
    minLabels: Type.Optional(PgPositiveInteger()),
    thresholds: Type.Optional(
      Type.Object(
        {
          psi: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'breach when any feature has PSI ≥ this (0.25)' })),
          psiModerate: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'PSI that counts a feature as drifted for driftShare (0.1)' })),
          driftShare: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'breach when this share of features drifted (0.5)' })),
          metricDrop: Type.Optional(Type.Number({ minimum: 0, description: 'breach when live AUC (multiclass: accuracy) is this far below the evaluation\'s (0.05)' })),
          rmseIncrease: Type.Optional(Type.Number({ minimum: 0, description: 'breach when live RMSE exceeds the evaluation RMSE by this fraction (0.1)' })),
        },
        { additionalProperties: false },
      ),
    ),
    cooldown: Type.Optional(Duration),
    retrain: Type.Optional(Type.Object({ enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const MonitoringPolicyView = Type.Object({
  model: Type.String(),
  intervalMs: Type.Integer(),
  minRows: Type.Integer(),
  minLabels: Type.Integer(),
  thresholds: Type.Object({
    psi: Type.Number(),
    psiModerate: Type.Number(),
    driftShare: Type.Number(),
    metricDrop: Type.Number(),
    rmseIncrease: Type.Number(),
  }),
  cooldownMs: Type.Integer(),
  retrain: Type.Object({ enabled: Type.Boolean() }),
  /** Null when the defaults apply. */
  updatedBy: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const LatestMonitoringReport = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  windowStart: Type.String({ format: 'date-time' }),
  windowEnd: Type.String({ format: 'date-time' }),
  verdict: Type.String({ description: 'drift | no_drift | not_enough_data | no_reference' }),
  driftDetected: Type.Boolean(),
  summary: Type.String(),
  rows: Type.Integer(),
  retrain: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
    description: "What the breach led to: { action: 'started', runId, workflowId } or { action: 'skipped', reason }",
  }),
  retrainRunId: Type.Union([Type.String(), Type.Null()], { description: 'the retraining run this report started, if any' }),
  createdAt: Type.String({ format: 'date-time' }),
});

export const MonitoringReportView = Type.Intersect([LatestMonitoringReport, Type.Object({ report: Type.Unknown() })]);
