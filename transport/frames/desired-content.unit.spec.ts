// Desired content and its hash. Method: properties over generated objects: the hash ignores key
// order at every level, status, managedFields and resourceVersion, and changes with any other
// change; canonical JSON is checked against fixed texts so the hash stays stable across releases.
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { canonicalJson, contentHash, desiredContentOf, stripManagedFields } from './desired-content.js';
import { objectFor, objectResourceArbitrary, wireJsonArbitrary, wireJsonObjectArbitrary } from './frame.arbitraries.testing.js';

/** The same value with every object's keys inserted in an order chosen by `rank`. */
function reordered(value: JsonValue, rank: (key: string, depth: number) => number, depth = 0): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: JsonValue) => reordered(item, rank, depth + 1));
  const keys = Object.keys(value).sort((a, b) => rank(a, depth) - rank(b, depth) || (a < b ? -1 : 1));
  return Object.fromEntries(keys.map((key) => [key, reordered((value as JsonObject)[key] as JsonValue, rank, depth + 1)]));
}

/** Every path to a leaf (a primitive, an empty array or an empty object) in a value. */
function leafPaths(value: JsonValue, at: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [at];
  const entries: [string | number, JsonValue][] = Array.isArray(value) ? value.map((v: JsonValue, i) => [i, v]) : Object.entries(value);
  return entries.length === 0 ? [at] : entries.flatMap(([key, child]) => leafPaths(child, [...at, key]));
}

/** A copy with the leaf at `path` replaced by a value that is certainly different. */
function withChangedLeaf(value: JsonValue, path: readonly (string | number)[]): JsonValue {
  if (path.length === 0) {
    if (typeof value === 'string') return `${value}x`;
    if (typeof value === 'number') return value === 0 ? 1 : -value;
    if (typeof value === 'boolean') return !value;
    if (value === null) return 0;
    return Array.isArray(value) ? [null] : { added: null };
  }
  const [key, ...rest] = path;
  if (Array.isArray(value)) return value.map((item: JsonValue, i) => (i === key ? withChangedLeaf(item, rest) : item));
  const object = value as JsonObject;
  return { ...object, [key as string]: withChangedLeaf(object[key as string] as JsonValue, rest) };
}

const objectArbitrary = objectResourceArbitrary.chain(objectFor);

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ d: true, c: null }], A: 'x', '10': 0, '9': 0 })).toBe('{"10":0,"9":0,"A":"x","a":[{"c":null,"d":true}],"b":1}');
  });

  it('writes numbers and strings as JSON.stringify does, and leaves out undefined members as JSON does', () => {
    expect(canonicalJson({ n: -0, e: 1e21, s: 'é\n"', u: undefined } as unknown as JsonValue)).toBe('{"e":1e+21,"n":0,"s":"é\\n\\""}');
  });

  it('orders integer-like keys as strings, which no JavaScript object can hold in that order', () => {
    expect(canonicalJson({ nested: [{ '-x': 1, '5': 2, '10': 3, '9': 4 }] })).toBe('{"nested":[{"-x":1,"10":3,"5":2,"9":4}]}');
  });

  it('keeps a member named __proto__ as a member and never mutates its argument', () => {
    const value = JSON.parse('{"b":{"z":1,"__proto__":{"polluted":true}},"a":0}') as JsonValue;
    const before = JSON.stringify(value);
    expect(canonicalJson(value)).toBe('{"a":0,"b":{"__proto__":{"polluted":true},"z":1}}');
    expect(JSON.stringify(value)).toBe(before);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('equals the member-by-member writing of sorted keys, for keys of every kind', () => {
    const key = fc.oneof(fc.constantFrom('0', '1', '9', '10', '-1', '01', ' ', 'a', 'A', '_', '__proto__', 'é'), fc.string({ maxLength: 3 }));
    const tree = fc.letrec<{ value: JsonValue }>((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 2 }), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(key, tie('value'), { maxKeys: 5 })),
    })).value;
    const written = (v: JsonValue): string => {
      if (v === null || typeof v !== 'object') return JSON.stringify(v);
      if (Array.isArray(v)) return `[${v.map(written).join(',')}]`;
      return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${written((v as JsonObject)[k] as JsonValue)}`).join(',')}}`;
    };
    fc.assert(
      fc.property(tree, (value) => {
        expect(canonicalJson(value)).toBe(written(value));
      }),
    );
  });

  it('is the same for a value and its JSON round trip, and for any key order', () => {
    fc.assert(
      fc.property(wireJsonArbitrary(4), fc.func(fc.integer()), (value, rank) => {
        const canonical = canonicalJson(value);
        expect(canonicalJson(JSON.parse(JSON.stringify(value)) as JsonValue)).toBe(canonical);
        expect(canonicalJson(reordered(value, rank))).toBe(canonical);
        expect(JSON.parse(canonical)).toEqual(value);
      }),
    );
  });
});

