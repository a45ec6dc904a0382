// Who is calling, and the role rule: `admin` implies every role but `reviewer` (managing keys and policies must not
// make anyone a reviewer: four eyes needs a second person who was given the reviewer role).
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../db/schema.js';
import { KeelError } from '../../errors/keel-error.js';

export interface Principal {
  keyId: string;
  /** The key's name. */
  name: string;
  /** The person (or service) the key belongs to: four eyes compares users, whatever keys they hold. */
  user: string;
  roles: Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on public routes (health, metrics, docs). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /**
     * Roles allowed to call the route (any one suffices; `admin` passes unless the route needs `reviewer`).
     * `[]` means any authenticated key. Routes under /v1/ always require a key, even without this.
     */
    roles?: readonly Role[];
  }
}

/**
 * Who may read runs, schedules, models and reports (run specs with their SQL and dataset paths, data profiles with
 * category values and ranges): every role but `predict` (admin too). A predict-only key reads predictions only.
 */
export const STAFF_READERS: readonly Role[] = ['engineer', 'reviewer', 'ops'];

/** Roles `admin` does not imply: deciding a review needs the role itself. */
const NOT_IMPLIED_BY_ADMIN: readonly Role[] = ['reviewer'];

export function hasRole(principal: Pick<Principal, 'roles'>, role: Role): boolean {
  return principal.roles.includes(role) || (principal.roles.includes('admin') && !NOT_IMPLIED_BY_ADMIN.includes(role));
}

export function hasAnyRole(principal: Pick<Principal, 'roles'>, roles: readonly Role[]): boolean {
  return roles.length === 0 || roles.some((role) => hasRole(principal, role));
}

/** The caller of an authenticated route; throws 401 if called on a public one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new KeelError('UNAUTHENTICATED', 'missing API key');
  return request.principal;
}

/** Who did it, for audit rows: the user, the key, the request, and the role the route required that the caller holds. */
export function actorOf(request: FastifyRequest): { actor: string; actorKeyId: string; role: string; requestId: string } {
  const principal = principalOf(request);
  const required = request.routeOptions.config.roles ?? [];
  const acting =
    required.find((role) => principal.roles.includes(role)) ??
    (required.length > 0 && hasAnyRole({ roles: ['admin'] }, required) && principal.roles.includes('admin') ? 'admin' : principal.roles.join(','));
  return { actor: principal.user, actorKeyId: principal.keyId, role: acting, requestId: request.id };
}
