// Schemas shared by route files: the error body reference and query-string helpers.
import { Type, type IntegerOptions, type TUnsafe } from '@sinclair/typebox';
import type { ErrorResponse } from './errors.js';

/** Reference to the shared `ErrorResponse` schema (registered by buildApp); use for each 4xx a route returns. */
export const ErrorRef: TUnsafe<ErrorResponse> = Type.Unsafe<ErrorResponse>({ $ref: 'ErrorResponse#' });

/**
 * Type coercion is off, so query-string values are always strings: declare them as such.
 * `QueryBoolean` accepts exactly "true" or "false".
 */
export const QueryBoolean = Type.Union([Type.Literal('true'), Type.Literal('false')]);

/** A non-negative decimal integer in the query string (parse with `Number(...)`). */
export const QueryInteger = Type.String({ pattern: '^(0|[1-9][0-9]{0,8})$' });

export const Uuid = Type.String({ format: 'uuid' });

/** Largest value of a Postgres `integer` (int4) column: a larger number in a request would fail the query (a 500). */
export const PG_INT4_MAX = 2_147_483_647;

/**
 * A whole number from 1 that a Postgres `integer` column holds (model versions, counts). `Type.Integer` alone takes
 * 1e308 (an integer to JSON Schema), which the query then cannot bind: bounded here, it is a 400 naming the field.
 */
export const PgPositiveInteger = (options: IntegerOptions = {}) => Type.Integer({ minimum: 1, maximum: PG_INT4_MAX, ...options });
