// POST /v1/models/:name/predict: scores rows with the model's production version.
import { Type } from '@sinclair/typebox';
import { predict } from '../models/models-service.js';
import type { ModelRoutePlugin } from './models.js';
import { ModelName } from '../runs/run-spec-schema.js';
import { ErrorRef } from '../schemas.js';

const MAX_ROWS = 1000;

export const PredictBody = Type.Object(
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

export const PredictResult = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  predictions: Type.Union([
    Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), label: Type.Integer(), probability: Type.Number() })),
    Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), value: Type.Number() })),
  ]),
});

const predictRoutes: ModelRoutePlugin = async (app, { serving }) => {
  app.addHook('onClose', () => serving.close());

  app.post(
    '/v1/models/:name/predict',
    {
      config: { roles: ['predict'] },
      // The 200 schema is a union: the schema serializer would validate every prediction (uuid format included)
      // to pick a branch before writing. The handler builds exactly that shape, so plain JSON.stringify suffices.
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        tags: ['models'],
        summary: `Score 1..${MAX_ROWS} rows with the production version (400 names the offending row and field)`,
        params: Type.Object({ name: ModelName }),
        body: PredictBody,
        response: { 200: PredictResult, 400: ErrorRef, 404: ErrorRef, 503: ErrorRef },
      },
    },
    async (request) => predict(serving, request.params.name, request.body.rows),
  );
};

export default predictRoutes;
