// Text Postgres cannot store (U+0000 anywhere, a lone surrogate in jsonb) is found wherever it hides in a request.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerErrorHandling } from './errors.js';
import { registerJsonBodyParser } from './json-body-parser.js';
import { findUnstorableText, registerStorableTextCheck } from './storable-text.js';

describe('findUnstorableText', () => {
  it('when every string is storable (pairs of surrogates included), then finds nothing', () => {
    expect(findUnstorableText({ a: ['x', 'emoji 😀', { b: 'ü' }], n: 1, z: null })).toBeNull();
    expect(findUnstorableText(undefined)).toBeNull();
  });

  it.each([
    ['a NUL in a value', { name: 'a\u0000b' }, '/name'],
    ['a NUL in a key', { gates: { 'a\u0000': {} } }, '/gates/a\u0000'],
    ['a lone high surrogate', { items: [{ id: 'ok' }, { id: 'x\ud800' }] }, '/items/1/id'],
    ['a lone low surrogate', { c: '\udc00y' }, '/c'],
    ['a reversed pair', { c: '\udc00\ud800' }, '/c'],
    ['a bare string', '\u0000', ''],
    ['a key with a slash', { 'a/b': '\u0000' }, '/a~1b'],
  ])('when there is %s, then names its JSON pointer', (_what, value, pointer) => {
    expect(findUnstorableText(value)).toBe(pointer);
  });

  it('walks a very deep body without overflowing the stack', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableText(deep)).toBe('/0'.repeat(100_000));
  });
});

describe('the storable-text check on JSON bodies', () => {
  async function appWithCheck() {
    const app = Fastify({ logger: false });
    registerErrorHandling(app);
    registerJsonBodyParser(app);
    registerStorableTextCheck(app);
    app.post('/echo', async (request) => ({ got: request.body }));
    await app.ready();
    return app;
  }
  const post = (app: Awaited<ReturnType<typeof appWithCheck>>, payload: string | Buffer) =>
    app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });

  it('when the body escapes a NUL or a lone surrogate, then it is refused with its pointer; an escaped pair passes', async () => {
    const app = await appWithCheck();
    try {
      const nul = await post(app, '{"rows":[{"a":"x\\u0000"}]}');
      expect(nul.statusCode).toBe(400);
      expect(nul.json().error.message).toContain('body/rows/0/a');
      const lone = await post(app, '{"k\\ud800":1}');
      expect(lone.statusCode).toBe(400);
      expect(lone.json().error.message).toContain('body/k');
      const pair = await post(app, '{"a":"\\ud83d\\ude00","b":"\\u00fc"}');
      expect(pair.statusCode).toBe(200);
      expect(pair.json()).toEqual({ got: { a: '😀', b: 'ü' } });
    } finally {
      await app.close();
    }
  });

  it('when the body has no escape, then it passes, an encoded surrogate in its UTF-8 included (decoded as U+FFFD)', async () => {
    const app = await appWithCheck();
    try {
      const plain = await post(app, '{"rows":[{"weather":"rain","n":1.5}]}');
      expect(plain.statusCode).toBe(200);
      // ED A0 80 is U+D800 encoded as if it were a character: invalid UTF-8, so it never reaches a string as a surrogate.
      const encodedSurrogate = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
      const answer = await post(app, encodedSurrogate);
      expect(answer.statusCode).toBe(200);
      expect(findUnstorableText(answer.json())).toBeNull();
    } finally {
      await app.close();
    }
  });
});
