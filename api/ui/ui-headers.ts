// Response headers for every /ui/ response, set in the /ui scope only (the API's JSON routes keep their own): pages
// have no script, so the policy allows none; nothing may frame them (clickjacking a review button); pages and
// redirects carry session-bound content and CSRF tokens, so no cache keeps them.
import type { FastifyInstance } from 'fastify';

export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function registerUiHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', UI_CONTENT_SECURITY_POLICY);
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    // The stylesheet sets its own (public) caching; everything else is never stored.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
