// The API's one error vocabulary: every failure leaves as `{ error: { code, message, details } }`.
import { Type, type Static } from '@sinclair/typebox';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { isGrpcServiceError, ScheduleNotFoundError, ServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyError, FastifyInstance } from 'fastify';

/** Throw from any route or hook; the error handler turns it into the JSON error body with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse', title: 'ErrorResponse' },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

export interface ValidationIssue {
  /** body | querystring | params | headers */
  location: string;
  /** JSON pointer into that location, e.g. `/rows/0/age` ('' for the whole location). */
  path: string;
  message: string;
}

/** Converts what any layer threw (ours, Fastify's, Ajv's, Temporal's) into a status and body. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorResponse } {
  if (error instanceof ApiError) {
    return reply(error.status, error.code, error.message, error.details);
  }
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const location = fastifyError.validationContext ?? 'body';
    const issues: ValidationIssue[] = fastifyError.validation.map((issue) => {
      const missing = (issue.params as { missingProperty?: string } | undefined)?.missingProperty;
      const extra = (issue.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      const path = issue.instancePath + (missing ? `/${missing}` : extra ? `/${extra}` : '');
      const message = extra ? 'is not an allowed property' : (issue.message ?? 'is invalid');
      return { location, path, message };
    });
    const first = issues[0];
    const message = first ? `${first.location}${first.path} ${first.message}` : 'request is invalid';
    return reply(400, 'VALIDATION_FAILED', message, { issues });
  }
  if (error instanceof WorkflowNotFoundError || error instanceof ScheduleNotFoundError) {
    return reply(404, 'NOT_FOUND', error.message);
  }
  if (error instanceof WorkflowExecutionAlreadyStartedError) {
    return reply(409, 'CONFLICT', error.message, { workflowId: error.workflowId });
  }
  if (error instanceof WorkflowUpdateFailedError) {
    // An update validator/handler rejected the request: the request was understood but refused.
    const cause = error.cause as { message?: string; type?: string } | undefined;
    return reply(422, 'UNPROCESSABLE', cause?.message ?? error.message, { type: cause?.type ?? null });
  }
  if (isTemporalUnavailable(error)) {
    return reply(503, 'SERVICE_UNAVAILABLE', 'Temporal is unreachable; try again shortly');
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'BAD_REQUEST';
    return reply(status, code, fastifyError.message ?? code.toLowerCase());
  }
  return reply(500, 'INTERNAL', 'internal server error');
}

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

function isTemporalUnavailable(error: unknown): boolean {
  const grpcError = error instanceof ServiceError ? error.cause : error;
  return (
    isGrpcServiceError(grpcError) && (grpcError.code === GRPC_UNAVAILABLE || grpcError.code === GRPC_DEADLINE_EXCEEDED)
  );
}

function reply(status: number, code: string, message: string, details?: unknown) {
  const body: ErrorResponse = { error: { code, message } };
  if (details !== undefined) body.error.details = details;
  return { status, body };
}

/** Installs the one error handler and a JSON 404 for unknown routes. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, replyTo) => {
    const { status, body } = toErrorResponse(error);
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ code: body.error.code, status }, body.error.message);
    }
    return replyTo.status(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, replyTo) => {
    const { status, body } = reply(404, 'NOT_FOUND', `route ${request.method} ${request.url.split('?')[0]} not found`);
    return replyTo.status(status).send(body);
  });
}
