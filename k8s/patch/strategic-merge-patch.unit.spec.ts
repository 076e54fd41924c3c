// Method: given a stored object, when kubectl's own request body (or an upstream strategicpatch
// test case) is applied as a strategic merge patch, then the object is what kube-apiserver stores,
// item order included; failures come back as values with kube-apiserver's HTTP code.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { patchErrorStatus, type PatchError } from './patch.errors.js';
import { strategicMergePatch } from './strategic-merge-patch.js';

const patched = (original: JsonObject, patch: JsonObject, typeName: string): JsonObject => {
  const before = JSON.stringify(original);
  const result = strategicMergePatch(original, patch, typeName);
  expect(JSON.stringify(original)).toBe(before);
  if (!result.ok) throw new Error(`unexpected ${result.error.kind}: ${result.error.message}`);
  return result.value;
};
const refused = (original: JsonObject, patch: JsonObject, typeName: string): PatchError => {
  const result = strategicMergePatch(original, patch, typeName);
  if (result.ok) throw new Error('expected the patch to be refused');
  return result.error;
};
const names = (list: unknown): unknown[] => (list as { name: string }[]).map((c) => c.name);

const lastApplied = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"image":"nginx:1.29","name":"nginx"}]}}\n';
const pod: JsonObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web',
    namespace: 'default',
    labels: { app: 'web' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, note: 'keep' },
    finalizers: ['a.example/one', 'b.example/two', 'c.example/three'],
  },
  spec: {
    containers: [
      {
        name: 'nginx',
        image: 'nginx:1.29',
        imagePullPolicy: 'IfNotPresent',
        ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP' }],
        env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
      },
      { name: 'sidecar', image: 'busybox' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
    nodeSelector: { disk: 'ssd' },
    securityContext: { runAsUser: 1000 },
  },
};
const spec = (o: JsonObject): Record<string, unknown> => o['spec'] as Record<string, unknown>;
const meta = (o: JsonObject): Record<string, unknown> => o['metadata'] as Record<string, unknown>;
const containers = (o: JsonObject): Record<string, unknown>[] => spec(o)['containers'] as Record<string, unknown>[];

describe('given a pod created by kubectl apply (client-side)', () => {
  it('when kubectl re-applies a new image (the PATCH from platform-notes) then only that image and the annotation change', () => {
    const newLastApplied = lastApplied.replace('nginx:1.29', 'nginx:1.30');
    const result = patched(
      pod,
      {
        metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': newLastApplied } },
        spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ image: 'nginx:1.30', name: 'nginx' }] },
      },
      'V1Pod',
    );
    expect(containers(result)[0]).toEqual({ ...(containers(pod)[0] as object), image: 'nginx:1.30' });
    expect(names(containers(result))).toEqual(['nginx', 'sidecar']);
    expect(meta(result)['annotations']).toEqual({ 'kubectl.kubernetes.io/last-applied-configuration': newLastApplied, note: 'keep' });
    expect(JSON.stringify(result)).not.toContain('$setElementOrder');
  });

  it('when kubectl apply drops a container it sends $patch: delete and the container goes', () => {
    const result = patched(
      pod,
      { spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ $patch: 'delete', name: 'sidecar' }] } },
      'V1Pod',
    );
    expect(names(containers(result))).toEqual(['nginx']);
  });
});

describe('given a pod and the bodies of kubectl label, annotate and scale', () => {
  it('when kubectl label sends {"metadata":{"labels":{"tier":"front"}}} then the label is added and the others kept', () => {
    expect(meta(patched(pod, { metadata: { labels: { tier: 'front' } } }, 'V1Pod'))['labels']).toEqual({ app: 'web', tier: 'front' });
  });
  it('when kubectl label app- sends null then the label is removed', () => {
    expect(meta(patched(pod, { metadata: { labels: { app: null } } }, 'V1Pod'))['labels']).toEqual({});
  });
  it('when kubectl annotate --overwrite sends a new value then only that annotation changes', () => {
    const result = patched(pod, { metadata: { annotations: { note: 'changed' } } }, 'V1Pod');
    expect(meta(result)['annotations']).toMatchObject({ note: 'changed', 'kubectl.kubernetes.io/last-applied-configuration': lastApplied });
  });
  it('when a scale-style {"spec":{"replicas":3}} reaches a deployment then replicas is 3 and the template untouched', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'c' }] } } } };
    expect(patched(deployment, { spec: { replicas: 3 } }, 'V1Deployment')).toEqual({ ...deployment, spec: { ...deployment.spec, replicas: 3 } });
  });
});

