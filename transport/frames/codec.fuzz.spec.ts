// Fuzzing the decoder. Method: fast-check feeds it arbitrary bytes, arbitrary strings, arbitrary
// JSON, envelope-shaped JSON built from plausible and implausible field values, and valid frames with
// one thing changed (a byte, a removed key, a retyped field, a `__proto__` key, an unknown key). The
// decoder must never throw; it returns a frame that re-encodes to itself or an error closing with
// 1009 exactly when the input is over the limit and 1007 otherwise, with a printable reason of at
// most 123 bytes. Where the change makes the outcome certain (a required key removed or retyped),
// the exact error path is asserted too.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../kernel/index.js';
import { decodeFrame, encodeFrame, type FrameError } from './codec.js';
import { frameArbitrary, wireJsonArbitrary } from './frame.arbitraries.testing.js';
import { CLOSE_REASON_BYTES_MAX, GROUP_OPERATIONS, Modules, isSequenced, type Frame, type FrameKind } from './frame.js';
import { CLUSTER_SCOPED_TYPES } from './resource.js';

const limits = { frameBytesMax: 1024 };
const noLimit = { frameBytesMax: Number.MAX_SAFE_INTEGER };
const runs = { numRuns: 400 };

/** Decodes and checks everything that must hold whatever the input; returns the result for more checks. */
function decodeWellBehaved(input: string | Buffer, lim = limits): ReturnType<typeof decodeFrame> {
  const result = decodeFrame(input, lim);
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (result.ok) {
    expect(bytes).toBeLessThanOrEqual(lim.frameBytesMax);
    expect(decodeFrame(encodeFrame(result.value), noLimit)).toEqual(result);
  } else {
    expectCloseable(result.error);
    expect(result.error.closeCode).toBe(bytes > lim.frameBytesMax ? 1009 : 1007);
  }
  return result;
}

function expectCloseable(error: FrameError): void {
  expect(error.kind).toBe(error.closeCode === 1009 ? 'FrameTooLarge' : 'FrameUndecodable');
  expect(Buffer.byteLength(error.reason, 'utf8')).toBeLessThanOrEqual(CLOSE_REASON_BYTES_MAX);
  expect(error.reason).toMatch(/^[\x20-\x7e]+$/);
}

function expectUndecodableAt(input: string, path: string): void {
  const result = decodeWellBehaved(input, noLimit);
  expect(result.ok ? 'decoded' : result.error.kind === 'FrameUndecodable' && result.error.path).toBe(path);
}

afterAll(() => {
  // Nothing the fuzzer sent may have reached a prototype.
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
});

describe('arbitrary input never throws and is closed with 1007 or 1009', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (bytes) => {
        decodeWellBehaved(Buffer.from(bytes));
      }),
      runs,
    );
  });

  it('valid frames with bytes overwritten', () => {
    const flipped = fc
      .tuple(frameArbitrary, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([frame, flips]) => {
        const bytes = Buffer.from(encodeFrame(frame), 'utf8');
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        return bytes;
      });
    fc.assert(
      fc.property(flipped, (bytes) => {
        decodeWellBehaved(bytes);
      }),
      runs,
    );
  });

  it('arbitrary strings, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 600 }), fc.string({ unit: 'grapheme', maxLength: 600 })), (text) => {
        decodeWellBehaved(text);
      }),
      runs,
    );
  });

  it('arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        decodeWellBehaved(JSON.stringify(value) ?? 'null');
      }),
      runs,
    );
  });

  it('envelope-shaped JSON from plausible and implausible field values', () => {
    const field = fc.oneof(
      fc.constantFrom(...Object.values(Modules), ...GROUP_OPERATIONS.resource, ...GROUP_OPERATIONS.edgehive, 'resource', 'edgehive', 'user'),
      fc.constantFrom('null/node/edge-1', 'default/pod/web', 'default/configmap', 'k8s/ca.crt', 'device/default/t/twin/edge_updated', 'node/e/default/pod/w'),
      fc.constantFrom(0, 1, -1, 2 ** 53, 1.5, '', 'm-1', '42', true, false, null, 'ping'),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const record = (keys: readonly string[]) => fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 4 })), field, { maxKeys: keys.length + 1 });
    const envelope = fc.record(
      {
        header: record(['msg_id', 'parent_msg_id', 'timestamp', 'resourceversion', 'sync', 'type', 'seq', 'ack']),
        route: record(['source', 'destination', 'group', 'operation', 'resource']),
        content: fc.oneof(field, fc.record({ metadata: fc.record({ uid: field, name: field, namespace: field }, { requiredKeys: [] }), uid: field }, { requiredKeys: [] })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(envelope, (message) => {
        decodeWellBehaved(JSON.stringify(message), noLimit);
      }),
      runs,
    );
  });
});

type Path = readonly (string | number)[];
type Tree = { [key: string]: JsonValue } | JsonValue[];

const wireOf = (frame: Frame): Tree => JSON.parse(encodeFrame(frame)) as Tree;

/** Every path in a JSON value, containers and leaves, except the root. */
function allPaths(value: JsonValue, at: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, JsonValue][] = Array.isArray(value) ? value.map((v: JsonValue, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...at, key], ...allPaths(child, [...at, key])]);
}

/** Applies `change` to the parent of `path` (a mutable copy of the message). */
function atParent(tree: Tree, path: Path, change: (parent: Record<string | number, unknown>, key: string | number) => void): string {
  let parent = tree as unknown as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  change(parent, path[path.length - 1] ?? '');
  return JSON.stringify(tree);
}

const removed = (tree: Tree, path: Path): string =>
  atParent(tree, path, (parent, key) => {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  });
