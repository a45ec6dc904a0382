// The audit log's hash chain: each row's hash covers its canonical form and the previous row's hash, so an
// edited, removed or reordered row breaks every link after it.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields a row's hash covers (everything but the hash itself). */
export interface ChainedAuditFields {
  id: number;
  actor: string;
  actorKeyId: string | null;
  role: string | null;
  action: string;
  subject: string;
  before: unknown;
  after: unknown;
  details: unknown;
  requestId: string | null;
  createdAt: Date;
  prevHash: string;
}

/** JSON with object keys sorted at every depth: jsonb does not keep key order, the hash must not depend on it. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What a JSON value reads back as from jsonb (Dates become strings, undefined fields vanish). */
export function asStoredJson(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

export function auditRowHash(row: ChainedAuditFields): string {
  const canonical = canonicalJson({
    id: row.id,
    actor: row.actor,
    actorKeyId: row.actorKeyId,
    role: row.role,
    action: row.action,
    subject: row.subject,
    before: row.before,
    after: row.after,
    details: row.details,
    requestId: row.requestId,
    createdAt: row.createdAt.toISOString(),
    prevHash: row.prevHash,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
