// What keeps one caller or a load spike from taking the API down: security headers (helmet, with a CSP the /docs
// page works under), 503 + Retry-After while the event loop lags (under-pressure), and per-key rate limits on writes
// and reviews (rate-limit). Request timeouts and body limits are Fastify options (app.ts, api/body-limits.ts).
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { KeelConfig } from '../config.js';
import { KeelError } from '../errors/keel-error.js';

/** Routes that answer even under pressure: liveness and metrics must not make an orchestrator kill a busy process. */
const ALWAYS_ANSWERED = new Set(['/healthz', '/metrics']);

/** Writes not rate limited per key: serving traffic has its own backpressure (the prediction log buffer, 503). */
const SERVING_ROUTES = new Set(['/v1/models/:name/predict', '/v1/models/:name/feedback']);
const REVIEW_ROUTE = '/v1/runs/:id/review';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type LimitedKind = 'review' | 'write';

/** How often under-pressure samples the event loop. */
const PRESSURE_SAMPLE_MS = 1_000;

/**
 * Sheds load only once pressure outlasted one sample: a single long tick (start-up, a large schema compiled, a GC)
 * shows as one lagging sample and must not turn every request of the next second away; an overload keeps lagging.
 */
export class PressureEpisode {
  private startedAt = Number.NEGATIVE_INFINITY;
  private lastSeenAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly sampleMs: number) {}

  /** Called for a request that arrived under pressure, at `now` (ms): whether to refuse it. */
  sustained(now: number): boolean {
    // No pressured request for two samples: the previous episode ended, this one starts now.
    if (now - this.lastSeenAt > 2 * this.sampleMs) this.startedAt = now;
    this.lastSeenAt = now;
    return now - this.startedAt >= this.sampleMs;
  }
}

/** Which per-key budget a request spends, or null when it is not limited. */
export function rateLimitKind(request: Pick<FastifyRequest, 'method' | 'routeOptions'>): LimitedKind | null {
  const route = request.routeOptions.url;
  if (route === undefined || !route.startsWith('/v1/')) return null;
  if (route === REVIEW_ROUTE) return 'review';
  if (!WRITE_METHODS.has(request.method) || SERVING_ROUTES.has(route)) return null;
  return 'write';
}

export type ProtectionSettings = Pick<
  KeelConfig,
  'rateLimitWritesPerMinute' | 'rateLimitReviewsPerMinute' | 'maxEventLoopDelayMs'
>;

export async function registerHttpProtection(app: FastifyInstance, settings: ProtectionSettings): Promise<void> {
  // helmet's default CSP (script-src 'self', style-src 'self' https: 'unsafe-inline', img-src 'self' data:) is one the
  // Swagger UI at /docs renders under: its scripts and styles are files it serves itself. Not upgrade-insecure-requests:
  // the API may be reached over plain HTTP (npm start, behind a TLS gateway), and /docs would then load nothing.
  // helmet's headers do not depend on the request: computed once by @fastify/helmet itself, then set with one call per
  // request (running helmet's middleware chain per request cost about 13 % of a one-row predict's CPU).
  const securityHeaders = await helmetHeaders({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  // A callback hook, not an async one: it runs on every request and has nothing to await.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });

  if (settings.maxEventLoopDelayMs > 0) {
    const episode = new PressureEpisode(PRESSURE_SAMPLE_MS);
    await app.register(underPressure, {
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      sampleInterval: PRESSURE_SAMPLE_MS,
      // Answers through the one error handler (JSON body, Retry-After), before authentication costs anything.
      pressureHandler: (request, _reply, type, value) => {
        if (request.routeOptions.url !== undefined && ALWAYS_ANSWERED.has(request.routeOptions.url)) return;
        if (!episode.sustained(performance.now())) return;
        return Promise.reject(
          new KeelError('SERVICE_UNAVAILABLE', `the API is overloaded (${type}: ${Math.round(Number(value ?? 0))}); retry shortly`),
        );
      },
    });
  }

  const limits: Record<LimitedKind, number> = {
    write: settings.rateLimitWritesPerMinute,
    review: settings.rateLimitReviewsPerMinute,
  };
  // A route none of whose requests is ever limited by key (reads, predict, feedback) gets no rate-limit hook at all: the
  // allowList below would let each of its requests through, after an async hook, a key and a lookup per request.
  // Added before the plugin, whose own onRoute hook reads `config.rateLimit`.
  app.addHook('onRoute', (route) => {
    // A route with its own rate-limit settings (the sign-in page) keeps them.
    if ((route.config as { rateLimit?: unknown } | undefined)?.rateLimit !== undefined) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((method) => rateLimitKind({ method, routeOptions: { url: route.url } } as Pick<FastifyRequest, 'method' | 'routeOptions'>) === null)) {
      route.config = { ...(route.config as object | undefined), rateLimit: false };
    }
  });
  await app.register(rateLimit, {
    global: true,
    // After authentication (onRequest), so the budget is the key's, never an address shared by many callers.
    hook: 'preHandler',
    timeWindow: 60_000,
    keyGenerator: (request) => `${request.principal?.keyId ?? request.ip}:${rateLimitKind(request) ?? 'none'}`,
    allowList: (request) => {
      const kind = rateLimitKind(request);
      return kind === null || limits[kind] <= 0;
    },
    max: (request) => limits[rateLimitKind(request) ?? 'write'],
    errorResponseBuilder: (request, context) =>
      new KeelError('TOO_MANY_REQUESTS', `rate limit: at most ${context.max} ${rateLimitKind(request) ?? 'write'}s a minute per API key; retry in ${context.after}`, {
        limit: context.max,
      }),
  });
}

/** The headers @fastify/helmet adds to a response with these options (a throwaway app answers one request). */
export async function helmetHeaders(options: Parameters<typeof helmet>[1]): Promise<Record<string, string>> {
  const answer = async (withHelmet: boolean) => {
    const probe = Fastify({ logger: false });
    if (withHelmet) await probe.register(helmet, { ...options, global: true });
    probe.get('/', async () => ({}));
    const response = await probe.inject({ method: 'GET', url: '/' });
    await probe.close();
    return response.headers;
  };
  const [plain, helmeted] = await Promise.all([answer(false), answer(true)]);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(helmeted)) {
    if (plain[name] === undefined && typeof value === 'string') headers[name] = value;
  }
  return headers;
}
