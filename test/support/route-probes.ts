// Shared by the route × role matrix test and the route fuzz test: keys for every role, and concrete URLs for routes.
import { expect } from 'vitest';
import type { KeelApp } from '../../api/app.js';
import { ROLES, type Role } from '../../db/schema.js';

export type RoleKeys = Record<Role, { id: string; secret: string }>;

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** A key through POST /v1/keys (as admin), checked to be created. */
export async function createKey(app: KeelApp, adminSecret: string, body: { user?: string; name: string; roles: Role[] }) {
  const response = await app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(adminSecret), payload: body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; secret: string };
}

/** One key per role, each holding only that role, each its own user (`<prefix>-<role>`). */
export async function createRoleKeys(app: KeelApp, adminSecret: string, prefix: string): Promise<RoleKeys> {
  const keys = {} as RoleKeys;
  for (const role of ROLES) keys[role] = await createKey(app, adminSecret, { user: `${prefix}-${role}`, name: `${prefix}-${role}`, roles: [role] });
  return keys;
}

/** The route's path parameters (`:name`, and a trailing `*`) in the order they appear. */
export function pathParameters(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)|(\*)$/g)].map((match) => match[1] ?? '*');
}

/** The URL with each parameter replaced (values are URL-encoded here). */
export function fillPath(url: string, valueOf: (parameter: string) => string): string {
  return url.replace(/:([A-Za-z0-9_]+)|\*$/g, (_whole, name: string | undefined) => encodeURIComponent(valueOf(name ?? '*')));
}

/**
 * A plausible value for a parameter of a route, for probes that must pass the params schema: a UUID for key ids,
 * a run id, a schedule id, a model name, a schedule action; for parameters added later, a plain lowercase word.
 */
export function plausibleParameter(url: string, parameter: string, known: Partial<Record<string, string>> = {}): string {
  const byRoute = known[`${url}#${parameter}`];
  if (byRoute !== undefined) return byRoute;
  if (url.startsWith('/v1/keys/') && parameter === 'id') return known.keyId ?? '00000000-0000-4000-8000-000000000000';
  if (url.startsWith('/v1/runs/') && parameter === 'id') return known.runId ?? 'no-such-run';
  if (url.startsWith('/v1/schedules/') && parameter === 'id') return known.scheduleId ?? 'no-such-schedule';
  if (parameter === 'name') return known.model ?? 'no-such-model';
  if (parameter === 'action') return 'pause';
  if (parameter === '*') return 'index.html';
  return known[parameter] ?? 'probe';
}
