// /ui/: server-rendered pages over the same services as /v1/ (runs list, review page, model page, sign-in). No
// client-side script: forms post back, each carries a CSRF token, and a review goes through reviewRun with the
// same audit as POST /v1/runs/:id/review.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyView from '@fastify/view';
import { Type } from '@sinclair/typebox';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isKeelError, KeelError } from '../../errors/keel-error.js';
import { auditingRefusal } from '../audit/audit-refusal.js';
import { principalOf } from '../auth/principal.js';
import { toErrorResponse } from '../errors.js';
import { getModelDetail, listModelSummaries } from '../models/models-service.js';
import { defineRoutes } from '../route-plugin.js';
import { listRuns, reviewRun, type RunsDeps } from '../runs/runs-service.js';
import { RUN_STATUSES } from '../../workflows/run-status.js';
import { modelPageView } from './model-page.js';
import { runPageView } from './run-page.js';
import { registerUiAuth, safeNext } from './ui-auth.js';
import { endSession, sessionCookieSecret, startSession, UI_COOKIE_PATH } from './ui-session.js';
import { registerUiHeaders } from './ui-headers.js';
import { SignInLimiter } from './sign-in-limiter.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Pages are for people: machines (predict keys) use the API. `admin` passes as everywhere. */
const READERS = ['engineer', 'reviewer', 'ops'] as const;
const RunId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,200}$' });
const ModelName = Type.String({ minLength: 1, maxLength: 63 });
const LIST_LIMIT = 100;

