// /v1/datasets: engineers upload a CSV, Parquet or JSON-lines file into the first data root and get back a uri a
// run spec can name; anyone with a key but predict lists the uploads.
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import { join } from 'node:path';
import { actorOf } from '../auth/principal.js';
import { listUploads, uploadDataset, type DatasetUploadDeps } from '../datasets/dataset-upload-service.js';
import { KeelError } from '../../errors/keel-error.js';
import { defineRoutes } from '../route-plugin.js';
import { ErrorRef, QueryInteger } from '../schemas.js';

const Column = Type.Object({ name: Type.String(), type: Type.String() });
const UploadView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  uri: Type.String({ description: 'Name it in a run spec as dataset.uri' }),
  sha256: Type.String(),
  bytes: Type.Integer(),
  rows: Type.Integer(),
  columns: Type.Array(Column),
  format: Type.String({ description: 'csv | parquet | ndjson' }),
  fileName: Type.String(),
  uploadedBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

/** Room for the multipart boundaries and part headers around the file. */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;

export default defineRoutes(async (app, { db, config }) => {
  if (config.dataRoots.length === 0) throw new Error('KEEL_DATA_ROOTS is empty: uploads need a data root to go into');
  const deps: DatasetUploadDeps = {
    db,
    uploadDir: join(config.dataRoots[0]!, 'uploads'),
    maxBytes: config.uploadMaxBytes,
    duckdbMemoryLimit: config.duckdbMemoryLimit,
  };
  // Registered here, not app-wide: only this route takes multipart bodies; everything else stays JSON-only.
  await app.register(multipart, {
    limits: { fileSize: config.uploadMaxBytes, files: 1, fields: 10, fieldSize: 1024, parts: 11, headerPairs: 100 },
  });

  app.post(
    '/v1/datasets',
    {
      config: { roles: ['engineer'] },
      schema: {
        tags: ['datasets'],
        summary: 'Upload a dataset (multipart field "file": CSV, Parquet or JSON lines); returns a uri for a run spec',
        consumes: ['multipart/form-data'],
        response: { 201: UploadView, 400: ErrorRef, 413: ErrorRef, 415: ErrorRef },
      },
    },
    async (request, reply) => {
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > config.uploadMaxBytes + MULTIPART_OVERHEAD_BYTES) {
        throw new KeelError('PAYLOAD_TOO_LARGE', `the upload (${declared} bytes) is over the limit of ${config.uploadMaxBytes} bytes (KEEL_UPLOAD_MAX_BYTES)`, {
          maxBytes: config.uploadMaxBytes,
        });
      }
      if (!request.isMultipart()) {
        throw new KeelError('UNSUPPORTED_MEDIA_TYPE', 'send the dataset as multipart/form-data with the file in the field "file"');
      }
      try {
        const part = await request.file();
        if (!part || part.fieldname !== 'file') {
          part?.file.resume();
          throw new KeelError('VALIDATION_FAILED', 'body/file is required: a multipart file field named "file"', { field: 'file' });
        }
        const upload = await uploadDataset(
          deps,
          { fileName: part.filename, stream: part.file, truncated: () => part.file.truncated },
          actorOf(request),
        );
        return reply.status(201).send(upload);
      } catch (error) {
        throw malformedMultipart(error) ?? error;
      }
    },
  );

  app.get(
    '/v1/datasets',
    {
      config: { roles: ['engineer', 'reviewer', 'ops'] },
      schema: {
        tags: ['datasets'],
        summary: 'Uploaded datasets, newest first',
        querystring: Type.Object({ limit: Type.Optional(QueryInteger) }, { additionalProperties: false }),
        response: { 200: Type.Object({ datasets: Type.Array(UploadView) }), 400: ErrorRef },
      },
    },
    async (request) => ({ datasets: await listUploads(db, Math.min(Number(request.query.limit ?? 100), 1000)) }),
  );
});

/** A body the multipart parser (busboy, @fastify/multipart) cannot read is the client's error: 400, not 500. */
function malformedMultipart(error: unknown): KeelError | undefined {
  if (error instanceof KeelError || !(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const fromParser =
    (typeof code === 'string' && code.startsWith('FST_')) ||
    /^(Unexpected end of (form|multipart data)|Malformed|Multipart: Boundary not found|Part terminated early)/.test(error.message);
  if (!fromParser) return undefined;
  if ((error as { statusCode?: unknown }).statusCode === 413) {
    return new KeelError('PAYLOAD_TOO_LARGE', `the upload is over a multipart limit: ${error.message}`, { field: 'file' });
  }
  return new KeelError('VALIDATION_FAILED', `body is not valid multipart/form-data: ${error.message}`, { field: 'file' });
}
