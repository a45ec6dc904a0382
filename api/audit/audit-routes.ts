// /v1/audit: ops and admins read the audit trail (filtered, paged newest first) and check its hash chain.
import { Type } from '@sinclair/typebox';
import { listAudit, verifyAuditChain } from '../../db/repositories/audit.js';
import type { AuditRow } from '../../db/schema.js';
import { KeelError } from '../../errors/keel-error.js';
import { defineRoutes } from '../route-plugin.js';
import { ErrorRef, QueryInteger } from '../schemas.js';
import { parseQueryTime } from './query-time.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const AuditEntryView = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  actorKeyId: Nullable(Type.String()),
  role: Nullable(Type.String({ description: 'The role the action was authorised under.' })),
  action: Type.String(),
  target: Type.String({ description: '`<kind>:<id>`, e.g. `run:abc`, `model:churn`, `api_key:…`' }),
  before: Type.Unknown(),
  after: Type.Unknown(),
  details: Type.Unknown(),
  requestId: Nullable(Type.String()),
  prevHash: Nullable(Type.String()),
  hash: Nullable(Type.String()),
});

const AuditQuery = Type.Object(
  {
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Exact target, or a prefix ending in `*` (e.g. `model:churn*`).' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    from: Type.Optional(Type.String({ description: 'ISO 8601 time with a zone; rows at or after it.' })),
    to: Type.Optional(Type.String({ description: 'ISO 8601 time with a zone; rows at or before it.' })),
    cursor: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'The previous page\'s `nextCursor`.' })),
    limit: Type.Optional(QueryInteger),
  },
  { additionalProperties: false },
);

function toView(row: AuditRow) {
  return {
    id: row.id,
    at: row.createdAt.toISOString(),
    actor: row.actor,
    actorKeyId: row.actorKeyId,
    role: row.role,
    action: row.action,
    target: row.subject,
    before: row.before,
    after: row.after,
    details: row.details,
    requestId: row.requestId,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

export default defineRoutes(async (app, { db }) => {
  app.get(
    '/v1/audit',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['audit'],
        summary: 'The audit trail, newest first; filter by target, actor, action and time; page with `cursor`',
        querystring: AuditQuery,
        response: {
          200: Type.Object({ entries: Type.Array(AuditEntryView), nextCursor: Nullable(Type.String()) }),
          400: ErrorRef,
        },
      },
    },
    async (request) => {
      const query = request.query;
      const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
      if (limit < 1 || limit > MAX_LIMIT) {
        throw new KeelError('VALIDATION_FAILED', `querystring/limit must be between 1 and ${MAX_LIMIT}`, { field: 'querystring/limit' });
      }
      const from = parseQueryTime('from', query.from);
      const to = parseQueryTime('to', query.to);
      if (from && to && from > to) {
        throw new KeelError('VALIDATION_FAILED', 'querystring/from must not be after querystring/to', { field: 'querystring/from' });
      }
      const page = await listAudit(db, {
        target: query.target,
        actor: query.actor,
        action: query.action,
        from,
        to,
        before: query.cursor === undefined ? undefined : Number(query.cursor),
        limit,
      });
      return { entries: page.rows.map(toView), nextCursor: page.nextCursor === null ? null : String(page.nextCursor) };
    },
  );

  app.get(
    '/v1/audit/verify',
    {
      config: { roles: ['ops'] },
      schema: {
        tags: ['audit'],
        summary: 'Re-walk the audit hash chain; names the first row that was altered, removed or inserted out of order',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            checked: Type.Integer({ description: 'Rows whose hash was checked.' }),
            unchained: Type.Integer({ description: 'Rows written before the chain existed (no hash).' }),
            lastId: Nullable(Type.Integer()),
            firstBroken: Nullable(Type.Object({ id: Type.Integer(), reason: Type.String() })),
          }),
        },
      },
    },
    async () => verifyAuditChain(db),
  );
});
