// First start: install the admin key (the configured one, or a generated one printed once by the caller).
import type { KeelConfig } from '../../config.js';
import type { Db, DbOrTx } from '../../db/client.js';
import { findActiveAdminKeyId, insertApiKey } from '../../db/repositories/api-keys.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { claimInstallationFact, setInstallationFact } from '../../db/repositories/installation.js';
import { hashApiKey, lookupPrefix } from './api-key-secret.js';
import { insertGeneratedKey } from './api-keys.js';

export const ADMIN_BOOTSTRAP_FACT = 'admin_key_bootstrap';
/** The user the bootstrapped admin key belongs to. */
export const ADMIN_USER = 'admin';
const BOOTSTRAP_ACTOR = { actor: 'system:bootstrap', actorKeyId: null, role: null };

export interface AdminBootstrapResult {
  created: boolean;
  /** Only when a key was generated: show it to the operator once, it is not stored anywhere. */
  secret?: string;
  keyId?: string;
}

export interface AdminBootstrapOptions {
  /**
   * Hands a generated key to the operator (e.g. writes the 0600 key file) before the transaction commits: when it
   * fails, no key is installed and the next start tries again, so the only copy is never lost.
   */
  deliverGeneratedSecret?: (secret: string) => Promise<void>;
}

/**
 * Idempotent and safe when the API and workers start at once: the installation row's primary key
 * serialises concurrent first starts (the loser waits for the winner's commit, then does nothing).
 */
export async function ensureAdminKey(
  db: Db,
  config: Pick<KeelConfig, 'adminKey'>,
  options: AdminBootstrapOptions = {},
): Promise<AdminBootstrapResult> {
  return db.transaction(async (tx) => {
    const claimed = await claimInstallationFact(tx, ADMIN_BOOTSTRAP_FACT, { state: 'in_progress' });
    if (!claimed) return { created: false };

    const existingAdminId = await findActiveAdminKeyId(tx);
    if (existingAdminId !== undefined) {
      // Keys were created before this fact was recorded (e.g. by hand): adopt them, create nothing.
      await recordBootstrap(tx, { keyId: existingAdminId, source: 'existing' });
      return { created: false };
    }

    let keyId: string;
    let secret: string | undefined;
    if (config.adminKey !== undefined) {
      const row = await insertApiKey(tx, {
        name: 'admin (KEEL_ADMIN_KEY)',
        userName: ADMIN_USER,
        roles: ['admin'],
        prefix: lookupPrefix(config.adminKey),
        secretHash: await hashApiKey(config.adminKey),
        createdBy: null,
      });
      keyId = row.id;
    } else {
      const generated = await insertGeneratedKey(tx, { name: 'admin (generated)', userName: ADMIN_USER, roles: ['admin'], createdBy: null });
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
    if (secret !== undefined) await options.deliverGeneratedSecret?.(secret);
    return secret === undefined ? { created: true, keyId } : { created: true, keyId, secret };
  });
}

async function recordBootstrap(
  tx: DbOrTx,
  value: { keyId: string; source: 'configured' | 'generated' | 'existing' },
): Promise<void> {
  await setInstallationFact(tx, ADMIN_BOOTSTRAP_FACT, { state: 'done', ...value });
}

