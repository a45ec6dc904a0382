// OpenAPI document (built from the routes' TypeBox schemas) at /docs/json, Swagger UI at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keel API',
        description:
          'Runs the ML lifecycle as durable Temporal workflows. Authenticate with `Authorization: Bearer <API key>`; ' +
          'roles: engineer, reviewer, ops, predict, admin (admin implies all).',
        version: '0.1.0',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'A Keel API key' } },
      },
    },
    refResolver: {
      // Name shared schemas by their $id in components.schemas (e.g. ErrorResponse), not def-0.
      buildLocalReference: (json, _baseUri, _fragment, index) => (typeof json.$id === 'string' ? json.$id : `def-${index}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
