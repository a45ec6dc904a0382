// Bearer API key authentication and role checks, attached to every route that needs them.
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import type { Db } from '../../db/client.js';
import { KeelError } from '../../errors/keel-error.js';
import { findActiveApiKeyByPrefix, touchApiKeyLastUsed } from '../../db/repositories/api-keys.js';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isConfiguredKey, isGeneratedKeyFormat, lookupPrefix, sameSecretText, verifyApiKey } from './api-key-secret.js';
import { DEFAULT_PREFIX_FAILURE_BUDGET, PrefixFailureBudget, type PrefixFailureBudgetOptions } from './prefix-failure-budget.js';
import { hasAnyRole, type Principal } from './principal.js';
import { VerifiedKeyCache } from './verified-key-cache.js';

export interface AuthOptions {
  db: Db;
  /** How long a verified key is trusted without re-checking Postgres; also the revocation delay across processes. */
  cacheTtlMs?: number;
  /** KEEL_ADMIN_KEY when set: the one token outside the generated `keel_…` format that is worth verifying. */
  configuredKey?: string;
  /** Where the auth counters go (`keel_api_key_verifications_total`, `keel_api_key_refusals_total`). */
  metricsRegistry?: Registry;
  /** scrypt runs per prefix that did not prove a key, before the prefix is refused unverified for a cool-down. */
  prefixFailureBudget?: Omit<PrefixFailureBudgetOptions, 'maxPrefixes'>;
  /** Lookups of unproven tokens that may wait for a slot; past it they are answered 503 (default 1,000). */
  maxWaitingLookups?: number;
}

export const DEFAULT_KEY_CACHE_TTL_MS = 5_000;
const MAX_TOKEN_LENGTH = 512;
/** Refused tokens are counted per reason and summed up in one log line at most this often, never one line each. */
const REFUSAL_SUMMARY_EVERY_MS = 60_000;
/** Keys whose secret this process proved with scrypt, remembered at most (one entry per real key in use). */
const MAX_PROVEN_SECRETS = 10_000;
/**
 * Lookups of tokens not yet proven (Postgres, then perhaps scrypt) run at most this many at once: a flood of
 * well-formed junk queues here instead of filling the Postgres pool the routes share (where a valid key's own query
 * would wait behind every junk lookup) and the libuv pool scrypt runs in.
 */
const MAX_CONCURRENT_LOOKUPS = 2;
/**
 * Lookups waiting for one of those slots at most: past it a token not yet proven is answered 503 with Retry-After, so
 * a flood faster than Postgres answers cannot grow the queue (and the requests it holds) without bound, nor make a
 * first-time key wait behind all of it. A thousand lookups of a millisecond or so, two at a time, is half a second.
 */
export const DEFAULT_MAX_WAITING_LOOKUPS = 1_000;
/** What a 503 for a full lookup queue tells the client to wait, in ms. */
const LOOKUP_QUEUE_FULL_RETRY_MS = 1_000;

type RefusalReason = 'missing' | 'malformed' | 'not_a_key' | 'rejected' | 'locked' | 'busy';

/** The bodies of refusals, serialized once: anyone can send junk, so refusing it must cost next to nothing. */
const REFUSAL_BODIES: Record<RefusalReason, string> = {
  missing: errorBody('UNAUTHENTICATED', 'missing API key: send Authorization: Bearer <key>'),
  malformed: errorBody('UNAUTHENTICATED', 'malformed Authorization header: expected Bearer <key>'),
  not_a_key: errorBody('UNAUTHENTICATED', 'invalid or revoked API key'),
  rejected: errorBody('UNAUTHENTICATED', 'invalid or revoked API key'),
  locked: errorBody(
    'TOO_MANY_REQUESTS',
    "too many keys with this key's prefix failed verification: it is refused unverified for a while (see Retry-After)",
  ),
  busy: errorBody('SERVICE_UNAVAILABLE', 'too many API keys are waiting to be verified; retry shortly (see Retry-After)'),
};

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** A prefix locked by its failure budget while its verification was being started (rare: the hook checks first). */
class PrefixLocked extends Error {
  constructor(readonly retryAfterMs: number) {
    super('API key prefix locked');
  }
}

