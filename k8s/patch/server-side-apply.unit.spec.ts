// Method: given a stored object and its managedFields, when an apply (or a recorded update) comes
// in, then the stored object, the managedFields entries (in kube-apiserver's FieldsV1 form) or the
// typed conflict are what kube-apiserver produces. Objects are the ones kubectl sends.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { applyErrorStatus, applyPatch, recordUpdate, type ApplyConflict, type ApplyRequest, type OwnershipOutcome } from './server-side-apply.js';

const t0 = '2024-05-01T10:00:00.123Z';
const t1 = '2024-05-01T11:00:00Z';

const deployment: JsonObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx', labels: { app: 'nginx' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.14', ports: [{ containerPort: 80 }] }] },
    },
  },
};

const applied = (request: Partial<ApplyRequest> & Pick<ApplyRequest, 'applied'>): OwnershipOutcome => {
  const result = applyPatch({ live: undefined, manager: 'kubectl', force: false, typeName: 'V1Deployment', now: t0, ...request });
  if (!result.ok) throw new Error(`unexpected ${result.error.kind}: ${result.error.message}`);
  return result.value;
};
const conflict = (request: Partial<ApplyRequest> & Pick<ApplyRequest, 'applied'>): ApplyConflict => {
  const result = applyPatch({ live: undefined, manager: 'kubectl', force: false, typeName: 'V1Pod', now: t1, ...request });
  if (result.ok || result.error.kind !== 'ApplyConflict') throw new Error('expected a conflict');
  return result.error;
};
const path = (o: JsonObject, ...keys: (string | number)[]): unknown => keys.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], o);

describe('given no deployment yet', () => {
  it('when kubectl apply --server-side creates it then one Apply entry owns exactly the applied fields', () => {
    const { object, managedFields, changed } = applied({ applied: deployment });
    expect(changed).toBe(true);
    expect(path(object, 'spec')).toEqual(deployment['spec']);
    expect(managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2024-05-01T10:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"nginx"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                  },
                },
              },
            },
          },
        },
      },
    ]);
    expect(path(object, 'metadata', 'managedFields')).toEqual(managedFields);
  });
});

describe('given a deployment applied by kubectl', () => {
  const first = applied({ applied: deployment });

  it('when the same configuration is applied again then nothing changes, not even the entry time', () => {
    const again = applied({ live: first.object, applied: deployment, now: t1 });
    expect(again.changed).toBe(false);
    expect(again.object).toEqual(first.object);
  });

  it('when the configuration no longer has a label then the label is removed', () => {
    const withTier = applied({ live: first.object, applied: { ...deployment, metadata: { name: 'nginx', labels: { app: 'nginx', tier: 'web' } } } });
    expect(path(withTier.object, 'metadata', 'labels')).toEqual({ app: 'nginx', tier: 'web' });
    const without = applied({ live: withTier.object, applied: deployment, now: t1 });
    expect(path(without.object, 'metadata', 'labels')).toEqual({ app: 'nginx' });
    expect(without.managedFields[0]?.time).toBe(t1);
  });

  it('when a dropped field is also owned by another manager then it stays', () => {
    const labelled = recordUpdate({
      before: first.object,
      after: { ...first.object, metadata: { ...(first.object['metadata'] as object), labels: { app: 'nginx', env: 'prod' } } },
      manager: 'kubectl-label',
      operation: 'Update',
      typeName: 'V1Deployment',
      now: t1,
    });
    expect(labelled.ok).toBe(true);
    if (!labelled.ok) return;
    const reapplied = applied({ live: labelled.value.object, applied: deployment, now: t1 });
    expect(path(reapplied.object, 'metadata', 'labels')).toEqual({ app: 'nginx', env: 'prod' });
    const label = reapplied.managedFields.find((e) => e.manager === 'kubectl-label');
    expect(label).toMatchObject({ operation: 'Update', apiVersion: 'apps/v1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:env': {} } } } });
  });

  it('when a second applier sets the same value then both own it and dropping it from one keeps it', () => {
    const shared = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx' }, spec: { replicas: 2 } };
    const second = applied({ live: first.object, applied: shared, manager: 'scaler', now: t1 });
    expect(second.managedFields.map((e) => e.manager)).toEqual(['kubectl', 'scaler']);
    const { replicas: _dropped, ...specWithout } = deployment['spec'] as Record<string, unknown>;
    const third = applied({ live: second.object, applied: { ...deployment, spec: specWithout as JsonObject }, now: t1 });
    expect(path(third.object, 'spec', 'replicas')).toBe(2);
  });

  it('when the configuration drops a container then the container goes, the other merged by key', () => {
    const two = applied({
      live: first.object,
      applied: { ...deployment, spec: { ...(deployment['spec'] as object), template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.14' }, { name: 'log', image: 'fluent' }] } } } },
    });
    expect((path(two.object, 'spec', 'template', 'spec', 'containers') as { name: string }[]).map((c) => c.name)).toEqual(['nginx', 'log']);
    const one = applied({ live: two.object, applied: { ...deployment, spec: { ...(deployment['spec'] as object), template: { spec: { containers: [{ name: 'log', image: 'fluent' }] } } } } });
    expect(path(one.object, 'spec', 'template', 'spec', 'containers')).toEqual([{ name: 'log', image: 'fluent' }]);
  });
});

