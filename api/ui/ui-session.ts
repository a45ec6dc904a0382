// A web session: signing in with an API key sets an HttpOnly, SameSite=Strict cookie that names the key (by id) and
// when the session ends, signed by @fastify/cookie. Every page re-reads the key from Postgres, so revoking the key
// ends its sessions at once; the secret never travels again after the sign-in form.
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/client.js';
import { findActiveApiKeyById } from '../../db/repositories/api-keys.js';
import type { Principal } from '../auth/principal.js';

export const SESSION_COOKIE = 'keel_session';
export const UI_COOKIE_PATH = '/ui';
/** A session lasts a working day; signing in again starts a new one. */
export const SESSION_LIFETIME_MS = 8 * 60 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The cookie-signing secret: derived from KEEL_SIGNING_KEY (its own purpose label, so a cookie signature can never
 * pass for a review signature), shared by every API replica; without that key, a random one per process.
 */
export function sessionCookieSecret(signingKey: string | undefined): string {
  if (!signingKey) return randomBytes(32).toString('hex');
  return createHmac('sha256', signingKey).update('keel-ui-session-cookie-v1').digest('hex');
}

function cookieOptions(request: FastifyRequest) {
  return {
    path: UI_COOKIE_PATH,
    httpOnly: true,
    sameSite: 'strict' as const,
    // Behind TLS (directly or via a proxy Fastify trusts) the cookie is never sent in clear.
    secure: request.protocol === 'https',
    signed: true,
  };
}

export function startSession(request: FastifyRequest, reply: FastifyReply, principal: Principal, now = Date.now()): void {
  const value = JSON.stringify({ k: principal.keyId, e: now + SESSION_LIFETIME_MS });
  void reply.setCookie(SESSION_COOKIE, value, { ...cookieOptions(request), maxAge: SESSION_LIFETIME_MS / 1000 });
}

export function endSession(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
}

/** The signed-in principal, or null (no cookie, a forged or expired one, or its key revoked since). */
export async function sessionPrincipal(db: Db, request: FastifyRequest, now = Date.now()): Promise<Principal | null> {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return null;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return null;
  let session: { k?: unknown; e?: unknown };
  try {
    session = JSON.parse(unsigned.value) as { k?: unknown; e?: unknown };
  } catch {
    return null;
  }
  if (typeof session.k !== 'string' || !UUID.test(session.k) || typeof session.e !== 'number' || session.e <= now) return null;
  const row = await findActiveApiKeyById(db, session.k);
  return row ? { keyId: row.id, name: row.name, user: row.userName, roles: row.roles } : null;
}
