// API key use cases: create, list, find for verification, revoke. Each state change is audited in its transaction.
import type { Db, DbOrTx } from '../../db/client.js';
import {
  insertApiKey,
  listApiKeys as listApiKeyRows,
  lockActiveAdminKeyIds,
  lockApiKey,
  markApiKeyRevoked,
} from '../../db/repositories/api-keys.js';
import { writeAudit, type AuditEntry } from '../../db/repositories/audit.js';
import type { ApiKeyRow, Role } from '../../db/schema.js';
import { KeelError } from '../../errors/keel-error.js';
import { generateApiKey, hashApiKey } from './api-key-secret.js';

export type Actor = Pick<AuditEntry, 'actor' | 'actorKeyId' | 'role'>;

/** What may be shown about a key: never the hash, never the secret. */
export interface ApiKeyView {
  id: string;
  name: string;
  user: string;
  prefix: string;
  roles: Role[];
  createdBy: string | null;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export function toApiKeyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    user: row.userName,
    prefix: row.prefix,
    roles: row.roles,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

function auditView(row: ApiKeyRow) {
  const { id, name, user, prefix, roles, revokedAt } = toApiKeyView(row);
  return { id, name, user, prefix, roles, revokedAt };
}

/** Postgres unique_violation on the prefix index: a new random prefix is drawn. */
function isPrefixCollision(error: unknown): boolean {
  const pgError = (error as { cause?: { code?: string; constraint?: string } }).cause ?? (error as { code?: string; constraint?: string });
  return pgError.code === '23505' && pgError.constraint === 'api_keys_prefix_idx';
}

/** Inserts a key row (within `tx`) for a generated secret; retries the rare prefix collision. */
export async function insertGeneratedKey(
  tx: DbOrTx,
  input: { name: string; userName: string; roles: Role[]; createdBy: string | null },
): Promise<{ row: ApiKeyRow; secret: string }> {
  for (let attempt = 0; ; attempt++) {
    const { prefix, secret } = generateApiKey();
    const secretHash = await hashApiKey(secret);
    try {
      // A savepoint, so a collision does not abort the surrounding transaction.
      const row = await tx.transaction((inner) =>
        insertApiKey(inner, { name: input.name, userName: input.userName, roles: input.roles, prefix, secretHash, createdBy: input.createdBy }),
      );
      return { row, secret };
    } catch (error) {
      if (attempt < 3 && isPrefixCollision(error)) continue;
      throw error;
    }
  }
}

/**
 * Creates a key for a user. Without `user` the key belongs to a user named exactly after the key (as keys from
 * before users were migrated); give every key of one person the same user, or four eyes cannot tell them apart.
 */
export async function createApiKey(
  db: Db,
  input: { name: string; roles: Role[]; user?: string },
  actor: Actor,
): Promise<{ key: ApiKeyView; secret: string }> {
  const roles = [...new Set(input.roles)];
  const userName = input.user ?? input.name;
  if (userName.startsWith('system:')) {
    throw new KeelError('VALIDATION_FAILED', `body/${input.user === undefined ? 'name' : 'user'} must not start with "system:" (Keel's own requesters)`);
  }
  return db.transaction(async (tx) => {
    const { row, secret } = await insertGeneratedKey(tx, {
      name: input.name,
      userName,
      roles,
      createdBy: actor.actorKeyId,
    });
    await writeAudit(tx, { ...actor, action: 'api_key.create', subject: `api_key:${row.id}`, after: auditView(row) });
    return { key: toApiKeyView(row), secret };
  });
}

export async function listApiKeys(db: Db, options: { includeRevoked: boolean }): Promise<ApiKeyView[]> {
  const rows = await listApiKeyRows(db, options);
  return rows.map(toApiKeyView);
}

/**
 * Revokes a key. Revoking an already revoked key changes nothing (and audits nothing).
 * Refuses to revoke the last active admin key: nobody could manage keys afterwards.
 */
export async function revokeApiKey(db: Db, id: string, actor: Actor): Promise<{ changed: boolean }> {
  return db.transaction(async (tx) => {
    // Lock the active admin keys first, so two admins revoking each other cannot both succeed.
    const activeAdmins = await lockActiveAdminKeyIds(tx);
    const target = await lockApiKey(tx, id);
    if (!target) throw new KeelError('NOT_FOUND', `API key ${id} not found`);
    if (target.revokedAt) return { changed: false };
    if (target.roles.includes('admin') && activeAdmins.length <= 1) {
      throw new KeelError('CONFLICT', 'cannot revoke the last active admin key; create another admin key first');
    }
    const revoked = await markApiKeyRevoked(tx, id);
    await writeAudit(tx, {
      ...actor,
      action: 'api_key.revoke',
      subject: `api_key:${id}`,
      before: auditView(target),
      after: auditView(revoked!),
    });
    return { changed: true };
  });
}
