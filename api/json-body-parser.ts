// JSON bodies: parsed by Fastify's own secure parser, then refused if a number overflowed to ±Infinity.
import type { FastifyInstance } from 'fastify';
import { KeelError } from '../errors/keel-error.js';

/** JSON pointer of the first non-finite number in `value` (e.g. `1e400` parses to Infinity), or null. */
export function findNonFiniteNumber(value: unknown): string | null {
  // Iterative walk: a deeply nested body must not overflow the stack.
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) return path;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}/${i}` });
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        stack.push({ value: child, path: `${path}/${escapePointer(key)}` });
      }
    }
  }
  return null;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  // Keeps Fastify's protection against __proto__/constructor poisoning.
  const defaultParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) {
      // An empty JSON body is treated as no body, so bodiless POSTs with a JSON content type work.
      done(null, undefined);
      return;
    }
    // Fastify's default JSON parser is callback-style: it answers through `done`, never a promise.
    void defaultParser(request, body as string, (error, parsed) => {
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
      done(null, parsed);
    });
  });
}
