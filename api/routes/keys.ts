// API key management (admin only): create (secret shown once), list (never secrets), revoke.
import { Type, type TSchema } from '@sinclair/typebox';
import { ROLES, type Role } from '../../db/schema.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys.js';
import { actorOf } from '../auth/principal.js';
import { defineRoutes } from '../route-plugin.js';
import { ErrorRef, QueryBoolean, Uuid } from '../schemas.js';

const RoleSchema = Type.Union([
  Type.Literal('engineer'),
  Type.Literal('reviewer'),
  Type.Literal('ops'),
  Type.Literal('predict'),
  Type.Literal('admin'),
]) satisfies TSchema & { anyOf: { const: Role }[] };

/** A person or service; `system:` names are Keel's own requesters and cannot be given to a key. */
export const UserName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$',
  description: 'The person or service the key belongs to, e.g. "alice" or "alice@example.com". Four eyes compares users.',
});

const CreateKeyBody = Type.Object(
  {
    user: Type.Optional(UserName),
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Who or what uses the key, e.g. "ci-pipeline".' }),
    roles: Type.Array(RoleSchema, { minItems: 1, maxItems: ROLES.length, uniqueItems: true }),
  },
  { additionalProperties: false },
);

const CreatedKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  user: Type.String(),
  roles: Type.Array(RoleSchema),
  secret: Type.String({ description: 'The API key. Shown only in this response; store it now.' }),
  createdAt: Type.String({ format: 'date-time' }),
});

const KeyView = Type.Object({
  id: Uuid,
  name: Type.String(),
  user: Type.String(),
  prefix: Type.String({ description: 'Public part of the key, to tell keys apart.' }),
  roles: Type.Array(RoleSchema),
  createdBy: Type.Union([Uuid, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export default defineRoutes(async (app, { db, keyCache }) => {
  app.post(
    '/v1/keys',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['keys'],
        summary: 'Create an API key for a user (default: a user named after the key); its secret is returned once',
        body: CreateKeyBody,
        response: { 201: CreatedKey, 400: ErrorRef },
      },
    },
    async (request, reply) => {
      const { key, secret } = await createApiKey(db, request.body, actorOf(request));
      return reply.status(201).send({ id: key.id, name: key.name, user: key.user, roles: key.roles, secret, createdAt: key.createdAt });
    },
  );

  app.get(
    '/v1/keys',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['keys'],
        summary: 'List API keys (never their secrets)',
        querystring: Type.Object({ includeRevoked: Type.Optional(QueryBoolean) }, { additionalProperties: false }),
        response: { 200: Type.Object({ keys: Type.Array(KeyView) }), 400: ErrorRef },
      },
    },
    async (request) => ({ keys: await listApiKeys(db, { includeRevoked: request.query.includeRevoked === 'true' }) }),
  );

  app.delete(
    '/v1/keys/:id',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key (not the last active admin key)',
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), 400: ErrorRef, 404: ErrorRef, 409: ErrorRef },
      },
    },
    async (request, reply) => {
      await revokeApiKey(db, request.params.id, actorOf(request));
      // This process stops accepting the key now; other API processes within their cache TTL.
      keyCache.evictKey(request.params.id);
      return reply.status(204).send(null);
    },
  );
});
