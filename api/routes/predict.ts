// POST /v1/models/:name/predict: scores rows with the model's production version and logs every scored row.
import { Type } from '@sinclair/typebox';
import { predict } from '../models/models-service.js';
import type { ModelRoutePlugin } from './models.js';
import { ModelName } from '../runs/run-spec-schema.js';
import { ErrorRef } from '../schemas.js';
import { principalOf } from '../auth/principal.js';
import { PredictionLogFullError, type PredictionLog } from '../../serving/prediction-log.js';
import { registerPredictionLogMetrics } from '../../serving/prediction-log-metrics.js';
import { ApiError } from '../errors.js';

const MAX_ROWS = 1000;

const PredictBody = Type.Object(
  {
    rows: Type.Array(
      Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()]), {
        description: 'Features by name: numbers (or null) for numeric features, strings (or null) for categorical ones.',
      }),
      { minItems: 1, maxItems: MAX_ROWS },
    ),
  },
  { additionalProperties: false },
);

const PredictResult = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  predictions: Type.Union([
    Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), label: Type.Integer(), probability: Type.Number() })),
    Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), value: Type.Number() })),
  ]),
});

const predictRoutes: ModelRoutePlugin = async (app, { serving, metricsRegistry }) => {
  app.addHook('onClose', () => serving.close());
  // Read at scrape time from the log this plugin has used; a scrape must not start serving on its own.
  let log: PredictionLog | undefined;
  registerPredictionLogMetrics(metricsRegistry, async () => log?.stats());

  app.post(
    '/v1/models/:name/predict',
    {
      config: { roles: ['predict'] },
      schema: {
        tags: ['models'],
        summary: `Score 1..${MAX_ROWS} rows with the production version (400 names the offending row and field)`,
        description:
          'Every scored row is logged (GET /v1/models/:name/predictions) with its prediction id, which feedback refers to. ' +
          'When the log buffer is full the request is refused with 503 and Retry-After before anything is scored.',
        params: Type.Object({ name: ModelName }),
        body: PredictBody,
        response: { 200: PredictResult, 400: ErrorRef, 404: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => {
      log ??= (await serving.get()).predictionLog;
      try {
        return await predict(serving, request.params.name, request.body.rows, { keyId: principalOf(request).keyId });
      } catch (error) {
        if (error instanceof PredictionLogFullError) {
          void reply.header('Retry-After', String(error.retryAfterSeconds));
          throw new ApiError(error.status, error.code, error.message, error.details);
        }
        throw error;
      }
    },
  );
};

export default predictRoutes;