/** The queue of lookups waiting for a slot is full. */
class LookupQueueFull extends Error {
  constructor() {
    super('API key lookup queue full');
  }
}

const refusedRequests = new WeakSet<FastifyRequest>();

/**
 * A request whose bearer token was refused (401, or 429 for a locked prefix): counted in `keel_api_key_refusals_total`
 * and summed up in one line a minute instead of an access-log line each.
 */
export function isAuthRefusal(request: FastifyRequest): boolean {
  return refusedRequests.has(request);
}

/** A key pasted into the web sign-in form: its principal, null when it is no key, or a refusal to retry later. */
export type PastedKeyResult = { principal: Principal | null } | { refused: 'locked' | 'busy'; retryAfterMs: number };

/** A route needs a key when it declares roles, and every /v1/ route does. */
export function routeRequiresAuth(route: Pick<RouteOptions, 'url' | 'config'>): boolean {
  const config = route.config as { roles?: unknown } | undefined;
  return config?.roles !== undefined || route.url.startsWith('/v1/');
}

/** The server-rendered pages under /ui/: authenticated by api/ui/ui-auth.ts, not here. */
export function isWebPageRoute(url: string): boolean {
  return url === '/ui' || url.startsWith('/ui/');
}

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * The last well-formed bearer header a keep-alive connection sent, parsed and hashed: clients send the same key on every
 * request of a connection, and its sha256 and three regular expressions were ~4 % of a one-row predict's CPU. Only the
 * parsing is remembered: the verified-key cache (expiry, revocation, refresh) still decides every request. The header
 * lives as long as the connection, which held it anyway while its requests were parsed. A WeakMap, not a property on
 * Node's socket: one would give authenticated sockets a second hidden class in Node's HTTP code.
 */
interface ParsedBearer {
  header: string;
  token: string;
  digest: string;
  prefix: string;
}

/** The token of an `Authorization: Bearer <token>` header, or null when the header is not that. */
function bearerToken(header: string): string | null {
  const match = BEARER.exec(header);
  return match && match[1].length <= MAX_TOKEN_LENGTH ? match[1] : null;
}

/**
 * Must be called on the root instance before routes are registered: it hooks `onRoute` to add
 * authentication (onRequest, so unauthenticated bodies are never parsed) and the OpenAPI security entry.
 */