describe('desiredContentOf and stripManagedFields', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', uid: 'u', resourceVersion: '9', managedFields: [{ manager: 'kubectl' }], labels: { app: 'web' } },
    spec: { nodeName: 'edge-1' },
    status: { phase: 'Running' },
  };

  it('desired content drops status, managedFields and resourceVersion, and nothing else', () => {
    expect(desiredContentOf(pod)).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', uid: 'u', labels: { app: 'web' } }, spec: { nodeName: 'edge-1' } });
    expect(pod.status).toEqual({ phase: 'Running' });
  });

  it('stripManagedFields drops only managedFields, never mutates, and returns an object without them as it is', () => {
    const stripped = stripManagedFields(pod);
    expect(stripped).toEqual({ ...pod, metadata: { name: 'web', uid: 'u', resourceVersion: '9', labels: { app: 'web' } } });
    expect(pod.metadata.managedFields).toHaveLength(1);
    expect(stripManagedFields(stripped)).toBe(stripped);
    expect(stripManagedFields({ spec: {} })).toEqual({ spec: {} });
  });
});

describe('contentHash', () => {
  it('is sha256 hex of the canonical desired content', () => {
    // sha256 of '{"metadata":{"name":"a"}}' as sha256sum prints it.
    expect(contentHash({ metadata: { name: 'a', resourceVersion: '1' }, status: {} })).toBe('2f0b77e212c4d90d8b2ce9aa91113f5bc48f258d53180f66e42c7d6d8fb1b1ed');
  });

  it('does not change when keys are reordered at any level', () => {
    fc.assert(
      fc.property(objectArbitrary, fc.func(fc.integer()), (object, rank) => {
        expect(contentHash(reordered(object, rank) as JsonObject)).toBe(contentHash(object));
      }),
    );
  });

  it('does not change with status, managedFields or resourceVersion', () => {
    fc.assert(
      fc.property(objectArbitrary, wireJsonArbitrary(2), wireJsonArbitrary(2), fc.nat().map(String), (object, status, managedFields, resourceVersion) => {
        const changed = { ...object, status, metadata: { ...object.metadata, managedFields, resourceVersion } };
        expect(contentHash(changed)).toBe(contentHash(object));
      }),
    );
  });

  it('changes when any leaf of the desired content changes', () => {
    const withDesired = objectArbitrary.filter((o) => leafPaths(desiredContentOf(o)).length > 0);
    fc.assert(
      fc.property(withDesired, fc.nat(), (object, pick) => {
        const desired = desiredContentOf(object);
        const paths = leafPaths(desired);
        const changed = withChangedLeaf(desired, paths[pick % paths.length] ?? []) as JsonObject;
        expect(isDeepStrictEqual(changed, desired)).toBe(false);
        expect(contentHash(changed)).not.toBe(contentHash(object));
      }),
    );
  });

  it('is equal for two objects exactly when their desired contents are equal', () => {
    fc.assert(
      fc.property(wireJsonObjectArbitrary(3), wireJsonObjectArbitrary(3), (a, b) => {
        expect(contentHash(a) === contentHash(b)).toBe(isDeepStrictEqual(JSON.parse(canonicalJson(desiredContentOf(a))), JSON.parse(canonicalJson(desiredContentOf(b)))));
      }),
    );
    expect(contentHash({ spec: { a: 1 } })).not.toBe(contentHash({ spec: { a: '1' } }));
    expect(contentHash({ spec: [1, 2] })).not.toBe(contentHash({ spec: [2, 1] }));
  });
});