describe('given the deployment of "Update API Objects in Place Using kubectl patch"', () => {
  const demo: JsonObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'patch-demo' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [{ name: 'patch-demo-ctr', image: 'nginx' }],
          tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }],
        },
      },
    },
  };
  const template = (o: JsonObject): Record<string, unknown> => (spec(o)['template'] as { spec: Record<string, unknown> }).spec;

  it('when patch-file.yaml adds container patch-demo-ctr-2 then both containers exist, the new one first (as the docs print)', () => {
    const result = patched(demo, { spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } } }, 'V1Deployment');
    expect(template(result)['containers']).toEqual([
      { name: 'patch-demo-ctr-2', image: 'redis' },
      { name: 'patch-demo-ctr', image: 'nginx' },
    ]);
  });

  it('when patch-tolerations patches the tolerations then the list is replaced, tolerations having no patch strategy', () => {
    const result = patched(demo, { spec: { template: { spec: { tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }] } } } }, 'V1Deployment');
    expect(template(result)['tolerations']).toEqual([{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }]);
  });

  it('when the retainKeys patch switches strategy to Recreate then rollingUpdate is cleared', () => {
    const retainDemo = { ...demo, spec: { ...(demo['spec'] as object), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%' } } } };
    const result = patched(retainDemo, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, 'V1Deployment');
    expect(spec(result)['strategy']).toEqual({ type: 'Recreate' });
  });

  it('when the same strategy patch lacks $retainKeys then rollingUpdate stays (which validation then rejects upstream)', () => {
    const retainDemo = { ...demo, spec: { ...(demo['spec'] as object), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%' } } } };
    const result = patched(retainDemo, { spec: { strategy: { type: 'Recreate' } } }, 'V1Deployment');
    expect(spec(result)['strategy']).toEqual({ type: 'Recreate', rollingUpdate: { maxSurge: '30%' } });
  });

  it('when a container is patched with $patch: delete then only that container goes', () => {
    const two = patched(demo, { spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } } }, 'V1Deployment');
    const result = patched(two, { spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr', $patch: 'delete' }] } } } }, 'V1Deployment');
    expect(template(result)['containers']).toEqual([{ name: 'patch-demo-ctr-2', image: 'redis' }]);
  });
});

describe('given the upstream strategicpatch cases on a pod', () => {
  it('when a container is patched by name then it merges, fields not in the patch survive, order is kept', () => {
    const result = patched(pod, { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }] } }, 'V1Pod');
    expect(names(containers(result))).toEqual(['nginx', 'sidecar']);
    expect(containers(result)[1]).toEqual({ name: 'sidecar', image: 'busybox:1.36' });
  });

  it('when ports are patched they merge by containerPort (a new port first), and env merges by name', () => {
    const result = patched(
      pod,
      { spec: { containers: [{ name: 'nginx', ports: [{ containerPort: 443, name: 'https' }, { containerPort: 8080 }], env: [{ name: 'B', value: '3' }] }] } },
      'V1Pod',
    );
    const nginx = containers(result)[0] as { ports: unknown; env: unknown };
    expect(nginx.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP', name: 'https' }, { containerPort: 8080 }]);
    expect(nginx.env).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '3' }]);
  });

  it('when a list holds $patch: replace then the patch items are the whole list', () => {
    const result = patched(pod, { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } }, 'V1Pod');
    expect(containers(result)).toEqual([{ name: 'only', image: 'x' }]);
  });

  it('when a map holds $patch: replace then it becomes exactly the patch', () => {
    expect(spec(patched(pod, { spec: { nodeSelector: { $patch: 'replace', zone: 'a' } } }, 'V1Pod'))['nodeSelector']).toEqual({ zone: 'a' });
  });

  it('when a map holds $patch: delete then it becomes empty', () => {
    expect(spec(patched(pod, { spec: { securityContext: { $patch: 'delete' } } }, 'V1Pod'))['securityContext']).toEqual({});
  });

  it('when a key is patched to null then it is deleted', () => {
    expect(spec(patched(pod, { spec: { nodeSelector: null } }, 'V1Pod'))).not.toHaveProperty('nodeSelector');
  });

  it('when $deleteFromPrimitiveList/finalizers names one then only it goes', () => {
    const result = patched(pod, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b.example/two'] } }, 'V1Pod');
    expect(meta(result)['finalizers']).toEqual(['a.example/one', 'c.example/three']);
  });

  it('when finalizers are patched they are a union (merge strategy), the new one first', () => {
    const result = patched(pod, { metadata: { finalizers: ['b.example/two', 'd.example/four'] } }, 'V1Pod');
    expect(meta(result)['finalizers']).toEqual(['a.example/one', 'b.example/two', 'd.example/four', 'c.example/three']);
  });

  it('when $setElementOrder/finalizers and a deletion list come together then order and removal both apply', () => {
    const result = patched(
      pod,
      { metadata: { '$setElementOrder/finalizers': ['c.example/three', 'a.example/one'], '$deleteFromPrimitiveList/finalizers': ['b.example/two'] } },
      'V1Pod',
    );
    expect(meta(result)['finalizers']).toEqual(['c.example/three', 'a.example/one']);
  });

  it('when $setElementOrder/containers reorders the list then the containers follow it', () => {
    const result = patched(pod, { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }], containers: [{ name: 'nginx', image: 'nginx:2' }] } }, 'V1Pod');
    expect(names(containers(result))).toEqual(['sidecar', 'nginx']);
  });

  it('when an item is in the live list but not in $setElementOrder then it keeps its relative position', () => {
    const three = patched(pod, { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }, { name: 'log' }], containers: [{ name: 'log', image: 'fluent' }] } }, 'V1Pod');
    expect(names(containers(three))).toEqual(['nginx', 'sidecar', 'log']);
    const result = patched(three, { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'log' }], containers: [{ name: 'log', image: 'fluent:2' }] } }, 'V1Pod');
    expect(names(containers(result))).toEqual(['nginx', 'sidecar', 'log']);
  });

  it('when a volume switches source with $retainKeys (merge,retainKeys) then the old source is cleared', () => {
    const result = patched(pod, { spec: { volumes: [{ name: 'data', hostPath: { path: '/srv' }, $retainKeys: ['hostPath', 'name'] }] } }, 'V1Pod');
    expect(spec(result)['volumes']).toEqual([{ name: 'data', hostPath: { path: '/srv' } }]);
  });

  it('when a new container arrives with nulls and directives inside then none of them is stored', () => {
    const result = patched(pod, { spec: { containers: [{ name: 'new', image: 'x', command: null, env: [{ name: 'X', value: '1' }, { name: 'Y', $patch: 'delete' }] }] } }, 'V1Pod');
    expect(containers(result)[0]).toEqual({ name: 'new', image: 'x', env: [{ name: 'X', value: '1' }] });
  });
});

