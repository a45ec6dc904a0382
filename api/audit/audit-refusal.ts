// A refused attempt changes nothing, but who tried what and why it was refused belongs in the audit trail too.
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../db/client.js';
import { writeAudit } from '../../db/repositories/audit.js';
import { actorOf } from '../auth/principal.js';
import { toErrorResponse } from '../errors.js';

/**
 * Runs `attempt`; when it is refused with a client error (e.g. four eyes, not awaiting review), writes
 * `<action>_refused` naming the error code and message, then rethrows the refusal unchanged.
 */
export async function auditingRefusal<T>(
  db: Db,
  request: FastifyRequest,
  audit: { action: string; subject: string; details?: Record<string, unknown> },
  attempt: () => Promise<T>,
): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    // The same mapping the error handler answers with: the workflow's own refusals (an update validator's typed
    // failures) count as much as the API's.
    const { status, body } = toErrorResponse(error);
    if (status >= 400 && status < 500) {
      await writeAudit(db, {
        ...actorOf(request),
        action: `${audit.action}_refused`,
        subject: audit.subject,
        details: { ...audit.details, status, code: body.error.code, reason: body.error.message },
      });
    }
    throw error;
  }
}
