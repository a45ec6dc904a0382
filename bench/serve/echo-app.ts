// The baseline: a bare Fastify route that validates the predict body with the same TypeBox schema and answers the
// same response shape (fixed scores, fresh ids), with nothing else — no auth, no metrics, no logging, no model.
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { PredictBody, PredictResult } from '../../api/routes/predict.js';

export function buildEchoApp(modelName: string): FastifyInstance {
  const app = Fastify({
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, allowUnionTypes: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/models/:name/predict',
    { schema: { params: Type.Object({ name: Type.String() }), body: PredictBody, response: { 200: PredictResult } } },
    async (request) => ({
      model: modelName,
      version: 1,
      predictions: (request.body.features ?? request.body.rows ?? []).map(() => ({ id: randomUUID(), label: 0, probability: 0.5 })),
    }),
  );
  return app;
}
