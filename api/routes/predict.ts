// POST /v1/models/:name/predict: scores rows with the model's production version and logs every scored row.
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type Options } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { predict } from '../models/models-service.js';
import type { ModelRoutePlugin } from './models.js';
import { ModelName } from '../../workflows/contracts/run-spec.js';
import { BODY_LIMITS } from '../body-limits.js';
import { ErrorRef } from '../schemas.js';
import { principalOf } from '../auth/principal.js';
import { PredictionLogFullError, type PredictionLog } from '../../serving/prediction-log.js';
import { registerPredictionLogMetrics } from '../../serving/prediction-log-metrics.js';
import { predictResponseJson } from '../../serving/predict-response-json.js';
import type { PredictResponse } from '../../serving/predict.js';
import { isFeatureRowsBody, parseFeatureRowsBody, type FeatureRowsBody } from '../../serving/feature-rows-body.js';
import { AJV_CUSTOM_OPTIONS } from '../ajv-options.js';
import { createJsonBodyParser } from '../json-body-parser.js';
import { markStorableJson } from '../storable-text.js';

const MAX_ROWS = 1000;
/**
 * Bodies shorter than this go through JSON.parse even when plain: columns cost a few µs per request to set up (typed
 * arrays per field), and parse + validation broke even at ~50 five-feature rows (~4,400 characters) in one process.
 */
const COLUMNAR_BODY_MIN_CHARS = 4096;

/**
 * An object whose every value has one of `types`. Not TypeBox's Record of a Union: that compiles to a unicode
 * pattern test per key and an `anyOf` Ajv checks branch by branch, allocating an error for each branch that fails
 * (~7 µs per 5-value row against ~0.4 µs for this one `type` list, same process); and its `^(.*)$` skipped keys
 * holding a line break. Needs Ajv's `allowUnionTypes` (app.ts).
 */
function rowOf<T>(types: readonly string[], description: string) {
  return Type.Unsafe<Record<string, T>>({ type: 'object', additionalProperties: { type: [...types] }, description });
}

// One object with exactly one of the two keys, so a 400 names the path inside the one the client sent.
export const PredictBody = Type.Object(
  {
    rows: Type.Optional(
      Type.Array(
        rowOf<number | string | boolean | null>(
          ['number', 'string', 'boolean', 'null'],
          "A row in the source's shape (before the run's feature SQL): every source column, null only when sent as null; " +
            'ISO-8601 strings for DATE/TIMESTAMP columns, true/false for BOOLEAN.',
        ),
        { minItems: 1, maxItems: MAX_ROWS },
      ),
    ),
    features: Type.Optional(
      Type.Array(
        rowOf<number | string | null>(
          ['number', 'string', 'null'],
          'Features by name: numbers (or null) for numeric features, strings (or null) for categorical ones.',
        ),
        { minItems: 1, maxItems: MAX_ROWS },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1, description: 'Either `rows` (raw source rows) or `features`.' },
);

export const PredictResult = Type.Object({
  model: Type.String(),
  version: Type.Integer(),
  predictions: Type.Union([
    Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), label: Type.Integer(), probability: Type.Number() })),
    Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), value: Type.Number() })),
    Type.Array(
      Type.Object({
        id: Type.String({ format: 'uuid' }),
        label: Type.String({ description: 'The most probable class' }),
        probabilities: Type.Record(Type.String(), Type.Number(), { description: 'Every class of the model → its probability' }),
      }),
    ),
  ]),
});

/**
 * The route's schemas compiled by an Ajv with the app's options (@fastify/ajv-compiler's defaults, then
 * AJV_CUSTOM_OPTIONS), except that a body already parsed into feature columns passes: parseFeatureRowsBody reads only
 * bodies this schema accepts (one `features` key, 1..MAX_ROWS rows of numbers, strings and nulls).
 */
// @fastify/ajv-compiler's defaults (its uriResolver aside: these schemas have no $id or $ref).
const FASTIFY_AJV_DEFAULTS: Options = { coerceTypes: 'array', useDefaults: true, removeAdditional: true, addUsedSchema: false, allErrors: false };

function predictValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const ajv = new Ajv({ ...FASTIFY_AJV_DEFAULTS, ...AJV_CUSTOM_OPTIONS });
  return ({ schema, httpPart }) => {
    const validate = ajv.compile(schema as object);
    if (httpPart !== 'body') return validate;
    const validateBody = (data: unknown) => {
      if (isFeatureRowsBody(data)) return true;
      const valid = validate(data);
      validateBody.errors = validate.errors;
      return valid;
    };
    validateBody.errors = validate.errors;
    return validateBody;
  };
}

const predictRoutes: ModelRoutePlugin = async (app, { serving, metricsRegistry }) => {
  // In this plugin's context only: a plain feature-rows body is read straight into columns (no object per row);
  // every other body goes through the app's JSON parser as before.
  const parseJson = createJsonBodyParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const parsed = (body as string).length >= COLUMNAR_BODY_MIN_CHARS ? parseFeatureRowsBody(body as string, MAX_ROWS) : undefined;
    if (parsed === undefined) {
      parseJson(request, body as string, done);
      return;
    }
    // Refused escapes and control characters: the text holds nothing Postgres cannot store (storable-text.ts).
    markStorableJson(body as string, parsed);
    done(null, parsed);
  });

  // Read at scrape time from the log this plugin has used; a scrape must not start serving on its own.
  let log: PredictionLog | undefined;
  registerPredictionLogMetrics(metricsRegistry, async () => log?.stats());

  app.post(
    '/v1/models/:name/predict',
    {
      config: { roles: ['predict'] },
      bodyLimit: BODY_LIMITS.predict,
      validatorCompiler: predictValidatorCompiler(),
      // The 200 schema is a union: the schema serializer would validate every prediction (uuid format included)
      // to pick a branch before writing. The handler builds exactly that shape, so it is written by hand.
      serializerCompiler: ({ httpStatus }) =>
        httpStatus === '200' ? (data) => predictResponseJson(data as PredictResponse) : (data) => JSON.stringify(data),
      schema: {
        tags: ['models'],
        summary: `Score 1..${MAX_ROWS} raw source rows ({ rows }) or ready feature rows ({ features }) with the production version (400 names the offending row and field)`,
        description:
          'Every scored row is logged (GET /v1/models/:name/predictions) under its prediction id, which feedback refers to. ' +
          'When the log buffer is full the request is refused with 503 and Retry-After before anything is scored.',
        params: Type.Object({ name: ModelName }),
        body: PredictBody,
        response: { 200: PredictResult, 400: ErrorRef, 404: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof PredictBody> | FeatureRowsBody;
      log ??= (await serving.get()).predictionLog;
      try {
        return await predict(serving, request.params.name, body.features ? { features: body.features } : { rows: (body as Static<typeof PredictBody>).rows! }, {
          keyId: principalOf(request).keyId,
        });
      } catch (error) {
        if (error instanceof PredictionLogFullError) void reply.header('Retry-After', String(error.retryAfterSeconds));
        throw error;
      }
    },
  );
};

export default predictRoutes;