describe('given an object whose type the graph does not know (a custom resource)', () => {
  const device: JsonObject = { spec: { twins: [{ name: 'temp' }], props: { a: 1, b: 2 } } };
  it('when patched then maps merge and lists are replaced, as JSON merge patch', () => {
    const result = patched(device, { spec: { twins: [{ name: 'hum' }], props: { b: null, c: 3 } } }, 'NoSuchType');
    expect(result).toEqual({ spec: { twins: [{ name: 'hum' }], props: { a: 1, c: 3 } } });
  });
});

describe('given patches kube-apiserver refuses', () => {
  it('when a merge list item lacks its merge key then it is a 500 naming the key', () => {
    const error = refused(pod, { spec: { containers: [{ image: 'x' }] } }, 'V1Pod');
    expect(error).toEqual({ kind: 'PatchFailed', message: 'map: map[image:x] does not contain declared merge key: name' });
    expect(patchErrorStatus(error)).toMatchObject({ code: 500, reason: '' });
  });
  it('when $retainKeys does not list a patched key then it is a 400', () => {
    const error = refused(pod, { spec: { securityContext: { $retainKeys: ['runAsUser'], runAsGroup: 1 } } }, 'V1Pod');
    expect(patchErrorStatus(error)).toMatchObject({ code: 400, reason: 'BadRequest', message: 'invalid patch format of retainKeys' });
  });
  it('when $patch: merge is used then it is refused as upstream refuses it', () => {
    expect(refused(pod, { spec: { securityContext: { $patch: 'merge' } } }, 'V1Pod').kind).toBe('PatchFailed');
    expect(refused(pod, { spec: { containers: [{ $patch: 'merge' }] } }, 'V1Pod').message).toBe('merging lists cannot yet be specified in the patch');
  });
  it('when a merge list holds lists then it is a 422 (and mixing them with strings a 500)', () => {
    const bare = { metadata: { name: 'p', finalizers: [] } };
    expect(patchErrorStatus(refused(bare, { metadata: { finalizers: [['x']] } }, 'V1Pod'))).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(refused(pod, { metadata: { finalizers: [['x']] } }, 'V1Pod').message).toContain('list element types are not identical');
  });
  it('when the patch list breaks the $setElementOrder order then it is refused', () => {
    const error = refused(pod, { spec: { '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }], containers: [{ name: 'sidecar' }, { name: 'nginx' }] } }, 'V1Pod');
    expect(error.message).toContain("doesn't match $setElementOrder list");
  });
  it('when a directive key is malformed then it is a 400', () => {
    expect(refused(pod, { metadata: { '$deleteFromPrimitiveListX/finalizers': ['a'] } }, 'V1Pod').kind).toBe('InvalidPatch');
  });
});
