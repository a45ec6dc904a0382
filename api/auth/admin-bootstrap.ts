// First start: install the admin key (the configured one, or a generated one printed once by the caller).
import { and, isNull, sql } from 'drizzle-orm';
import type { KeelConfig } from '../../config.js';
import type { Db } from '../../db/client.js';
import { apiKeys, installation } from '../../db/schema.js';
import { writeAudit } from '../audit.js';
import { hashApiKey, lookupPrefix } from './api-key-secret.js';
import { insertGeneratedKey } from './api-keys.js';

export const ADMIN_BOOTSTRAP_FACT = 'admin_key_bootstrap';
const BOOTSTRAP_ACTOR = { actor: 'system:bootstrap', actorKeyId: null, role: null };

export interface AdminBootstrapResult {
  created: boolean;
  /** Only when a key was generated: show it to the operator once, it is not stored anywhere. */
  secret?: string;
  keyId?: string;
}

/**
 * Idempotent and safe when the API and workers start at once: the installation row's primary key
 * serialises concurrent first starts (the loser waits for the winner's commit, then does nothing).
 */
export async function ensureAdminKey(db: Db, config: Pick<KeelConfig, 'adminKey'>): Promise<AdminBootstrapResult> {
  return db.transaction(async (tx) => {
    const claimed = await tx
      .insert(installation)
      .values({ key: ADMIN_BOOTSTRAP_FACT, value: { state: 'in_progress' } })
      .onConflictDoNothing()
      .returning({ key: installation.key });
    if (claimed.length === 0) return { created: false };

    const [existingAdmin] = await tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(isNull(apiKeys.revokedAt), sql`'admin' = any(${apiKeys.roles})`))
      .limit(1);
    if (existingAdmin) {
      // Keys were created before this fact was recorded (e.g. by hand): adopt them, create nothing.
      await recordBootstrap(tx, { keyId: existingAdmin.id, source: 'existing' });
      return { created: false };
    }

    let keyId: string;
    let secret: string | undefined;
    if (config.adminKey !== undefined) {
      const [row] = await tx
        .insert(apiKeys)
        .values({
          name: 'admin (KEEL_ADMIN_KEY)',
          roles: ['admin'],
          prefix: lookupPrefix(config.adminKey),
          secretHash: await hashApiKey(config.adminKey),
          createdBy: null,
        })
        .returning();
      keyId = row.id;
    } else {
      const generated = await insertGeneratedKey(tx, { name: 'admin (generated)', roles: ['admin'], createdBy: null });
      keyId = generated.row.id;
      secret = generated.secret;
    }
    const source = config.adminKey !== undefined ? 'configured' : 'generated';
    await recordBootstrap(tx, { keyId, source });
    await writeAudit(tx, {
      ...BOOTSTRAP_ACTOR,
      action: 'api_key.bootstrap_admin',
      subject: `api_key:${keyId}`,
      after: { id: keyId, roles: ['admin'], source },
    });
    return secret === undefined ? { created: true, keyId } : { created: true, keyId, secret };
  });
}

async function recordBootstrap(
  tx: Parameters<Parameters<Db['transaction']>[0]>[0],
  value: { keyId: string; source: 'configured' | 'generated' | 'existing' },
): Promise<void> {
  await tx
    .update(installation)
    .set({ value: { state: 'done', ...value }, updatedAt: sql`now()` })
    .where(sql`${installation.key} = ${ADMIN_BOOTSTRAP_FACT}`);
}