const replaced = (tree: Tree, path: Path, value: unknown): string =>
  atParent(tree, path, (parent, key) => {
    parent[key] = value;
  });

const common = ['header', 'route', 'content', 'header.msg_id', 'header.timestamp', 'route.source', 'route.group', 'route.operation', 'route.resource'];
const requiredByKind: { readonly [K in FrameKind]: readonly string[] } = {
  edgeHello: ['content.protocolVersion', 'content.nodeName', 'content.clusterId', 'content.journalId', 'content.upFloor', 'content.outboxHead'],
  cloudHello: ['content.protocolVersion', 'content.nodeName', 'content.clusterId', 'content.journalId', 'content.upAcked', 'content.sync'],
  keepalive: [],
  ack: ['header.ack'],
  synced: ['header.seq'],
  upEvent: ['header.seq'],
  downObject: ['header.seq', 'header.resourceversion', 'content.metadata', 'content.metadata.uid', 'content.metadata.name'],
  downTombstone: ['header.seq', 'header.resourceversion', 'content.uid'],
  query: ['header.sync'],
  response: ['header.parent_msg_id'],
  error: ['header.parent_msg_id'],
};

/** The keys a frame cannot do without: removing any of them, or giving it another JSON type, is an error there. */
function requiredPaths(frame: Frame): string[] {
  const paths = [...common, ...requiredByKind[frame.kind]];
  if (frame.kind === 'downObject' && !CLUSTER_SCOPED_TYPES.has(frame.target.type)) paths.push('content.metadata.namespace');
  return paths;
}

const categoryOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
/** Fields that may also be null; retyping them to null is no error. */
const nullable = (frame: Frame, path: string): boolean =>
  (frame.kind === 'edgeHello' && path === 'content.clusterId') || (frame.kind === 'cloudHello' && path === 'content.journalId');

const frameAndPick = fc.tuple(frameArbitrary, fc.nat());

describe('almost valid frames', () => {
  it('any key removed or value replaced: never throws, and decodes to a stable frame or closes with 1007', () => {
    fc.assert(
      fc.property(frameAndPick, fc.boolean(), wireJsonArbitrary(2), ([frame, pick], remove, value) => {
        const tree = wireOf(frame);
        const paths = allPaths(tree);
        const path = paths[pick % paths.length] ?? [];
        decodeWellBehaved(remove ? removed(tree, path) : replaced(tree, path, value), noLimit);
      }),
      runs,
    );
  });

  it('a required key removed is an error at that key', () => {
    fc.assert(
      fc.property(frameAndPick, ([frame, pick]) => {
        const paths = requiredPaths(frame);
        const path = paths[pick % paths.length] ?? '';
        expectUndecodableAt(removed(wireOf(frame), path.split('.')), path);
      }),
      runs,
    );
  });

  it('a required key given another JSON type is an error at that key', () => {
    const retyped = fc.tuple(frameAndPick, wireJsonArbitrary(2)).filter(([[frame, pick], value]) => {
      const paths = requiredPaths(frame).filter((p) => p !== 'content');
      const path = paths[pick % paths.length] ?? '';
      const original = path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], wireOf(frame));
      // A nullable id field (clusterId, journalId) takes null or an id string: neither is another type for it.
      const acceptedByNullable = nullable(frame, path) && (value === null || typeof value === 'string');
      return categoryOf(value) !== categoryOf(original) && !acceptedByNullable;
    });
    fc.assert(
      fc.property(retyped, ([[frame, pick], value]) => {
        const paths = requiredPaths(frame).filter((p) => p !== 'content');
        const path = paths[pick % paths.length] ?? '';
        expectUndecodableAt(replaced(wireOf(frame), path.split('.'), value), path);
      }),
      runs,
    );
  });

  it('a __proto__ key anywhere is refused and reaches no prototype', () => {
    fc.assert(
      fc.property(frameAndPick, wireJsonArbitrary(1), ([frame, pick], value) => {
        const tree = wireOf(frame);
        const objects: Path[] = [[], ...allPaths(tree)].filter((p) => categoryOf(p.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], tree)) === 'object');
        const path = objects[pick % objects.length] ?? [];
        const target = path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], tree) as Record<string, unknown>;
        Object.defineProperty(target, '__proto__', { value: { polluted: value }, enumerable: true, configurable: true, writable: true });
        const result = decodeWellBehaved(JSON.stringify(tree), noLimit);
        expect(!result.ok && result.error.kind === 'FrameUndecodable' && result.error.problem).toBe('forbiddenKey');
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      }),
      runs,
    );
  });

  it('an unknown key in the envelope is dropped: the frame decodes as if it were not there', () => {
    fc.assert(
      fc.property(frameArbitrary, fc.constantFrom([], ['header'], ['route']), fc.string({ maxLength: 6 }), wireJsonArbitrary(2), (frame, at, suffix, value) => {
        const tree = wireOf(frame);
        const parent = at.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], tree) as Record<string, unknown>;
        parent[`x-${suffix}`] = value;
        expect(decodeFrame(JSON.stringify(tree), noLimit)).toEqual({ ok: true, value: frame });
      }),
      runs,
    );
  });

  it('a sequenced frame without its seq, or an unsequenced one with a seq, is refused at header.seq', () => {
    fc.assert(
      fc.property(frameArbitrary, fc.integer({ min: 1, max: 1000 }), (frame, seq) => {
        const tree = wireOf(frame);
        const text = isSequenced(frame) ? removed(tree, ['header', 'seq']) : replaced(tree, ['header', 'seq'], seq);
        expectUndecodableAt(text, 'header.seq');
      }),
      runs,
    );
  });
});
