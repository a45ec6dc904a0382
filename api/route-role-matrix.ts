// The route × role matrix: every route the app registers, with who may call it, collected in one place as routes
// are added. A /v1/ or /ui/ route that does not say who may call it stops the app from starting.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ROLES, type Role } from '../db/schema.js';
import { hasAnyRole } from './auth/principal.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Open to callers without a key (e.g. a /ui/ sign-in page). Never allowed on /v1/ routes. */
    public?: true;
  }
  interface FastifyInstance {
    /** Every route registered so far, in registration order (see api/route-role-matrix.ts). */
    readonly routeRoleMatrix: readonly RouteRoleEntry[];
  }
}

/** `roles: null`: public (no key); `roles: []`: any valid key; otherwise one of the roles (admin passes all but reviewer). */
export interface RouteRoleEntry {
  method: string;
  url: string;
  roles: readonly Role[] | null;
}

/** Path prefixes whose every route must declare `config.roles` (or, outside /v1/, `config.public: true`). */
const GUARDED_PREFIXES = ['/v1/', '/ui/'] as const;

export class RouteWithoutRolesError extends Error {
  constructor(method: string, url: string, problem: string) {
    super(`${method} ${url}: ${problem} (see api/route-role-matrix.ts)`);
    this.name = 'RouteWithoutRolesError';
  }
}

function entriesOf(route: RouteOptions): RouteRoleEntry[] {
  const config = (route.config ?? {}) as { roles?: unknown; public?: unknown };
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const guarded = GUARDED_PREFIXES.some((prefix) => route.url.startsWith(prefix));
  const declaredRoles = config.roles;
  return methods.map((method) => {
    if (declaredRoles !== undefined) {
      if (!Array.isArray(declaredRoles) || declaredRoles.some((role) => !(ROLES as readonly unknown[]).includes(role))) {
        throw new RouteWithoutRolesError(method, route.url, `config.roles must be a list of ${ROLES.join(', ')}`);
      }
      if (config.public === true) throw new RouteWithoutRolesError(method, route.url, 'declares both config.roles and config.public');
      return { method, url: route.url, roles: declaredRoles as Role[] };
    }
    if (route.url.startsWith('/v1/')) {
      throw new RouteWithoutRolesError(method, route.url, 'every /v1/ route needs config.roles ([] = any valid key)');
    }
    if (guarded && config.public !== true) {
      throw new RouteWithoutRolesError(method, route.url, 'needs config.roles, or config.public: true for a page anyone may open');
    }
    return { method, url: route.url, roles: null };
  });
}

/**
 * Hooks `onRoute` on the root instance, before any route is registered: records each route's roles into
 * `app.routeRoleMatrix` and throws RouteWithoutRolesError (the app refuses to start) for a guarded route without them.
 */
export function registerRouteRoleMatrix(app: FastifyInstance): readonly RouteRoleEntry[] {
  const entries: RouteRoleEntry[] = [];
  app.decorate('routeRoleMatrix', entries);
  app.addHook('onRoute', (route) => {
    entries.push(...entriesOf(route));
  });
  return entries;
}

/** The roles a key holding exactly one role would pass the route with; every role for `[]`, none for public routes. */
export function rolesAllowed(entry: RouteRoleEntry): Role[] {
  if (entry.roles === null) return [];
  const roles = entry.roles;
  return ROLES.filter((role) => hasAnyRole({ roles: [role] }, roles));
}

/** The rows README shows: HEAD routes Fastify adds for each GET are left out (they answer as their GET does). */
export function documentedRoutes(entries: readonly RouteRoleEntry[]): RouteRoleEntry[] {
  const seen = new Set<string>();
  return entries
    .filter((entry) => entry.method !== 'HEAD' || !entries.some((other) => other.method === 'GET' && other.url === entry.url))
    .filter((entry) => {
      const key = `${entry.method} ${entry.url}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    // Code-point order, not localeCompare: the table must not depend on the machine's locale.
    .sort((a, b) => compare(a.url, b.url) || compare(a.method, b.method));
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const COLUMN_ORDER: readonly Role[] = ['predict', 'engineer', 'reviewer', 'ops', 'admin'];

/** The README table: one row per route, a ✓ under each role whose key gets past the role check. */
export function routeRoleMatrixMarkdown(entries: readonly RouteRoleEntry[]): string {
  const header = `| route | declared | ${COLUMN_ORDER.join(' | ')} |`;
  const separator = `|---|---|${COLUMN_ORDER.map(() => ':-:').join('|')}|`;
  const rows = documentedRoutes(entries).map((entry) => {
    const declared = entry.roles === null ? 'public (no key)' : entry.roles.length === 0 ? 'any key' : entry.roles.join(', ');
    const allowed = rolesAllowed(entry);
    const cells = COLUMN_ORDER.map((role) => (entry.roles === null ? '·' : allowed.includes(role) ? '✓' : '—'));
    return `| \`${entry.method} ${entry.url}\` | ${declared} | ${cells.join(' | ')} |`;
  });
  return [header, separator, ...rows].join('\n');
}
