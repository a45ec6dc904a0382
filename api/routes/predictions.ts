// GET /v1/models/:name/predictions: ops page through a model's prediction log (keyset on created_at, id).
import { Type } from '@sinclair/typebox';
import { listPredictionPage } from '../../db/repositories/predictions.js';
import { getModelByName } from '../../db/repositories/models.js';
import { KeelError } from '../../errors/keel-error.js';
import { ModelName } from '../../workflows/contracts/run-spec.js';
import { isStorableTime } from '../audit/query-time.js';
import { ErrorRef, QueryInteger } from '../schemas.js';
import type { ModelRoutePlugin } from './models.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

const LoggedPrediction = Type.Object({
  id: Type.String({ format: 'uuid' }),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  features: Type.Unknown({ description: 'The feature row the model scored (absent features as explicit nulls).' }),
  source: Type.Union([Type.Unknown(), Type.Null()], { description: 'The request row in source shape, if the caller sent one.' }),
  output: Type.Unknown({ description: '{ label, probability } (binary), { label, probabilities } (multiclass) or { value } (regression), as answered.' }),
  score: Type.Number({ description: 'The probability (binary), the top class\'s probability (multiclass) or the value (regression).' }),
  latencyMs: Type.Number({ description: 'The scoring time of the request the row came in (feature SQL and onnxruntime); every row of a request carries it.' }),
  keyId: Type.Union([Type.String(), Type.Null()], { description: "The caller's API key id." }),
});

/** The position after the last row of a page: `<created_at ISO>|<id>`, base64url. */
function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/i.test(id) || !isStorableTime(createdAt)) {
    throw new KeelError('VALIDATION_FAILED', 'querystring/cursor is not a cursor this endpoint returned', {
      issues: [{ location: 'querystring', path: '/cursor', message: 'is not a valid cursor' }],
    });
  }
  return { createdAt, id };
}

function parseTime(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (!isStorableTime(time)) {
    throw new KeelError('VALIDATION_FAILED', `querystring/${field} must be an ISO-8601 date-time in the years 0001–9999`, {
      issues: [{ location: 'querystring', path: `/${field}`, message: 'must be an ISO-8601 date-time in the years 0001–9999' }],
    });
  }
  return time;
}

const predictionLogRoutes: ModelRoutePlugin = async (app, { db }) => {
  app.get(
    '/v1/models/:name/predictions',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['models'],
        summary: "Page through a model's prediction log",
        description:
          'Rows with `from <= createdAt < to`, optionally of one `version`, newest first (`order=desc`, default) or ' +
          `oldest first (\`order=asc\`), at most \`limit\` (default ${DEFAULT_LIMIT}, max ${MAX_LIMIT}) per page. ` +
          'Pass the returned `nextCursor` as `cursor` (with the same filters and order) for the next page; it is null on the last one. ' +
          'Keyset pagination on (createdAt, id): rows logged while paging never shift or repeat a page.',
        params: Type.Object({ name: ModelName }),
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ description: 'ISO-8601; inclusive' })),
            to: Type.Optional(Type.String({ description: 'ISO-8601; exclusive' })),
            version: Type.Optional(QueryInteger),
            limit: Type.Optional(QueryInteger),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ predictions: Type.Array(LoggedPrediction), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          400: ErrorRef,
          404: ErrorRef,
        },
      },
    },
    async (request) => {
      const { query } = request;
      const model = await getModelByName(db, request.params.name);
      if (!model) throw new KeelError('MODEL_NOT_FOUND', `model "${request.params.name}" does not exist`, { model: request.params.name });
      const limit = Math.max(1, Math.min(Number(query.limit ?? DEFAULT_LIMIT), MAX_LIMIT));
      const rows = await listPredictionPage(db, {
        modelId: model.id,
        from: parseTime(query.from, 'from'),
        to: parseTime(query.to, 'to'),
        version: query.version === undefined ? undefined : Number(query.version),
        limit: limit + 1,
        order: query.order ?? 'desc',
        after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        predictions: page.map((row) => ({
          id: row.id,
          version: row.version,
          createdAt: row.createdAt.toISOString(),
          features: row.features,
          source: row.source,
          output: row.output,
          score: row.score,
          latencyMs: row.latencyMs,
          keyId: row.keyId,
        })),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );
};

export default predictionLogRoutes;
