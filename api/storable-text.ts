// Postgres cannot store U+0000 in text or jsonb, nor a lone UTF-16 surrogate in jsonb: a request carrying one failed
// at its INSERT with a 500 (found by test/route-fuzz.test.ts). Every route now refuses it first, as a 400 naming the field.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeelError } from '../errors/keel-error.js';

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- NUL is exactly what it looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** JSON pointer of the first string (value or key) in `value` that Postgres cannot store, or null. */
export function findUnstorableText(value: unknown): string | null {
  // Iterative: a deeply nested body must not overflow the stack.
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) return path;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}/${i}` });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        const childPath = `${path}/${escapePointer(key)}`;
        if (UNSTORABLE.test(key)) return childPath;
        stack.push({ value: child, path: childPath });
      }
    }
  }
  return null;
}

/** Adds a preValidation hook to every route: params, query string and body must hold only storable text. */
export function registerStorableTextCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    for (const [location, value] of [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ] as const) {
      const path = findUnstorableText(value);
      if (path === null) continue;
      const message = 'must not contain U+0000 or an unpaired UTF-16 surrogate';
      throw new KeelError('VALIDATION_FAILED', `${location}${path} ${message}`, { issues: [{ location, path, message }] });
    }
  });
}
