// API keys: stored hashed, looked up by their public prefix, revoked (never deleted).
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { apiKeys, type ApiKeyRow, type Role } from '../schema.js';

export interface NewApiKey {
  name: string;
  /** The person or service the key belongs to. */
  userName: string;
  roles: Role[];
  prefix: string;
  secretHash: string;
  createdBy: string | null;
}

export async function insertApiKey(db: DbOrTx, key: NewApiKey): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(key).returning();
  return row!;
}

/** Oldest first. */
export async function listApiKeys(db: DbOrTx, options: { includeRevoked: boolean }): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(options.includeRevoked ? undefined : isNull(apiKeys.revokedAt))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

export async function findActiveApiKeyByPrefix(db: DbOrTx, prefix: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

/** A web session names its key by id: the key must still be active for the session to count. */
export async function findActiveApiKeyById(db: DbOrTx, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

export async function touchApiKeyLastUsed(db: DbOrTx, id: string): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: sql`now()` }).where(eq(apiKeys.id, id));
}

const isActiveAdmin = () => and(isNull(apiKeys.revokedAt), sql`'admin' = any(${apiKeys.roles})`);

export async function findActiveAdminKeyId(db: DbOrTx): Promise<string | undefined> {
  const [row] = await db.select({ id: apiKeys.id }).from(apiKeys).where(isActiveAdmin()).limit(1);
  return row?.id;
}

/** Locks the active admin keys (in id order, so concurrent callers cannot deadlock) and returns their ids. */
export async function lockActiveAdminKeyIds(tx: DbOrTx): Promise<string[]> {
  const rows = await tx.select({ id: apiKeys.id }).from(apiKeys).where(isActiveAdmin()).orderBy(asc(apiKeys.id)).for('update');
  return rows.map((row) => row.id);
}

export async function lockApiKey(tx: DbOrTx, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
  return row;
}

export async function markApiKeyRevoked(db: DbOrTx, id: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db.update(apiKeys).set({ revokedAt: sql`now()` }).where(eq(apiKeys.id, id)).returning();
  return row;
}

/** The user a key belongs to (revoked keys too: a run's requester stays its requester); undefined for an unknown id. */
export async function findApiKeyUser(db: DbOrTx, id: string): Promise<string | undefined> {
  const [row] = await db.select({ userName: apiKeys.userName }).from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  return row?.userName;
}
