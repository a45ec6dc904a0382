// POST /v1/models/:name/feedback: true labels for earlier predictions, as items or from a dataset file.
import { Type } from '@sinclair/typebox';
import { getModelByName } from '../../db/repositories/models.js';
import { KeelError } from '../../errors/keel-error.js';
import { parseFeedbackItems, recordFeedback, recordFeedbackFromDataset, type FeedbackTask } from '../../serving/feedback.js';
import { ModelName } from '../../workflows/contracts/run-spec.js';
import { BODY_LIMITS } from '../body-limits.js';
import { ErrorRef } from '../schemas.js';
import type { ModelRoutePlugin } from './models.js';

const MAX_ITEMS = 10_000;

const FeedbackItem = Type.Object(
  {
    predictionId: Type.String({ maxLength: 64, description: 'The `id` predict returned for the row.' }),
    label: Type.Optional(
      Type.Union([Type.Number(), Type.Boolean(), Type.String({ maxLength: 256 })], {
        description: 'Binary models: 0/1 or true/false. Multiclass models: the true class by name (one of the classes predict answers with).',
      }),
    ),
    value: Type.Optional(Type.Number({ description: 'Regression models: the true value (within ±1e100: the monitor sums its squared error in float8).' })),
  },
  { additionalProperties: false },
);

const FeedbackBody = Type.Object(
  {
    items: Type.Optional(Type.Array(FeedbackItem, { minItems: 1, maxItems: MAX_ITEMS })),
    dataset: Type.Optional(
      Type.Object({ uri: Type.String({ minLength: 1, maxLength: 4096, description: 'Local path inside KEEL_DATA_ROOTS' }) }, { additionalProperties: false }),
    ),
    idColumn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    labelColumn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    overwrite: Type.Optional(Type.Boolean({ description: 'Replace labels already given (default false: listed in duplicates).' })),
  },
  { additionalProperties: false },
);

const FeedbackResponse = Type.Object({
  accepted: Type.Integer({ description: 'Labels written.' }),
  unknown: Type.Array(Type.String(), { description: 'Ids that are not predictions of this model; nothing was written for them.' }),
  duplicates: Type.Array(Type.String(), { description: 'Ids already labelled (or given twice) and left unchanged.' }),
});

function badRequest(message: string, field: string): KeelError {
  return new KeelError('VALIDATION_FAILED', message, { issues: [{ location: 'body', path: `/${field}`, message }] });
}

const feedbackRoutes: ModelRoutePlugin = async (app, { db, serving, config }) => {
  app.post(
    '/v1/models/:name/feedback',
    {
      config: { roles: ['predict', 'engineer'] },
      bodyLimit: BODY_LIMITS.feedback,
      schema: {
        tags: ['models'],
        summary: 'Attach true labels to earlier predictions',
        description:
          `Either \`items\` (1..${MAX_ITEMS} of { predictionId, label } for binary models (0/1) and multiclass models (the class ` +
          'name), { predictionId, value } for regression) ' +
          'or `dataset: { uri }` with `idColumn` and `labelColumn` (a CSV/Parquet/JSON file inside the data roots, read ' +
          'with DuckDB and written in batches). Unknown ids are listed in `unknown`; an id already labelled is listed in ' +
          '`duplicates` and kept unless `overwrite: true`. A bad item or row is a 400 naming it, with nothing written.',
        params: Type.Object({ name: ModelName }),
        body: FeedbackBody,
        response: { 200: FeedbackResponse, 400: ErrorRef, 404: ErrorRef, 422: ErrorRef, 503: ErrorRef },
      },
    },
    async (request) => {
      const { body } = request;
      const model = await getModelByName(db, request.params.name);
      if (!model) throw new KeelError('MODEL_NOT_FOUND', `model "${request.params.name}" does not exist`, { model: request.params.name });
      const target = { modelId: model.id, task: model.task as FeedbackTask };
      const overwrite = body.overwrite ?? false;
      const { predictionLog } = await serving.get();
      if (body.items !== undefined) {
        if (body.dataset !== undefined) throw badRequest('body must have either items or dataset, not both', 'dataset');
        if (body.idColumn !== undefined || body.labelColumn !== undefined) {
          throw badRequest('idColumn and labelColumn go with dataset', body.idColumn !== undefined ? 'idColumn' : 'labelColumn');
        }
        return await recordFeedback({ db, predictionLog }, target, parseFeedbackItems(target.task, body.items), overwrite);
      }
      if (body.dataset === undefined) throw badRequest('body must have items or dataset', 'items');
      if (body.idColumn === undefined) throw badRequest('idColumn is required with dataset', 'idColumn');
      if (body.labelColumn === undefined) throw badRequest('labelColumn is required with dataset', 'labelColumn');
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(body.dataset.uri)) {
        throw new KeelError('SOURCE_NOT_ALLOWED', 'feedback datasets are read from local paths inside the data roots, not URLs', {
          uri: body.dataset.uri,
        });
      }
      return await recordFeedbackFromDataset(
        { db, predictionLog, settings: { dataRoots: config.dataRoots, duckdbMemoryLimit: config.duckdbMemoryLimit } },
        target,
        { path: body.dataset.uri, idColumn: body.idColumn, labelColumn: body.labelColumn },
        overwrite,
      );
    },
  );
};

export default feedbackRoutes;