describe('given a pod created by kubectl apply (client-side), which recorded an Update', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.29' }] } };
  const created = recordUpdate({ before: undefined, after: pod, manager: 'kubectl-client-side-apply', operation: 'Update', typeName: 'V1Pod', now: t0 });
  if (!created.ok) throw new Error(created.error.message);
  const live = created.value.object;

  it('then the Update entry owns the created fields, with "." on items and maps it added', () => {
    expect(created.value.managedFields).toHaveLength(1);
    expect(created.value.managedFields[0]).toMatchObject({ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', time: '2024-05-01T10:00:00Z' });
    const fields = created.value.managedFields[0]?.fieldsV1 as Record<string, Record<string, Record<string, unknown>>>;
    expect(fields['f:metadata']).toEqual({ 'f:labels': { '.': {}, 'f:app': {} } });
    expect(path(fields as JsonObject, 'f:spec', 'f:containers', 'k:{"name":"nginx"}')).toEqual({ '.': {}, 'f:image': {}, 'f:name': {} });
  });

  it('when kubectl apply --server-side changes the image then it conflicts with the updater, as upstream words it', () => {
    const error = conflict({ live, applied: { ...pod, spec: { containers: [{ name: 'nginx', image: 'nginx:1.30' }] } } });
    expect(error.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="nginx"].image');
    expect(applyErrorStatus(error)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: error.message,
      reason: 'Conflict',
      details: { causes: [{ type: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.spec.containers[name="nginx"].image' }] },
      code: 409,
    });
  });

  it('when the apply changes two fields then the message lists both under the manager', () => {
    const error = conflict({ live, applied: { ...pod, metadata: { name: 'web', labels: { app: 'api' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.30' }] } } });
    expect(error.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n- .metadata.labels.app\n- .spec.containers[name="nginx"].image',
    );
    expect(error.conflicts).toHaveLength(2);
  });

  it('when the apply sets the values already there then there is no conflict and ownership is shared', () => {
    const result = applyPatch({ live, applied: pod, manager: 'kubectl', force: false, typeName: 'V1Pod', now: t1 });
    expect(result.ok && result.value.changed).toBe(false);
    expect(result.ok && result.value.managedFields.map((e) => `${e.manager}/${e.operation}`)).toEqual(['kubectl/Apply', 'kubectl-client-side-apply/Update']);
  });

  it('when the apply is forced then it takes the image and the updater keeps the rest', () => {
    const result = applyPatch({ live, applied: { ...pod, spec: { containers: [{ name: 'nginx', image: 'nginx:1.30' }] } }, manager: 'kubectl', force: true, typeName: 'V1Pod', now: t1 });
    if (!result.ok) throw new Error(result.error.message);
    expect(path(result.value.object, 'spec', 'containers')).toEqual([{ name: 'nginx', image: 'nginx:1.30' }]);
    const updater = result.value.managedFields.find((e) => e.manager === 'kubectl-client-side-apply');
    expect(path(updater?.fieldsV1 as JsonObject, 'f:spec', 'f:containers', 'k:{"name":"nginx"}')).toEqual({ '.': {}, 'f:name': {} });
    const applier = result.value.managedFields.find((e) => e.manager === 'kubectl');
    expect(path(applier?.fieldsV1 as JsonObject, 'f:spec', 'f:containers', 'k:{"name":"nginx"}')).toEqual({ '.': {}, 'f:image': {}, 'f:name': {} });
  });

  it('when a later update removes a label then no manager owns it any more', () => {
    const updated = recordUpdate({ before: live, after: { ...live, metadata: { ...(live['metadata'] as object), labels: {} } }, manager: 'kubectl-edit', operation: 'Update', typeName: 'V1Pod', now: t1 });
    if (!updated.ok) throw new Error(updated.error.message);
    expect(JSON.stringify(updated.value.managedFields)).not.toContain('f:app');
  });
});

describe('given list semantics', () => {
  it('when finalizers (a set) are applied then each value is owned as v:, and merged as a union', () => {
    const live = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', finalizers: ['x.example/a'] } };
    const result = applyPatch({ live, applied: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', finalizers: ['x.example/b'] } }, manager: 'm', force: false, typeName: 'V1ConfigMap', now: t0 });
    if (!result.ok) throw new Error(result.error.message);
    expect(path(result.value.object, 'metadata', 'finalizers')).toEqual(['x.example/a', 'x.example/b']);
    expect(result.value.managedFields[0]?.fieldsV1).toEqual({ 'f:metadata': { 'f:finalizers': { 'v:"x.example/b"': {} } } });
  });

  it('when a custom resource marks a list as a map through the lookup then items merge by key; other lists are atomic', () => {
    const live = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' }, spec: { ports: [{ port: 1, name: 'a' }], tags: ['x'] } };
    const result = applyPatch({
      live,
      applied: { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' }, spec: { ports: [{ port: 2, name: 'b' }], tags: ['y'] } },
      manager: 'm',
      force: false,
      typeName: undefined,
      now: t0,
      lookupListType: (p) => (p.join('.') === 'spec.ports' ? { type: 'map', keys: ['port'] } : undefined),
    });
    if (!result.ok) throw new Error(result.error.message);
    expect(path(result.value.object, 'spec')).toEqual({ ports: [{ port: 1, name: 'a' }, { port: 2, name: 'b' }], tags: ['y'] });
    expect(result.value.managedFields[0]?.fieldsV1).toEqual({ 'f:spec': { 'f:ports': { 'k:{"port":2}': { '.': {}, 'f:name': {}, 'f:port': {} } }, 'f:tags': {} } });
  });
});

describe('given malformed applied configurations', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } };
  it('when two containers share a name then it is refused as upstream words it (500)', () => {
    const result = applyPatch({ live: undefined, applied: { ...pod, spec: { containers: [{ name: 'a' }, { name: 'a' }] } }, manager: 'm', force: false, typeName: 'V1Pod', now: t0 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toBe('failed to create typed patch object (/v1, Kind=Pod): .spec.containers: duplicate entries for key [name="a"]');
    expect(applyErrorStatus(result.error)).toMatchObject({ code: 500, reason: '' });
  });
  it('when the configuration carries managedFields then it is a 400', () => {
    const result = applyPatch({ live: undefined, applied: { ...pod, metadata: { name: 'p', managedFields: [] } }, manager: 'm', force: false, typeName: 'V1Pod', now: t0 });
    expect(!result.ok && applyErrorStatus(result.error)).toMatchObject({ code: 400, message: 'metadata.managedFields must be nil' });
  });
});
