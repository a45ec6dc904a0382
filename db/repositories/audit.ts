// Append-only audit trail: every state change writes one row in the transaction that makes the change, chained
// by hash to the row before it (audit-chain.ts). Never pass secrets.
import { and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { auditChainHead, auditLog, type AuditRow } from '../schema.js';
import type { Db, DbOrTx } from '../client.js';
import { redactUrlsDeep } from '../../runs/redact-urls.js';
import { asStoredJson, auditRowHash, GENESIS_HASH } from './audit-chain.js';

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
  /** Anything else about the change: a refusal's reason, a review comment, a trigger's cause. */
  details?: unknown;
  /** The HTTP request id, or the workflow/activity that acted. */
  requestId?: string | null;
}

/**
 * Pass the open transaction, so the audit row commits (or not) with the change. Locks the chain head until that
 * transaction ends, so concurrent writers append one after another and the hash chain stays linear.
 */
export async function writeAudit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  const write = async (tx: DbOrTx) => {
    const [head] = await tx.select().from(auditChainHead).where(eq(auditChainHead.id, 1)).for('update');
    if (!head) throw new Error('audit_chain_head has no row: the audit-trail migration did not run');
    // now() is the transaction's start, as on the rows the change itself writes; to the millisecond a JS Date keeps.
    const { rows } = await tx.execute<{ id: string; now_ms: string }>(
      sql`SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS id, floor(extract(epoch FROM now()) * 1000)::bigint AS now_ms`,
    );
    const fields = {
      id: Number(rows[0]!.id),
      actor: entry.actor,
      actorKeyId: entry.actorKeyId,
      role: entry.role,
      action: entry.action,
      subject: entry.subject,
      // Dataset URLs keep no query tokens or credentials in the trail, whoever writes the row.
      before: asStoredJson(redactUrlsDeep(entry.before)),
      after: asStoredJson(redactUrlsDeep(entry.after)),
      details: asStoredJson(redactUrlsDeep(entry.details)),
      requestId: entry.requestId ?? null,
      createdAt: new Date(Number(rows[0]!.now_ms)),
      prevHash: head.lastHash,
    };
    const hash = auditRowHash(fields);
    await tx.insert(auditLog).values({ ...fields, hash });
    await tx.update(auditChainHead).set({ lastId: fields.id, lastHash: hash }).where(eq(auditChainHead.id, 1));
  };
  // Called with the pool, not a transaction: the row and the head move together all the same.
  if ('rollback' in db) await write(db);
  else await (db as Db).transaction(write);
}

export interface AuditQuery {
  /** `subject` exactly, or every subject under it when it ends in `*` (e.g. `model:churn*`). */
  target?: string;
  actor?: string;
  action?: string;
  from?: Date;
  to?: Date;
  /** Rows with an id below this one (the previous page's `nextCursor`). */
  before?: number;
  limit: number;
}

/** Newest first, by id (the chain's order), so pages are stable while new rows arrive. */
export async function listAudit(db: DbOrTx, query: AuditQuery): Promise<{ rows: AuditRow[]; nextCursor: number | null }> {
  const conditions: SQL[] = [];
  if (query.target !== undefined) {
    conditions.push(
      query.target.endsWith('*')
        ? sql`starts_with(${auditLog.subject}, ${query.target.slice(0, -1)})`
        : eq(auditLog.subject, query.target),
    );
  }
  if (query.actor !== undefined) conditions.push(eq(auditLog.actor, query.actor));
  if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action));
  if (query.from) conditions.push(gte(auditLog.createdAt, query.from));
  if (query.to) conditions.push(lte(auditLog.createdAt, query.to));
  if (query.before !== undefined) conditions.push(lt(auditLog.id, query.before));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  return { rows: page, nextCursor: rows.length > query.limit ? page[page.length - 1]!.id : null };
}

export interface AuditVerification {
  ok: boolean;
  /** Rows whose hash was checked. */
  checked: number;
  /** Rows written before the chain existed (no hash to check). */
  unchained: number;
  lastId: number | null;
  firstBroken: { id: number; reason: string } | null;
}

const VERIFY_BATCH = 1000;

/** Re-walks the chain in id order and names the first row whose hash or link does not hold. */
export async function verifyAuditChain(db: Db): Promise<AuditVerification> {
  // One snapshot: rows appended while we walk are neither half-seen nor blamed.
  return db.transaction(
    async (tx) => {
      const [head] = await tx.select().from(auditChainHead).where(eq(auditChainHead.id, 1));
      if (!head) throw new Error('audit_chain_head has no row: the audit-trail migration did not run');
      const [{ unchained }] = (await tx
        .select({ unchained: sql<number>`count(*)::int` })
        .from(auditLog)
        .where(lte(auditLog.id, head.chainStartsAfterId))) as [{ unchained: number }];
      let previousHash = GENESIS_HASH;
      let previousId: number | null = null;
      let checked = 0;
      const broken = (id: number, reason: string): AuditVerification => ({
        ok: false,
        checked,
        unchained,
        lastId: head.lastId,
        firstBroken: { id, reason },
      });
      for (;;) {
        const batch = await tx
          .select()
          .from(auditLog)
          .where(gt(auditLog.id, previousId ?? head.chainStartsAfterId))
          .orderBy(asc(auditLog.id))
          .limit(VERIFY_BATCH);
        for (const row of batch) {
          if (row.hash === null || row.prevHash === null) return broken(row.id, 'row carries no hash');
          if (row.prevHash !== previousHash) {
            return broken(
              row.id,
              previousId === null
                ? 'prev_hash is not the chain start: an earlier row was removed or altered'
                : `prev_hash does not match row ${previousId}'s hash: a row between them was removed, or row ${previousId} was altered`,
            );
          }
          const expected = auditRowHash({ ...row, prevHash: row.prevHash });
          if (expected !== row.hash) return broken(row.id, 'hash does not match the row: the row was altered');
          previousHash = row.hash;
          previousId = row.id;
          checked += 1;
        }
        if (batch.length < VERIFY_BATCH) break;
      }
      // The head remembers the last row written: a missing tail shows up here.
      if ((previousId ?? head.chainStartsAfterId) !== head.lastId || previousHash !== head.lastHash) {
        return broken(head.lastId, `the last row written (${head.lastId}) is missing or altered; the chain ends at ${previousId ?? 'its start'}`);
      }
      return { ok: true, checked, unchained, lastId: previousId, firstBroken: null };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