export default defineRoutes(async (app, { db, temporal, config, verifyPastedKey }) => {
  const runsDeps = (): RunsDeps => {
    if (!temporal) throw new KeelError('TEMPORAL_UNAVAILABLE', 'Temporal is not configured for this API process');
    return { db, client: temporal.client, taskQueues: config.taskQueues, reviewDeadlineMs: config.reviewTimeoutMs, signingKey: config.signingKey };
  };
  const stylesheet = await fs.readFile(path.join(here, 'static', 'keel.css'));

  await app.register(fastifyCookie, { secret: sessionCookieSecret(config.signingKey) });
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'keel_csrf',
    cookieOpts: { path: UI_COOKIE_PATH, httpOnly: true, sameSite: 'strict', signed: true },
  });
  await app.register(fastifyView, { engine: { eta: new Eta({ views: path.join(here, 'views'), cache: true }) }, root: path.join(here, 'views') });

  /** Renders a page with what every page needs: the signed-in user, a CSRF token for its forms. */
  async function page(request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status = 200) {
    const html = await reply.viewAsync(template, {
      ...data,
      principal: request.principal,
      csrfToken: reply.generateCsrf(),
    });
    return reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
  }

  function errorPage(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
    return page(request, reply, 'error', { title: `Error ${status}`, status, message }, status);
  }

  registerUiHeaders(app);
  registerUiAuth(app, db, (request, reply, message) => errorPage(request, reply, 403, message));
  const signInLimiter = new SignInLimiter();
  app.setErrorHandler(async (error, request, reply) => {
    const { status, body } = toErrorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'web page failed');
    return errorPage(request, reply, status, status >= 500 && !isKeelError(error) ? 'something went wrong; the server log has the details' : body.error.message);
  });

  app.get('/ui/static/keel.css', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(stylesheet),
  );

  app.get(
    '/ui/login',
    { config: { public: true }, schema: { hide: true, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 500 })) }) } },
    async (request, reply) => page(request, reply, 'login', { title: 'Sign in', next: safeNext(request.query.next), message: null }),
  );

  app.post(
    '/ui/login',
    {
      config: { public: true },
      preHandler: app.csrfProtection,
      schema: {
        hide: true,
        body: Type.Object(
          { apiKey: Type.String({ maxLength: 600 }), next: Type.Optional(Type.String({ maxLength: 500 })), _csrf: Type.String() },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const next = safeNext(request.body.next);
      const retryAfter = signInLimiter.retryAfterSeconds(request.ip);
      if (retryAfter !== null) {
        reply.header('retry-after', String(retryAfter));
        return page(request, reply, 'login', { title: 'Sign in', next, message: `Too many failed sign-ins from your address: try again in ${retryAfter} s.` }, 429);
      }
      const checked = await verifyPastedKey(request.body.apiKey.trim(), request);
      if ('refused' in checked) {
        // Not a guess that failed: the key's prefix is locked, or too many keys wait to be checked.
        const seconds = Math.ceil(checked.retryAfterMs / 1000);
        reply.header('retry-after', String(seconds));
        const why = checked.refused === 'locked' ? "too many wrong keys with this key's prefix" : 'too many keys are being checked';
        return page(request, reply, 'login', { title: 'Sign in', next, message: `${why}: try again in ${seconds} s.` }, checked.refused === 'locked' ? 429 : 503);
      }
      const principal = checked.principal;
      if (!principal) {
        signInLimiter.recordFailure(request.ip);
        return page(request, reply, 'login', { title: 'Sign in', next, message: 'That API key is unknown or revoked.' }, 401);
      }
      startSession(request, reply, principal);
      return reply.redirect(next, 303);
    },
  );

  app.post(
    '/ui/logout',
    { config: { public: true }, preHandler: app.csrfProtection, schema: { hide: true, body: Type.Object({ _csrf: Type.String() }, { additionalProperties: false }) } },
    async (request, reply) => {
      endSession(request, reply);
      return reply.redirect('/ui/login', 303);
    },
  );

  app.get(
    '/ui/',
    {
      config: { roles: READERS },
      schema: {
        hide: true,
        querystring: Type.Object({
          model: Type.Optional(Type.String({ maxLength: 63 })),
          status: Type.Optional(Type.String({ maxLength: 40 })),
        }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const model = request.query.model?.trim() || undefined;
      const status = request.query.status?.trim() || undefined;
      // Awaiting review first: that is what a reviewer opens the page for.
      const awaiting = status === undefined ? await listRuns(db, { model, status: 'awaiting_review', limit: LIST_LIMIT }) : [];
      const rest = (await listRuns(db, { model, status, limit: LIST_LIMIT })).filter((run) => status !== undefined || run.status !== 'awaiting_review');
      return page(request, reply, 'runs', {
        title: 'Runs',
        awaiting,
        runs: rest,
        filter: { model: model ?? '', status: status ?? '' },
        statuses: RUN_STATUSES,
        models: await listModelSummaries(db),
      });
    },
  );

  app.get('/ui', { config: { roles: READERS }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/', 301));

  app.get(
    '/ui/runs/:id',
    {
      config: { roles: READERS },
      schema: { hide: true, params: Type.Object({ id: RunId }), querystring: Type.Object({ notice: Type.Optional(Type.String({ maxLength: 40 })) }) },
    },
    async (request, reply) => {
      const view = await runPageView(runsDeps(), request.params.id, principalOf(request));
      const notice = request.query.notice === 'approve' ? 'Approved: the run deploys now.' : request.query.notice === 'reject' ? 'Rejected.' : null;
      // A running run refreshes itself (no script): the reviewer who just approved watches it deploy.
      const autoRefreshSeconds = view.run.status === 'running' ? 3 : null;
      return page(request, reply, 'run', { title: `Run ${request.params.id}`, ...view, notice, formError: null, comment: '', autoRefreshSeconds });
    },
  );

  app.post(
    '/ui/runs/:id/review',
    {
      config: { roles: ['reviewer'] },
      preHandler: app.csrfProtection,
      schema: {
        hide: true,
        params: Type.Object({ id: RunId }),
        body: Type.Object({
          decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
          comment: Type.String({ maxLength: 5000 }),
          _csrf: Type.String(),
        }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { decision } = request.body;
      const comment = request.body.comment.trim();
      const again = async (status: number, formError: string) => {
        const view = await runPageView(runsDeps(), id, principalOf(request));
        return page(request, reply, 'run', { title: `Run ${id}`, ...view, notice: null, formError, comment: request.body.comment }, status);
      };
      if (comment.length === 0) return again(400, 'A comment is required: say why you approve or reject.');
      try {
        // The API's own path: the same refusal audit, the same service (four eyes, signed review, update).
        await auditingRefusal(db, request, { action: 'run.review', subject: `run:${id}`, details: { decision } }, () =>
          reviewRun(runsDeps(), { id, decision, comment, principal: principalOf(request) }),
        );
      } catch (error) {
        const { status, body } = toErrorResponse(error);
        if (status >= 500) throw error;
        return again(status, body.error.message);
      }
      return reply.redirect(`/ui/runs/${encodeURIComponent(id)}?notice=${decision}`, 303);
    },
  );

  app.get(
    '/ui/models/:name',
    { config: { roles: READERS }, schema: { hide: true, params: Type.Object({ name: ModelName }) } },
    async (request, reply) => {
      const detail = await getModelDetail(db, request.params.name);
      return page(request, reply, 'model', { title: `Model ${detail.name}`, ...modelPageView(detail) });
    },
  );
});
