// POST /v1/datasets behind the route: stream one uploaded file to a temp file (sha256 and size on the way), refuse
// it above the limit or when DuckDB cannot read it (removing the temp file), else rename it to its content address
// inside the first data root and record the upload with its audit row.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../../db/client.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { insertDatasetUpload, listDatasetUploads } from '../../db/repositories/dataset-uploads.js';
import type { DatasetUploadRow } from '../../db/schema.js';
import {
  DatasetUnreadableError,
  formatName,
  inspectUploadedTable,
  STORED_EXTENSION,
  uploadFormatOf,
} from '../../data/uploaded-dataset.js';
import { KeelError } from '../../errors/keel-error.js';

export interface DatasetUploadDeps {
  db: Db;
  /** Where uploads are stored: `<first data root>/uploads`, so ingest's data-root check accepts their uris. */
  uploadDir: string;
  maxBytes: number;
  duckdbMemoryLimit?: string;
}

export interface IncomingFile {
  fileName: string;
  stream: Readable;
  /** True once the multipart parser cut the file at the size limit. */
  truncated(): boolean;
}

export interface DatasetUploadView {
  id: string;
  uri: string;
  sha256: string;
  bytes: number;
  rows: number;
  columns: { name: string; type: string }[];
  format: string;
  fileName: string;
  uploadedBy: string;
  createdAt: string;
}

export async function uploadDataset(
  deps: DatasetUploadDeps,
  file: IncomingFile,
  actor: { actor: string; actorKeyId: string; role: string; requestId: string },
): Promise<DatasetUploadView> {
  const format = uploadFormatOf(file.fileName);
  if (format === null) {
    file.stream.resume(); // drain, so the client reads the answer instead of a reset connection
    throw new DatasetUnreadableError(
      `file ${JSON.stringify(file.fileName)}: the type must be CSV (.csv, .tsv), Parquet (.parquet) or JSON lines (.jsonl, .ndjson, .json)`,
      { field: 'file' },
    );
  }
  const incoming = join(deps.uploadDir, '.incoming');
  await mkdir(incoming, { recursive: true });
  const temp = join(incoming, `${randomUUID()}.part`);
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    const tooLarge = () =>
      new KeelError('PAYLOAD_TOO_LARGE', `file ${JSON.stringify(file.fileName)} is over the upload limit of ${deps.maxBytes} bytes (KEEL_UPLOAD_MAX_BYTES)`, {
        field: 'file',
        maxBytes: deps.maxBytes,
      });
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > deps.maxBytes) return done(tooLarge());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(file.stream, measure, createWriteStream(temp, { flags: 'wx' }));
    if (file.truncated()) throw tooLarge();
    if (bytes === 0) throw new DatasetUnreadableError(`file ${JSON.stringify(file.fileName)} is empty (0 bytes)`, { field: 'file' });
    const table = await inspectUploadedTable(temp, format, {
      label: `${formatName(format)} file ${JSON.stringify(file.fileName)}`,
      memoryLimit: deps.duckdbMemoryLimit,
    });
    const sha256 = hash.digest('hex');
    // Content-addressed: the same bytes uploaded twice are one file; rename within one folder is atomic.
    const uri = join(deps.uploadDir, `${sha256}${STORED_EXTENSION[format]}`);
    await rename(temp, uri);
    const row = await deps.db.transaction(async (tx) => {
      const inserted = await insertDatasetUpload(tx, {
        sha256,
        uri,
        fileName: file.fileName.slice(0, 500),
        format,
        sizeBytes: bytes,
        rowCount: table.rows,
        columns: table.columns,
        uploadedBy: actor.actor,
        uploadedByKeyId: actor.actorKeyId,
      });
      await writeAudit(tx, {
        actor: actor.actor,
        actorKeyId: actor.actorKeyId,
        role: actor.role,
        requestId: actor.requestId,
        action: 'dataset.upload',
        subject: `dataset_upload:${inserted.id}`,
        after: { uri, sha256, bytes, rows: table.rows, format, fileName: inserted.fileName },
      });
      return inserted;
    });
    return toView(row);
  } finally {
    await rm(temp, { force: true });
  }
}

export async function listUploads(db: Db, limit: number): Promise<DatasetUploadView[]> {
  return (await listDatasetUploads(db, limit)).map(toView);
}

function toView(row: DatasetUploadRow): DatasetUploadView {
  return {
    id: row.id,
    uri: row.uri,
    sha256: row.sha256,
    bytes: row.sizeBytes,
    rows: row.rowCount,
    columns: row.columns,
    format: row.format,
    fileName: row.fileName,
    uploadedBy: row.uploadedBy,
    createdAt: row.createdAt.toISOString(),
  };
}
