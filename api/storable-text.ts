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

/** Whether any string (value or key) in `value` is one Postgres cannot store: a walk of values only, no pointers. */
function hasUnstorableText(value: unknown): boolean {
  // Iterative: a deeply nested body must not overflow the stack.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) return true;
    } else if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push(current[i]);
    } else if (current !== null && typeof current === 'object') {
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue;
        if (UNSTORABLE.test(key)) return true;
        stack.push((current as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/** JSON pointer of the first string (value or key) in `value` that Postgres cannot store, or null. */
export function findUnstorableText(value: unknown): string | null {
  // Every request is checked, almost always cleanly: pointers are built only once something is found.
  if (!hasUnstorableText(value)) return null;
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

/**
 * The last body parsed from JSON text that had no `\u` escape (see markStorableJson). One slot, not a WeakSet (whose
 * add cost about 1 % of a one-row predict): the hook runs right after its request's body is parsed, and a body that
 * is not this one is simply walked.
 */
let lastStorableBody: object | undefined;

/**
 * Marks a value parsed from JSON `text` as storable when the text shows it must be: JSON cannot carry a NUL except
 * as `\u0000`, and a body decoded from UTF-8 holds no lone surrogate unless one was written as a `\u` escape.
 * Then the hook below skips walking it (for a 1,000-row predict body, a walk of every key and value).
 */
export function markStorableJson(text: string, parsed: unknown): void {
  lastStorableBody = parsed !== null && typeof parsed === 'object' && !text.includes('\\u') ? parsed : undefined;
}

function check(location: 'params' | 'querystring' | 'body', value: unknown): void {
  const path = findUnstorableText(value);
  if (path === null) return;
  const message = 'must not contain U+0000 or an unpaired UTF-16 surrogate';
  throw new KeelError('VALIDATION_FAILED', `${location}${path} ${message}`, { issues: [{ location, path, message }] });
}

/** Adds a preValidation hook to every route: params, query string and body must hold only storable text. */
export function registerStorableTextCheck(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every request and has nothing to await.
  app.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    try {
      check('params', request.params);
      check('querystring', request.query);
      const body = request.body;
      if (body === undefined || body !== lastStorableBody) check('body', body);
      lastStorableBody = undefined;
    } catch (error) {
      done(error as KeelError);
      return;
    }
    done();
  });
}
