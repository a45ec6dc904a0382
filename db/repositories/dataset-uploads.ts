// Uploaded datasets (POST /v1/datasets): one row per upload, newest first when listed.
import { desc } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { datasetUploads, type DatasetUploadRow } from '../schema.js';

export type NewDatasetUpload = typeof datasetUploads.$inferInsert;

export async function insertDatasetUpload(db: DbOrTx, upload: NewDatasetUpload): Promise<DatasetUploadRow> {
  const [row] = await db.insert(datasetUploads).values(upload).returning();
  return row!;
}

export async function listDatasetUploads(db: DbOrTx, limit: number): Promise<DatasetUploadRow[]> {
  return db.select().from(datasetUploads).orderBy(desc(datasetUploads.createdAt), desc(datasetUploads.id)).limit(limit);
}
