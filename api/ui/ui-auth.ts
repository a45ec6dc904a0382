// How the web pages authenticate: a session cookie (api/ui/ui-session.ts) instead of a bearer key, with the same
// role rule as the API (`config: { roles }`, admin passing all but reviewer). No session → the sign-in page.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/client.js';
import { hasAnyRole } from '../auth/principal.js';
import { sessionPrincipal } from './ui-session.js';

export function signInLocation(request: FastifyRequest): string {
  const next = request.method === 'GET' ? request.url : request.headers.referer ? safeNext(new URL(request.headers.referer, 'http://x').pathname) : '/ui/';
  return `/ui/login?next=${encodeURIComponent(safeNext(next))}`;
}

/** Only a path under /ui/ of this site: never an open redirect to another origin. */
export function safeNext(next: unknown): string {
  // Printable ASCII only (a request's own URL is percent-encoded), no backslash: a browser drops tabs and line
  // breaks (`/ui\t//evil` → `//evil`), and a line break in a Location header would fail the response.
  // (`!-[` and `]-~` are ASCII 0x21–0x7e without `\`.)
  return typeof next === 'string' && /^\/ui(\/[!-[\]-~]*)?$/.test(next) && !next.startsWith('//') ? next : '/ui/';
}

/** Adds to every route of this (encapsulated) scope: resolve the session, then check the route's roles. */
export function registerUiAuth(app: FastifyInstance, db: Db, forbidden: (request: FastifyRequest, reply: FastifyReply, message: string) => Promise<unknown>): void {
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    // A web page anyone may open without a session (sign-in, the stylesheet): `config.public` (api/route-role-matrix.ts).
    if (config.public === true) return;
    const principal = await sessionPrincipal(db, request);
    if (!principal) return reply.redirect(signInLocation(request), 303);
    request.principal = principal;
    const roles = config.roles ?? [];
    if (!hasAnyRole(principal, roles)) {
      return forbidden(request, reply, `this page needs one of the roles: ${roles.join(', ')}; you (${principal.user}) have ${principal.roles.join(', ')}`);
    }
  });
}
