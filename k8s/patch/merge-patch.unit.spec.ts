// Method: every example of RFC 7386 Appendix A (and the worked example of section 3) as a table:
// given the original, when the merge patch is applied, then the result is the RFC's, and the
// inputs are untouched. Then the object-only entry point kube-apiserver uses.
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../kernel/index.js';
import { mergePatch, mergePatchObject } from './merge-patch.js';
import { patchErrorStatus } from './patch.errors.js';

const appendixA: readonly (readonly [JsonValue, JsonValue, JsonValue])[] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('given the originals of RFC 7386 Appendix A', () => {
  it.each(appendixA)('when %j is patched with %j then it becomes %j', (original, patch, expected) => {
    const before = JSON.stringify(original);
    expect(mergePatch(original, patch)).toEqual(expected);
    expect(JSON.stringify(original)).toBe(before);
  });
});

describe('given the document of RFC 7386 section 3', () => {
  const original = {
    title: 'Goodbye!',
    author: { givenName: 'John', familyName: 'Doe' },
    tags: ['example', 'sample'],
    content: 'This will be unchanged',
  };
  it('when the example patch is applied then title, phone number, author and tags change as the RFC shows', () => {
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    expect(mergePatch(original, patch)).toEqual({
      title: 'Hello!',
      author: { givenName: 'John' },
      tags: ['example'],
      content: 'This will be unchanged',
      phoneNumber: '+01-123-456-7890',
    });
  });
});

describe('given a stored object patched with application/merge-patch+json', () => {
  const pod = { metadata: { name: 'p', labels: { a: 'b', c: 'd' } }, spec: { containers: [{ name: 'x', image: 'nginx' }] } };
  it('when kubectl label sends {"metadata":{"labels":{"a":null,"e":"f"}}} then the label is removed and one added', () => {
    const result = mergePatchObject(pod, { metadata: { labels: { a: null, e: 'f' } } });
    expect(result).toEqual({ ok: true, value: { ...pod, metadata: { name: 'p', labels: { c: 'd', e: 'f' } } } });
  });
  it('when the patch holds a list then the list replaces the stored one wholesale', () => {
    const result = mergePatchObject(pod, { spec: { containers: [{ name: 'y' }] } });
    expect(result.ok && result.value).toEqual({ ...pod, spec: { containers: [{ name: 'y' }] } });
  });
  it('when the patch is not an object then it is a 400 BadRequest', () => {
    const result = mergePatchObject(pod, ['x']);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(patchErrorStatus(result.error)).toMatchObject({ code: 400, reason: 'BadRequest' });
  });
  it('when the patch carries a __proto__ key then it is stored as data, not as a prototype', () => {
    const result = mergePatchObject({}, JSON.parse('{"__proto__":{"polluted":true}}') as JsonValue);
    expect(result.ok && Object.keys(result.value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
