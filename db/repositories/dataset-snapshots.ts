// Datasets and their immutable, content-addressed snapshots (one row per sha256, whichever run wrote it first).
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { datasets, datasetSnapshots, modelAliases, models, modelVersions, type DatasetSnapshotRow } from '../schema.js';
import { writeForRun } from './run-ownership.js';

export async function getSnapshot(db: DbOrTx, sha256: string): Promise<DatasetSnapshotRow | undefined> {
  const [row] = await db.select().from(datasetSnapshots).where(eq(datasetSnapshots.sha256, sha256)).limit(1);
  return row;
}

/** The dataset row of a source, created on first use; its id. */
export async function ensureDataset(db: DbOrTx, sourceKey: string, source: unknown): Promise<string | null> {
  await db.insert(datasets).values({ sourceKey, source }).onConflictDoNothing();
  const [dataset] = await db.select({ id: datasets.id }).from(datasets).where(eq(datasets.sourceKey, sourceKey));
  return dataset?.id ?? null;
}

export type NewSnapshot = typeof datasetSnapshots.$inferInsert;

/** Records a snapshot; the same bytes from any run are one snapshot, so a second insert changes nothing. */
export async function recordSnapshot(db: DbOrTx, snapshot: NewSnapshot): Promise<DatasetSnapshotRow | undefined> {
  const write = () => db.insert(datasetSnapshots).values(snapshot).onConflictDoNothing({ target: datasetSnapshots.sha256 });
  await (snapshot.createdByRun ? writeForRun(snapshot.createdByRun, write) : write());
  return getSnapshot(db, snapshot.sha256);
}

export async function setSnapshotProfile(db: DbOrTx, sha256: string, profile: unknown): Promise<void> {
  await db.update(datasetSnapshots).set({ profile }).where(eq(datasetSnapshots.sha256, sha256));
}

/** The training snapshot of the model's production version: the last accepted data. */
export async function getProductionSnapshotSha256(db: DbOrTx, model: string): Promise<string | null> {
  const [row] = await db
    .select({ sha256: modelVersions.snapshotSha256 })
    .from(models)
    .innerJoin(modelAliases, and(eq(modelAliases.modelId, models.id), eq(modelAliases.alias, 'production')))
    .innerJoin(modelVersions, and(eq(modelVersions.modelId, models.id), eq(modelVersions.version, modelAliases.version)))
    .where(eq(models.name, model))
    .limit(1);
  return row?.sha256 ?? null;
}
