// Text Postgres cannot store (U+0000 anywhere, a lone surrogate in jsonb) is found wherever it hides in a request.
import { describe, expect, it } from 'vitest';
import { findUnstorableText } from './storable-text.js';

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
