// The OpenAPI documents' shape, given/when/then: given served resources, when the v3 index, a v3
// document or the v2 document is built, then it has what kubectl relies on (checked end to end against
// real kubectl in openapi-v3.int.spec.ts): upstream names, GVKs, descriptions, required lists, closed
// references, PATCH parameters, and the extension hook.
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import { type ResourceInfo, groupVersionOfOpenApiV3Path, openApiDocumentHash, openApiV3CustomResourceDocument, openApiV3Document, openApiV3Root } from './openapi-v3.js';
import { openApiV2Document } from './openapi-v2.js';
import { builtinModelOf } from './openapi-document.builder.js';
import { openApiResponder } from './openapi.responder.js';

const pods: ResourceInfo = { plural: 'pods', kind: 'Pod', namespaced: true, subresources: ['status'] };
const nodes: ResourceInfo = { plural: 'nodes', kind: 'Node', namespaced: false, subresources: [] };
const events: ResourceInfo = { plural: 'events', kind: 'Event', namespaced: true, subresources: [] };
const devices: ResourceInfo = { plural: 'devices', kind: 'Device', namespaced: true, subresources: ['status'] };
const deviceSchema: JsonObject = { type: 'object', properties: { spec: { type: 'object', properties: { tags: { type: 'array' } } } } };

const isObject = (value: JsonValue | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const object = (value: JsonValue | undefined): JsonObject => (isObject(value) ? value : {});
const schemasOf = (doc: JsonObject): JsonObject => object(object(doc['components'])['schemas']);
const propertyOf = (schema: JsonValue | undefined, name: string): JsonObject => object(object(object(schema)['properties'])[name]);

/** Every `$ref` anywhere in a JSON value. */
function refsIn(value: JsonValue): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner)));
}

/** Every schema object with `type: array` anywhere in a JSON value. */
function arraysIn(value: JsonValue): JsonObject[] {
  if (Array.isArray(value)) return value.flatMap(arraysIn);
  if (!isObject(value)) return [];
  return [...(value['type'] === 'array' ? [value] : []), ...Object.values(value).flatMap(arraysIn)];
}

describe('given served group-versions', () => {
  it('when the /openapi/v3 index is built, then each group-version points to its document by hash', () => {
    const root = openApiV3Root([{ group: '', version: 'v1' }, { group: 'apps', version: 'v1' }], (gv) => `H-${gv.group || 'core'}`);
    expect(root).toEqual({
      paths: {
        'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=H-core' },
        'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1?hash=H-apps' },
      },
    });
  });

  it('when a request path is read back, then it names the group-version, or nothing', () => {
    expect(groupVersionOfOpenApiV3Path('/openapi/v3/api/v1')).toEqual({ group: '', version: 'v1' });
    expect(groupVersionOfOpenApiV3Path('/openapi/v3/apis/devices.kubeedge.io/v1beta1')).toEqual({ group: 'devices.kubeedge.io', version: 'v1beta1' });
    expect(groupVersionOfOpenApiV3Path('/openapi/v3')).toBeUndefined();
    expect(groupVersionOfOpenApiV3Path('/openapi/v3/apis/apps')).toBeUndefined();
  });

  it('when a document is hashed, then the hash is upper-case SHA-512 hex that changes with the document', () => {
    const a = openApiDocumentHash({ a: 1 });
    expect(a).toMatch(/^[0-9A-F]{128}$/);
    expect(openApiDocumentHash({ a: 1 })).toBe(a);
    expect(openApiDocumentHash({ a: 2 })).not.toBe(a);
  });
});

