// The MetaServer's boundary decoder. Method: given the built-in resource registry, when an object or
// a reference of each shape (good, missing fields, wrong scope, unserved kind, oversized) is parsed,
// then it yields the storage key and a private copy, or the typed error that names the field.
import { describe, expect, it } from 'vitest';
import { ResourceRegistry } from '../api/resources.js';
import { describeMetaViewError, parseMetaObject, parseMetaObjectRef, servedKindsOf } from './meta-object.parse.js';
import { podObject } from './meta-server.testing.js';

const served = servedKindsOf(() => new ResourceRegistry().all());
const bytesMax = 64 * 1024;

describe('parseMetaObject', () => {
  it('keys a namespaced object by group, plural, namespace and name, and drops its resourceVersion', () => {
    const pod = podObject('shop', 'web', 'uid-1');
    const parsed = parseMetaObject(pod, served, bytesMax);
    expect(parsed.ok && parsed.value.key).toEqual({ group: '', resource: 'pods', namespace: 'shop', name: 'web' });
    expect(parsed.ok && parsed.value.uid).toBe('uid-1');
    expect(parsed.ok && (parsed.value.object['metadata'] as Record<string, unknown>)['resourceVersion']).toBeUndefined();
    // A private copy: the caller's object keeps its version.
    expect((pod['metadata'] as Record<string, unknown>)['resourceVersion']).toBe('4711');
  });

  it('keys a cluster-scoped object without a namespace, and a named group by its group', () => {
    const node = parseMetaObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-1' } }, served, bytesMax);
    expect(node.ok && node.value.key).toEqual({ group: '', resource: 'nodes', namespace: '', name: 'edge-1' });
    const lease = parseMetaObject({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'edge-1', namespace: 'kube-node-lease' } }, served, bytesMax);
    expect(lease.ok && lease.value.key).toEqual({ group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease', name: 'edge-1' });
  });

  it('names the missing or misplaced field', () => {
    const cases: [unknown, string][] = [
      [[], '<object>'],
      [{ apiVersion: 'v1', kind: 'Pod' }, 'metadata'],
      [{ kind: 'Pod', metadata: { name: 'a', namespace: 'n' } }, 'apiVersion'],
      [{ apiVersion: 'v1', metadata: { name: 'a', namespace: 'n' } }, 'kind'],
      [{ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'n' } }, 'metadata.name'],
      [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } }, 'metadata.namespace'],
      [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'a', namespace: 'n' } }, 'metadata.namespace'],
      [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'n', uid: 7 } }, 'metadata.uid'],
    ];
    for (const [value, field] of cases) {
      const parsed = parseMetaObject(value, served, bytesMax);
      expect(parsed.ok ? undefined : parsed.error, JSON.stringify(value)).toMatchObject({ kind: 'InvalidObject', field });
    }
  });

  it('refuses a kind the API does not serve, and a version it does not serve', () => {
    expect(parseMetaObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'a' } }, served, bytesMax)).toEqual({ ok: false, error: { kind: 'UnservedKind', apiVersion: 'example.com/v1', objectKind: 'Widget' } });
    expect(parseMetaObject({ apiVersion: 'v2', kind: 'Pod', metadata: { name: 'a', namespace: 'n' } }, served, bytesMax)).toMatchObject({ ok: false, error: { kind: 'UnservedKind' } });
  });

  it('refuses an object over the size bound, naming it', () => {
    const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'n' }, data: { blob: 'x'.repeat(bytesMax) } };
    const parsed = parseMetaObject(big, served, bytesMax);
    expect(parsed.ok ? undefined : parsed.error).toMatchObject({ kind: 'ObjectTooLarge', ref: 'configmaps n/big', bytesMax });
    expect(parsed.ok ? '' : describeMetaViewError(parsed.error)).toMatch(/^configmaps n\/big is \d+ bytes, over the view's limit of 65536$/);
  });
});

describe('parseMetaObjectRef', () => {
  it('takes a kind and name (with an optional uid to match) or a uid alone', () => {
    expect(parseMetaObjectRef({ apiVersion: 'v1', kind: 'Pod', namespace: 'n', name: 'web', uid: 'u' }, served)).toEqual({ ok: true, value: { by: 'key', key: { group: '', resource: 'pods', namespace: 'n', name: 'web' }, uid: 'u' } });
    expect(parseMetaObjectRef({ uid: 'u' }, served)).toEqual({ ok: true, value: { by: 'uid', uid: 'u' } });
  });

  it('refuses a reference that names nothing, or a namespaced one without a namespace', () => {
    expect(parseMetaObjectRef({}, served)).toMatchObject({ ok: false, error: { kind: 'InvalidObject', field: '<reference>' } });
    expect(parseMetaObjectRef({ uid: '' }, served)).toMatchObject({ ok: false, error: { kind: 'InvalidObject', field: 'uid' } });
    expect(parseMetaObjectRef({ apiVersion: 'v1', kind: 'Pod', name: 'web' }, served)).toMatchObject({ ok: false, error: { kind: 'InvalidObject', field: 'namespace' } });
  });
});
