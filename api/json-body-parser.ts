// JSON bodies: parsed by Fastify's own secure parser, then refused if a number overflowed to ±Infinity.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeelError } from '../errors/keel-error.js';
import { markStorableJson } from './storable-text.js';

/** JSON pointer of the first non-finite number in `value` (e.g. `1e400` parses to Infinity), or null. */
export function findNonFiniteNumber(value: unknown): string | null {
  // Every body is scanned, almost always cleanly: walk values only, and build the pointer once something is found.
  // Iterative walk: a deeply nested body must not overflow the stack.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) return pointerTo(value, current);
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push(current[i]);
    } else if (current !== null && typeof current === 'object') {
      const children = Object.values(current);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }
  return null;
}

/** The pointer of the first (depth-first, in key order) occurrence of `target` in `value`. */
function pointerTo(value: unknown, target: number): string {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (Object.is(current, target)) return path;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}/${i}` });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i][1], path: `${path}/${escapePointer(entries[i][0])}` });
    }
  }
  return '';
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Fastify's content-type parser callback for JSON text. */
export type JsonBodyParser = (request: FastifyRequest, body: string, done: (error: Error | null, body?: unknown) => void) => void;

/** The generic JSON body parser (see registerJsonBodyParser); a context that parses some bodies its own way falls back to it. */
export function createJsonBodyParser(app: FastifyInstance): JsonBodyParser {
  // Keeps Fastify's protection against __proto__/constructor poisoning.
  const defaultParser = app.getDefaultJsonParser('error', 'error');
  return (request, body, done) => {
    if (body === '' || body.trim() === '') {
      // An empty JSON body is treated as no body, so bodiless POSTs with a JSON content type work.
      done(null, undefined);
      return;
    }
    // Fastify's default JSON parser is callback-style: it answers through `done`, never a promise.
    void defaultParser(request, body, (error, parsed) => {
      if (error) {
        done(new KeelError('INVALID_JSON', `request body is not valid JSON: ${error.message}`), undefined);
        return;
      }
      const badPath = findNonFiniteNumber(parsed);
      if (badPath !== null) {
        const message = `body${badPath} must be a finite number`;
        done(
          new KeelError('VALIDATION_FAILED', message, {
            issues: [{ location: 'body', path: badPath, message: 'must be a finite number' }],
          }),
          undefined,
        );
        return;
      }
      markStorableJson(body, parsed);
      done(null, parsed);
    });
  };
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = createJsonBodyParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => parse(request, body as string, done));
}
