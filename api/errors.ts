// The API's one error vocabulary: every failure leaves as `{ error: { code, message, details } }`, with the status
// the code has in errors/error-codes.ts. Routes and services throw KeelErrors (or let Temporal's errors through).
import { Type, type Static } from '@sinclair/typebox';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { isGrpcServiceError, ScheduleNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../errors/error-codes.js';
import { isKeelError } from '../errors/keel-error.js';
import { isPostgresUnavailable } from '../db/connection-errors.js';

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

/** Fastify's own 4xx errors (body too large, wrong media type …) get the table's code for their status. */
const CODE_BY_STATUS = new Map<number, ErrorCode>(
  (['BAD_REQUEST', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'NOT_ACCEPTABLE', 'CONFLICT',
    'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'UNPROCESSABLE', 'TOO_MANY_REQUESTS', 'SERVICE_UNAVAILABLE'] as const).map(
    (code) => [ERROR_CODES[code].status, code],
  ),
);

export interface ValidationIssue {
  /** body | querystring | params | headers */
  location: string;
  /** JSON pointer into that location, e.g. `/rows/0/age` ('' for the whole location). */
  path: string;
  message: string;
}

/** Converts what any layer threw (ours, Fastify's, Ajv's, Temporal's) into a status and body. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorResponse } {
  if (isKeelError(error)) {
    return reply(error.status, error.code, error.message, error.details);
  }
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const location = fastifyError.validationContext ?? 'body';
    const issues: ValidationIssue[] = fastifyError.validation.map((issue) => {
      const missing = (issue.params as { missingProperty?: string } | undefined)?.missingProperty;
      const extra = (issue.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      // `!== undefined`: an empty key ("") is a key too, and must be named.
      const path = issue.instancePath + (missing !== undefined ? `/${missing}` : extra !== undefined ? `/${extra}` : '');
      const message = extra !== undefined ? 'is not an allowed property' : (issue.message ?? 'is invalid');
      return { location, path, message };
    });
    const first = issues[0];
    const message = first ? `${first.location}${first.path} ${first.message}` : 'request is invalid';
    return withCode('VALIDATION_FAILED', message, { issues });
  }
  if (error instanceof WorkflowNotFoundError || error instanceof ScheduleNotFoundError) {
    return withCode('NOT_FOUND', error.message);
  }
  if (error instanceof WorkflowExecutionAlreadyStartedError) {
    return withCode('CONFLICT', error.message, { workflowId: error.workflowId });
  }
  if (error instanceof WorkflowUpdateFailedError) {
    // An update validator/handler refused the request. A failure typed with one of our codes answers as that
    // code (e.g. NOT_AWAITING_REVIEW); any other was understood but refused.
    const cause = error.cause as { message?: string; type?: string | null } | undefined;
    const type = cause?.type ?? null;
    const message = cause?.message ?? error.message;
    if (isErrorCode(type)) return withCode(type, message);
    return withCode('UNPROCESSABLE', message, { type });
  }
  if (isTemporalUnavailable(error)) {
    return withCode('SERVICE_UNAVAILABLE', 'Temporal is unreachable; try again shortly');
  }
  if (isPostgresUnavailable(error)) {
    return withCode('SERVICE_UNAVAILABLE', 'Postgres is unreachable; try again shortly');
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS.get(status) ?? 'BAD_REQUEST';
    return reply(status, code, fastifyError.message ?? code.toLowerCase());
  }
  return withCode('INTERNAL', 'internal server error');
}

/** The gRPC status codes Temporal's client errors carry (grpc-js is not a direct dependency). */
export const GrpcStatus = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

/** The gRPC status of a Temporal client error, found on it or along its causes; undefined if none carries one. */
export function grpcStatusOf(error: unknown): number | undefined {
  let current: unknown = error;
  for (let depth = 0; current !== null && typeof current === 'object' && depth < 8; depth += 1) {
    if (isGrpcServiceError(current)) return current.code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTemporalUnavailable(error: unknown): boolean {
  const code = grpcStatusOf(error);
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
}

/**
 * The workflow has closed (or never existed): Temporal answers an update, signal or cancel of a closed execution
 * with gRPC NOT_FOUND, which the client raises as WorkflowNotFoundError (or a ServiceError carrying that status).
 */
export function isWorkflowClosedOrMissing(error: unknown): boolean {
  return error instanceof WorkflowNotFoundError || grpcStatusOf(error) === GrpcStatus.NOT_FOUND;
}

function withCode(code: ErrorCode, message: string, details?: unknown) {
  return reply(ERROR_CODES[code].status, code, message, details);
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
    // Every 503 is an outage a client should retry: say when, unless the route already did.
    if (status === 503 && !replyTo.hasHeader('retry-after')) void replyTo.header('Retry-After', '1');
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ code: body.error.code, status }, body.error.message);
    }
    return replyTo.status(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, replyTo) => {
    const { status, body } = withCode('NOT_FOUND', `route ${request.method} ${request.url.split('?')[0]} not found`);
    return replyTo.status(status).send(body);
  });
}
