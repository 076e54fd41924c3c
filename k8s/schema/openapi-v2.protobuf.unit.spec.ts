// The gnostic protobuf encoding, given/when/then: given values or a swagger document, when encoded,
// then the bytes are the protobuf wire format with gnostic's field numbers. A minimal wire-format reader
// here reads them back; kubectl reading them for real is in openapi-v3.int.spec.ts.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { ProtoWriter, encodeOpenApiV2Protobuf } from './openapi-v2.protobuf.js';

interface WireField {
  readonly field: number;
  readonly wire: number;
  readonly value: bigint | Uint8Array;
}

/** Reads one message's fields (no schema: length-delimited values stay bytes). */
function readFields(bytes: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = bytes[at++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
  };
  while (at < bytes.length) {
    const tag = Number(varint());
    const wire = tag & 7;
    if (wire === 0) fields.push({ field: tag >> 3, wire, value: varint() });
    else if (wire === 1) fields.push({ field: tag >> 3, wire, value: bytes.slice(at, (at += 8)) });
    else {
      const length = Number(varint());
      fields.push({ field: tag >> 3, wire, value: bytes.slice(at, (at += length)) });
    }
  }
  return fields;
}

const text = (value: bigint | Uint8Array): string => new TextDecoder().decode(value as Uint8Array);
const sub = (fields: readonly WireField[], field: number): WireField[] => readFields(fields.find((f) => f.field === field)?.value as Uint8Array);
const all = (fields: readonly WireField[], field: number): WireField[] => fields.filter((f) => f.field === field);

describe('given scalar fields', () => {
  it('when varints are written, then they use 7-bit groups, low first; negative int64 takes ten bytes', () => {
    expect([...new ProtoWriter().varint(1, 300).finish()]).toEqual([0x08, 0xac, 0x02]);
    expect([...new ProtoWriter().varint(2, true).finish()]).toEqual([0x10, 0x01]);
    expect(new ProtoWriter().varint(1, -1).finish()).toHaveLength(11);
  });

  it('when a string and a double are written, then they are length-delimited UTF-8 and little-endian fixed64', () => {
    expect([...new ProtoWriter().string(1, 'hé').finish()]).toEqual([0x0a, 0x03, 0x68, 0xc3, 0xa9]);
    expect([...new ProtoWriter().double(7, 1).finish()]).toEqual([0x39, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  it('when a message is nested, then it is written as bytes of its own length', () => {
    expect([...new ProtoWriter().message(2, (m) => void m.string(1, 'a')).finish()]).toEqual([0x12, 0x03, 0x0a, 0x01, 0x61]);
  });
});

describe('given a swagger document', () => {
  const swagger: JsonObject = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.34.0' },
    paths: {
      '/api/v1/namespaces/{namespace}/pods/{name}': {
        patch: {
          operationId: 'patchCoreV1NamespacedPod',
          parameters: [{ name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true }],
          responses: { '200': { description: 'OK', schema: { $ref: '#/definitions/io.k8s.api.core.v1.Pod' } } },
          'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'Pod' },
        },
        parameters: [{ name: 'name', in: 'path', required: true, type: 'string' }],
      },
    },
    definitions: {
      'io.k8s.api.core.v1.Pod': {
        description: 'Pod is a collection of containers.',
        type: 'object',
        required: ['spec'],
        properties: { spec: { $ref: '#/definitions/io.k8s.api.core.v1.PodSpec', description: 'Spec.' }, tags: { type: 'array', items: { type: 'string' } } },
        'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Pod' }],
      },
    },
  };
  const document = readFields(encodeOpenApiV2Protobuf(swagger));

  it('when encoded, then swagger (1), info (2), paths (8) and definitions (9) are where gnostic expects them', () => {
    expect(text(document.find((f) => f.field === 1)?.value ?? new Uint8Array())).toBe('2.0');
    expect(sub(document, 2).map((f) => text(f.value))).toEqual(['Kubernetes', 'v1.34.0']);
    expect(document.map((f) => f.field)).toEqual([1, 2, 8, 9]);
  });

  it('when a definition is read back, then its schema fields and vendor extension (as YAML text) are there', () => {
    const named = sub(document, 9);
    const entry = readFields(named[0]?.value as Uint8Array);
    expect(text(entry[0]?.value ?? new Uint8Array())).toBe('io.k8s.api.core.v1.Pod');
    const schema = sub(entry, 2);
    expect(text(all(schema, 4)[0]?.value ?? new Uint8Array())).toBe('Pod is a collection of containers.');
    expect(all(schema, 19).map((f) => text(f.value))).toEqual(['spec']);
    expect(sub(schema, 22).map((f) => text(f.value))).toEqual(['object']);
    const properties = sub(schema, 25).map((f) => readFields(f.value as Uint8Array));
    expect(properties.map((p) => text(p[0]?.value ?? new Uint8Array()))).toEqual(['spec', 'tags']);
    expect(text(sub(properties[0] ?? [], 2).find((f) => f.field === 1)?.value ?? new Uint8Array())).toBe('#/definitions/io.k8s.api.core.v1.PodSpec');
    const extension = readFields(all(schema, 31)[0]?.value as Uint8Array);
    expect(text(extension[0]?.value ?? new Uint8Array())).toBe('x-kubernetes-group-version-kind');
    expect(JSON.parse(text(sub(extension, 2)[0]?.value ?? new Uint8Array()))).toEqual([{ group: '', version: 'v1', kind: 'Pod' }]);
  });

  it('when the PATCH operation is read back, then its query parameter sits in a QueryParameterSubSchema', () => {
    const pathItem = sub(readFields(sub(document, 8)[0]?.value as Uint8Array), 2);
    const patch = sub(pathItem, 8);
    expect(text(all(patch, 5)[0]?.value ?? new Uint8Array())).toBe('patchCoreV1NamespacedPod');
    const query = sub(sub(sub(sub(patch, 8), 1), 2), 3);
    expect(text(all(query, 4)[0]?.value ?? new Uint8Array())).toBe('fieldValidation');
    expect(text(all(query, 2)[0]?.value ?? new Uint8Array())).toBe('query');
    const pathParameter = sub(sub(sub(sub(pathItem, 9), 1), 2), 4);
    expect(text(all(pathParameter, 4)[0]?.value ?? new Uint8Array())).toBe('name');
    expect(all(pathParameter, 1)[0]?.value).toBe(1n);
  });
});