describe('given the core/v1 document for pods, nodes and events', () => {
  const doc = openApiV3Document('', 'v1', [pods, nodes, events]);
  const schemas = schemasOf(doc);

  it('when kinds are looked up, then they carry upstream names and their GVKs, lists too', () => {
    expect(doc['openapi']).toBe('3.0.0');
    expect(object(schemas['io.k8s.api.core.v1.Pod'])['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'Pod' }]);
    expect(object(schemas['io.k8s.api.core.v1.PodList'])['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'PodList' }]);
    expect(object(schemas['io.k8s.api.core.v1.Event'])['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'Event' }]);
    expect(object(schemas['io.k8s.api.core.v1.PodSpec'])['x-kubernetes-group-version-kind']).toBeUndefined();
  });

  it('when fields are looked up, then types, formats, descriptions and required lists are upstream\'s', () => {
    expect(object(schemas['io.k8s.api.core.v1.Container'])['required']).toEqual(['name']);
    expect(object(schemas['io.k8s.api.core.v1.PodSpec'])['required']).toEqual(['containers']);
    expect(object(schemas['io.k8s.api.core.v1.Pod'])['required']).toBeUndefined();
    expect(propertyOf(schemas['io.k8s.api.core.v1.Container'], 'image')).toEqual({ description: expect.stringContaining('Container image name.') as unknown, type: 'string' });
    expect(propertyOf(schemas['io.k8s.api.core.v1.ContainerPort'], 'containerPort')).toMatchObject({ type: 'integer', format: 'int32' });
    expect(propertyOf(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'], 'creationTimestamp')).toMatchObject({ type: 'string', format: 'date-time' });
    expect(propertyOf(schemas['io.k8s.api.core.v1.PodSpec'], 'containers')).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/io.k8s.api.core.v1.Container' } });
    expect(propertyOf(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'], 'labels')).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
  });

  it('when a described field references a type, then the reference is wrapped in allOf beside the description', () => {
    expect(propertyOf(schemas['io.k8s.api.core.v1.Pod'], 'metadata')).toEqual({
      description: expect.stringContaining("Standard object's metadata.") as unknown,
      allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }],
    });
  });

  it('when an IntOrString field is looked up, then it references the IntOrString definition marked x-kubernetes-int-or-string', () => {
    expect(propertyOf(schemas['io.k8s.api.core.v1.HTTPGetAction'], 'port')).toEqual({
      description: 'Name or number of the port to access on the container. Number must be in the range 1 to 65535. Name must be an IANA_SVC_NAME.',
      allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }],
    });
    expect(schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({ format: 'int-or-string', 'x-kubernetes-int-or-string': true });
  });

  it('when every $ref is followed, then it lands on a schema of the same document', () => {
    const dangling = refsIn(doc).filter((ref) => schemas[ref.replace('#/components/schemas/', '')] === undefined);
    expect(refsIn(doc).length).toBeGreaterThan(100);
    expect(dangling).toEqual([]);
  });

  it('when the PATCH of a pod is looked up, then it has the query parameters and extensions kubectl checks', () => {
    const patch = object(object(object(doc['paths'])['/api/v1/namespaces/{namespace}/pods/{name}'])['patch']);
    const names = (patch['parameters'] as readonly JsonObject[]).map((p) => p['name']);
    expect(names).toEqual(['dryRun', 'fieldManager', 'fieldValidation', 'force']);
    expect(patch['x-kubernetes-action']).toBe('patch');
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(Object.keys(object(object(patch['requestBody'])['content']))).toContain('application/strategic-merge-patch+json');
  });

  it('when the paths are listed, then there are collection, object, status and all-namespaces paths with actions', () => {
    const paths = object(doc['paths']);
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/api/v1/namespaces/{namespace}/pods', '/api/v1/namespaces/{namespace}/pods/{name}/status', '/api/v1/pods', '/api/v1/nodes', '/api/v1/nodes/{name}']));
    expect(Object.keys(paths)).not.toContain('/api/v1/nodes/{name}/status');
    const item = object(paths['/api/v1/namespaces/{namespace}/pods/{name}']);
    expect(['get', 'put', 'patch', 'delete'].map((verb) => object(item[verb])['x-kubernetes-action'])).toEqual(['get', 'put', 'patch', 'delete']);
    expect(object(object(paths['/api/v1/namespaces/{namespace}/pods'])['post'])['operationId']).toBe('createCoreV1NamespacedPod');
  });
});

describe('given an extensions hook', () => {
  it('when the document is built, then the hook\'s extensions sit on exactly the fields it names', () => {
    const doc = openApiV3Document('', 'v1', [pods], undefined, {
      extensionsOf: (type, field) => (type === 'V1PodSpec' && field === 'containers' ? { 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' } : undefined),
    });
    expect(propertyOf(schemasOf(doc)['io.k8s.api.core.v1.PodSpec'], 'containers')).toMatchObject({ 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-patch-strategy': 'merge' });
    expect(propertyOf(schemasOf(doc)['io.k8s.api.core.v1.PodSpec'], 'volumes')['x-kubernetes-patch-merge-key']).toBeUndefined();
  });
});

describe('given a custom resource group', () => {
  const doc = openApiV3CustomResourceDocument('devices.kubeedge.io', 'v1beta1', [{ ...devices, schema: deviceSchema }]);
  const schemas = schemasOf(doc);

  it('when its document is built, then the kind is named by the reversed group and references ObjectMeta', () => {
    const device = object(schemas['io.kubeedge.devices.v1beta1.Device']);
    expect(device['x-kubernetes-group-version-kind']).toEqual([{ group: 'devices.kubeedge.io', version: 'v1beta1', kind: 'Device' }]);
    expect(propertyOf(device, 'metadata')['allOf']).toEqual([{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    expect(propertyOf(device, 'spec')).toMatchObject({ type: 'object' });
    expect(object(schemas['io.kubeedge.devices.v1beta1.DeviceList'])['x-kubernetes-group-version-kind']).toEqual([{ group: 'devices.kubeedge.io', version: 'v1beta1', kind: 'DeviceList' }]);
    expect(refsIn(doc).filter((ref) => schemas[ref.replace('#/components/schemas/', '')] === undefined)).toEqual([]);
  });

  it('when its PATCH is looked up, then strategic merge is not offered (custom resources do not support it)', () => {
    const patch = object(object(object(doc['paths'])['/apis/devices.kubeedge.io/v1beta1/namespaces/{namespace}/devices/{name}'])['patch']);
    expect(Object.keys(object(object(patch['requestBody'])['content']))).toEqual(['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
  });

  it('when a custom kind shares a built-in kind name, then the built-in type is not taken for it', () => {
    expect(builtinModelOf({ group: 'devices.kubeedge.io', version: 'v1beta1' }, 'Device')).toBeUndefined();
    expect(builtinModelOf({ group: 'resource.k8s.io', version: 'v1beta1' }, 'Device')).toBe('V1beta1Device');
    expect(builtinModelOf({ group: '', version: 'v1' }, 'Event')).toBe('CoreV1Event');
  });
});

describe('given the v2 document for core pods and a custom resource', () => {
  const doc = openApiV2Document([
    { group: '', version: 'v1', resources: [pods] },
    { group: 'devices.kubeedge.io', version: 'v1beta1', resources: [devices], crdSchemas: new Map([['Device', deviceSchema]]) },
  ]);
  const definitions = object(doc['definitions']);

  it('when references are followed, then they use #/definitions/ and all resolve', () => {
    const refs = refsIn(doc);
    expect(refs.every((ref) => ref.startsWith('#/definitions/'))).toBe(true);
    expect(refs.filter((ref) => definitions[ref.replace('#/definitions/', '')] === undefined)).toEqual([]);
  });

  it('when fields reference types, then the description sits beside $ref (v2 has no allOf wrapper)', () => {
    expect(propertyOf(definitions['io.k8s.api.core.v1.Pod'], 'spec')).toEqual({ description: expect.stringContaining('Specification of the desired behavior') as unknown, $ref: '#/definitions/io.k8s.api.core.v1.PodSpec' });
  });

  it('when arrays are inspected, then every one has items (kubectl\'s v2 parser refuses arrays without)', () => {
    expect(arraysIn(doc).filter((schema) => schema['items'] === undefined)).toEqual([]);
  });

  it('when IntOrString is inspected, then it has the single primitive type kubectl\'s v2 parser needs', () => {
    expect(definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({ type: 'string', format: 'int-or-string' });
  });
});

describe('given a responder over core/v1 and a custom group', () => {
  const respond = openApiResponder([
    { group: '', version: 'v1', resources: [pods] },
    { group: 'devices.kubeedge.io', version: 'v1beta1', resources: [devices], crdSchemas: new Map([['Device', deviceSchema]]) },
  ]);
  const parse = (body: string | Uint8Array | undefined): JsonObject => JSON.parse(typeof body === 'string' ? body : '{}') as JsonObject;

  it('when the index is asked for, then its hashes are those of the documents it points to', () => {
    const root = parse(respond('/openapi/v3', 'application/json')?.body);
    const url = String(object(object(root['paths'])['api/v1'])['serverRelativeURL']);
    const document = parse(respond('/openapi/v3/api/v1', 'application/json')?.body);
    expect(url).toBe(`/openapi/v3/api/v1?hash=${openApiDocumentHash(document)}`);
    expect(Object.keys(object(root['paths']))).toEqual(['api/v1', 'apis/devices.kubeedge.io/v1beta1']);
  });

  it('when documents are asked for, then served group-versions answer and others are 404 (undefined)', () => {
    expect(object(schemasOf(parse(respond('/openapi/v3/apis/devices.kubeedge.io/v1beta1', 'application/json')?.body))['io.kubeedge.devices.v1beta1.Device'])).not.toEqual({});
    expect(respond('/openapi/v3/apis/apps/v1', 'application/json')).toBeUndefined();
    expect(respond('/openapi/v4', 'application/json')).toBeUndefined();
  });

  it('when v2 is asked for, then kubectl\'s protobuf Accept gets bytes and a JSON Accept gets swagger JSON', () => {
    const protobuf = respond('/openapi/v2', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf');
    expect(protobuf?.contentType).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(protobuf?.body).toBeInstanceOf(Uint8Array);
    expect(parse(respond('/openapi/v2', 'application/json')?.body)['swagger']).toBe('2.0');
  });
});
