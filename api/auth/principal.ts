// Who is calling, and the role rule: `admin` implies every role.
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../db/schema.js';
import { KeelError } from '../../errors/keel-error.js';

export interface Principal {
  keyId: string;
  name: string;
  roles: Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on public routes (health, metrics, docs). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /**
     * Roles allowed to call the route (any one suffices; `admin` always passes).
     * `[]` means any authenticated key. Routes under /v1/ always require a key, even without this.
     */
    roles?: readonly Role[];
  }
}

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.includes(role) || principal.roles.includes('admin');
}

export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return roles.length === 0 || roles.some((role) => hasRole(principal, role));
}

/** The caller of an authenticated route; throws 401 if called on a public one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new KeelError('UNAUTHENTICATED', 'missing API key');
  return request.principal;
}

/** Who did it, for audit rows: the role is the one the route required that the caller holds. */
export function actorOf(request: FastifyRequest): { actor: string; actorKeyId: string; role: string; requestId: string } {
  const principal = principalOf(request);
  const required = request.routeOptions.config.roles ?? [];
  const acting =
    required.find((role) => principal.roles.includes(role)) ??
    (required.length > 0 && principal.roles.includes('admin') ? 'admin' : principal.roles.join(','));
  return { actor: principal.name, actorKeyId: principal.keyId, role: acting, requestId: request.id };
}
