// Append-only audit trail: every state change through the API writes one row. Never pass secrets.
import { auditLog } from '../schema.js';
import type { DbOrTx } from '../client.js';

export interface AuditEntry {
  /** Name of the key (or system component) that acted. */
  actor: string;
  actorKeyId: string | null;
  /** The role the action was authorised under. */
  role: string | null;
  /** Dotted verb, e.g. `api_key.create`, `run.start`, `model.rollback`. */
  action: string;
  /** What was acted on, `<kind>:<id>`, e.g. `api_key:2b1c…`, `run:abc`, `model:churn`. */
  subject: string;
  before?: unknown;
  after?: unknown;
}

/** Pass the open transaction, so the audit row commits (or not) with the change. */
export async function writeAudit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values({
    actor: entry.actor,
    actorKeyId: entry.actorKeyId,
    role: entry.role,
    action: entry.action,
    subject: entry.subject,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}
