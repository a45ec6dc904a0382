// Bearer API key authentication and role checks, attached to every route that needs them.
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import type { Db } from '../../db/client.js';
import { KeelError } from '../../errors/keel-error.js';
import { findActiveApiKeyByPrefix, touchApiKeyLastUsed } from '../../db/repositories/api-keys.js';
import { Counter, type Registry } from 'prom-client';
import { isConfiguredKey, isGeneratedKeyFormat, lookupPrefix, verifyApiKey } from './api-key-secret.js';
import { hasAnyRole, type Principal } from './principal.js';
import { VerifiedKeyCache } from './verified-key-cache.js';

export interface AuthOptions {
  db: Db;
  /** How long a verified key is trusted without re-checking Postgres; also the revocation delay across processes. */
  cacheTtlMs?: number;
  /** KEEL_ADMIN_KEY when set: the one token outside the generated `keel_…` format that is worth verifying. */
  configuredKey?: string;
  /** Where the count of scrypt verifications goes (`keel_api_key_verifications_total`). */
  metricsRegistry?: Registry;
}

export const DEFAULT_KEY_CACHE_TTL_MS = 5_000;
const MAX_TOKEN_LENGTH = 512;

/** A route needs a key when it declares roles, and every /v1/ route does. */
export function routeRequiresAuth(route: Pick<RouteOptions, 'url' | 'config'>): boolean {
  const config = route.config as { roles?: unknown } | undefined;
  return config?.roles !== undefined || route.url.startsWith('/v1/');
}

/** The server-rendered pages under /ui/: authenticated by api/ui/ui-auth.ts, not here. */
export function isWebPageRoute(url: string): boolean {
  return url === '/ui' || url.startsWith('/ui/');
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) throw new KeelError('UNAUTHENTICATED', 'missing API key: send Authorization: Bearer <key>');
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match || match[1].length > MAX_TOKEN_LENGTH) {
    throw new KeelError('UNAUTHENTICATED', 'malformed Authorization header: expected Bearer <key>');
  }
  return match[1];
}

/**
 * Must be called on the root instance before routes are registered: it hooks `onRoute` to add
 * authentication (onRequest, so unauthenticated bodies are never parsed) and the OpenAPI security entry.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): { cache: VerifiedKeyCache } {
  const cache = new VerifiedKeyCache(options.cacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS);
  app.decorateRequest('principal', null);

  const refreshFailed = {
    onRefreshError: (error: unknown) => app.log.warn({ err: error }, 'could not re-verify API key; the cached result stands until it expires'),
  };
  const verifications = new Counter({
    name: 'keel_api_key_verifications_total',
    help: 'API key secrets checked with scrypt (cache misses of well-formed tokens), by result.',
    labelNames: ['result'] as const,
    registers: options.metricsRegistry ? [options.metricsRegistry] : [],
  });
  function verify(token: string, request: FastifyRequest): Promise<Principal | null> | Principal | null {
    // Cost bound: a token that cannot be a Keel key is refused here, before the cache, Postgres or scrypt see it.
    if (!isGeneratedKeyFormat(token) && !isConfiguredKey(token, options.configuredKey)) return null;
    return cache.resolve(VerifiedKeyCache.digest(token), () => verifyWithDatabase(token, request), refreshFailed);
  }

  async function verifyWithDatabase(token: string, request: FastifyRequest): Promise<Principal | null> {
    const row = await findActiveApiKeyByPrefix(options.db, lookupPrefix(token));
    if (!row) return null;
    const valid = await verifyApiKey(token, row.secretHash);
    verifications.inc({ result: valid ? 'valid' : 'invalid' });
    const principal = valid ? { keyId: row.id, name: row.name, user: row.userName, roles: row.roles } : null;
    if (principal) {
      // Bookkeeping only: a failure here must not fail the request.
      touchApiKeyLastUsed(options.db, principal.keyId).catch((error: unknown) =>
        request.log.warn({ err: error }, 'could not record API key use'),
      );
    }
    return principal;
  }

  const authenticate: onRequestHookHandler = async (request) => {
    const principal = await verify(bearerToken(request), request);
    if (!principal) throw new KeelError('UNAUTHENTICATED', 'invalid or revoked API key');
    request.principal = principal;
    const roles = request.routeOptions.config.roles ?? [];
    if (!hasAnyRole(principal, roles)) {
      throw new KeelError('FORBIDDEN', `this route requires one of the roles: ${roles.join(', ')}`, {
        requiredRoles: roles,
      });
    }
  };

  app.addHook('onRoute', (route) => {
    // Web pages sign in with a session cookie instead of a bearer key (api/ui/ui-auth.ts checks their roles).
    if (isWebPageRoute(route.url)) return;
    if (!routeRequiresAuth(route)) return;
    const existing = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : [];
    route.onRequest = [authenticate, ...existing];
    route.schema = {
      ...route.schema,
      security: [{ bearerAuth: [] }],
      response: {
        401: { $ref: 'ErrorResponse#' },
        403: { $ref: 'ErrorResponse#' },
        ...(route.schema?.response as object | undefined),
      },
    };
  });

  return { cache };
}