export function registerAuth(
  app: FastifyInstance,
  options: AuthOptions,
): { cache: VerifiedKeyCache; verifyPastedKey: (token: string, request: FastifyRequest) => Promise<PastedKeyResult> } {
  const cache = new VerifiedKeyCache(options.cacheTtlMs ?? DEFAULT_KEY_CACHE_TTL_MS);
  const budget = new PrefixFailureBudget(options.prefixFailureBudget ?? DEFAULT_PREFIX_FAILURE_BUDGET);
  /**
   * Per prefix, the digest of the token that passed scrypt and the stored hash it passed against. Re-verifying that
   * token (after the cache TTL) then needs the row lookup (revocation) but no scrypt, and a prefix locked by junk still
   * lets it through. A sha256 of a random 256-bit secret gives nothing away; the verified cache keys on the same.
   */
  const provenSecrets = new Map<string, { digest: string; secretHash: string }>();
  const parsedOnConnection = new WeakMap<Socket, ParsedBearer>();
  app.decorateRequest('principal', null);

  const refreshFailed = {
    onRefreshError: (error: unknown) => app.log.warn({ err: error }, 'could not re-verify API key; the cached result stands until it expires'),
  };
  const registers = options.metricsRegistry ? [options.metricsRegistry] : [];
  const verifications = new Counter({
    name: 'keel_api_key_verifications_total',
    help: 'API key secrets checked with scrypt (cache misses of well-formed tokens with a real prefix), by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'keel_api_key_refusals_total',
    help: 'Requests refused by authentication (401, 429 for a locked prefix, 503 for a full lookup queue), by reason: missing, malformed, not_a_key, rejected, locked, busy.',
    labelNames: ['reason'] as const,
    registers,
  });
  new Gauge({
    name: 'keel_api_key_locked_prefixes',
    help: "Key prefixes whose failed-verification budget is spent: tokens with them are refused unverified (but a key this process already proved).",
    registers,
    collect() {
      this.set(budget.lockedPrefixes);
    },
  });

  let unsummarized: Partial<Record<RefusalReason, number>> = {};
  let summarizedAt = 0;
  function refuse(request: FastifyRequest, reply: FastifyReply, reason: RefusalReason, retryAfterMs = 0): void {
    refusals.inc({ reason });
    refusedRequests.add(request);
    unsummarized[reason] = (unsummarized[reason] ?? 0) + 1;
    const now = Date.now();
    if (now - summarizedAt >= REFUSAL_SUMMARY_EVERY_MS) {
      request.log.info({ refused: unsummarized, sinceMs: summarizedAt === 0 ? undefined : now - summarizedAt }, 'bearer tokens refused');
      unsummarized = {};
      summarizedAt = now;
    }
    if (reason === 'locked' || reason === 'busy') {
      void reply.code(reason === 'locked' ? 429 : 503).header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    } else void reply.code(401);
    void reply.header('content-type', 'application/json; charset=utf-8').send(REFUSAL_BODIES[reason]);
  }

  let lookups = 0;
  const waitingForLookup: Array<() => void> = [];
  const maxWaitingLookups = options.maxWaitingLookups ?? DEFAULT_MAX_WAITING_LOOKUPS;
  async function inLookupSlot<T>(work: () => Promise<T>): Promise<T> {
    if (lookups < MAX_CONCURRENT_LOOKUPS) lookups++;
    else if (waitingForLookup.length >= maxWaitingLookups) throw new LookupQueueFull();
    else await new Promise<void>((resolve) => waitingForLookup.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot take it in between.
      const next = waitingForLookup.shift();
      if (next) next();
      else lookups--;
    }
  }

  function verifyWithDatabase(token: string, digest: string, request: FastifyRequest): Promise<Principal | null> {
    const prefix = lookupPrefix(token);
    // A key this process proved (re-checked after the cache TTL) does not queue behind junk.
    if (provenSecrets.get(prefix)?.digest === digest) return lookUp(token, prefix, digest, request);
    return inLookupSlot(() => lookUp(token, prefix, digest, request));
  }

  async function lookUp(token: string, prefix: string, digest: string, request: FastifyRequest): Promise<Principal | null> {
    const row = await findActiveApiKeyByPrefix(options.db, prefix);
    if (!row) return null;
    const proven = provenSecrets.get(prefix);
    let valid = proven !== undefined && proven.digest === digest && proven.secretHash === row.secretHash;
    if (!valid) {
      // Only real keys' prefixes reach the budget, so junk prefixes cannot crowd a locked one out of it.
      const lockedBefore = budget.lockedFor(prefix) > 0;
      const lockedMs = budget.admit(prefix);
      if (lockedMs > 0) {
        if (!lockedBefore) request.log.warn({ prefix }, 'API key prefix locked: too many failed verifications');
        throw new PrefixLocked(lockedMs);
      }
      valid = await verifyApiKey(token, row.secretHash);
      verifications.inc({ result: valid ? 'valid' : 'invalid' });
      if (valid) {
        budget.proved(prefix);
        provenSecrets.delete(prefix);
        if (provenSecrets.size >= MAX_PROVEN_SECRETS) provenSecrets.delete(provenSecrets.keys().next().value!);
        provenSecrets.set(prefix, { digest, secretHash: row.secretHash });
      }
    }
    if (!valid) return null;
    const principal = { keyId: row.id, name: row.name, user: row.userName, roles: row.roles };
    // Bookkeeping only: a failure here must not fail the request.
    touchApiKeyLastUsed(options.db, principal.keyId).catch((error: unknown) =>
      request.log.warn({ err: error }, 'could not record API key use'),
    );
    return principal;
  }

  function authorize(request: FastifyRequest, reply: FastifyReply, principal: Principal | null, done: (error?: Error) => void): void {
    if (!principal) return refuse(request, reply, 'rejected');
    request.principal = principal;
    const roles = request.routeOptions.config.roles ?? [];
    if (!hasAnyRole(principal, roles)) {
      return done(new KeelError('FORBIDDEN', `this route requires one of the roles: ${roles.join(', ')}`, { requiredRoles: roles }));
    }
    done();
  }

  // A callback hook: a refusal is answered here with a prepared body (no error thrown, no error handler, no log line
  // of its own), and a cached key goes on without a promise.
  const authenticate: onRequestHookHandler = (request, reply, done) => {
    const header = request.headers.authorization;
    if (!header) return refuse(request, reply, 'missing');
    const connection: Socket | null | undefined = request.raw.socket;
    let parsed = connection ? parsedOnConnection.get(connection) : undefined;
    // Not `!==`: that stops at the first differing character, and the remembered header may be another client's.
    if (parsed === undefined || !sameSecretText(parsed.header, header)) {
      const token = bearerToken(header);
      if (token === null) return refuse(request, reply, 'malformed');
      // Cost bound: a token that cannot be a Keel key is refused here, before the cache, Postgres or scrypt see it.
      if (!isGeneratedKeyFormat(token) && !isConfiguredKey(token, options.configuredKey)) return refuse(request, reply, 'not_a_key');
      parsed = { header, token, digest: VerifiedKeyCache.digest(token), prefix: lookupPrefix(token) };
      if (connection) parsedOnConnection.set(connection, parsed);
    }
    const { token, digest, prefix } = parsed;
    // A locked prefix: only the token this process proved for it is looked at; others are refused before Postgres.
    const lockedMs = budget.lockedFor(prefix);
    if (lockedMs > 0 && provenSecrets.get(prefix)?.digest !== digest) return refuse(request, reply, 'locked', lockedMs);
    let resolved: Promise<Principal | null> | Principal | null;
    try {
      resolved = cache.resolve(digest, () => verifyWithDatabase(token, digest, request), refreshFailed);
    } catch (error) {
      return done(error as Error);
    }
    if (!(resolved instanceof Promise)) return authorize(request, reply, resolved, done);
    resolved.then(
      (principal) => authorize(request, reply, principal, done),
      (error: unknown) => {
        if (error instanceof PrefixLocked) return refuse(request, reply, 'locked', error.retryAfterMs);
        if (error instanceof LookupQueueFull) return refuse(request, reply, 'busy', LOOKUP_QUEUE_FULL_RETRY_MS);
        done(error as Error);
      },
    );
  };

  /**
   * The web sign-in form's check of a pasted key: the same format check, cache, lookup queue and prefix budget as a
   * bearer token, so the form is no cheaper way to make the API run scrypt (or to try secrets for a locked prefix).
   */
  async function verifyPastedKey(token: string, request: FastifyRequest): Promise<PastedKeyResult> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { principal: null };
    if (!isGeneratedKeyFormat(token) && !isConfiguredKey(token, options.configuredKey)) return { principal: null };
    const digest = VerifiedKeyCache.digest(token);
    const prefix = lookupPrefix(token);
    const lockedMs = budget.lockedFor(prefix);
    if (lockedMs > 0 && provenSecrets.get(prefix)?.digest !== digest) return { refused: 'locked', retryAfterMs: lockedMs };
    try {
      return { principal: await cache.resolve(digest, () => verifyWithDatabase(token, digest, request), refreshFailed) };
    } catch (error) {
      if (error instanceof PrefixLocked) return { refused: 'locked', retryAfterMs: error.retryAfterMs };
      if (error instanceof LookupQueueFull) return { refused: 'busy', retryAfterMs: LOOKUP_QUEUE_FULL_RETRY_MS };
      throw error;
    }
  }

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

  return { cache, verifyPastedKey };
}
