// The simulated API server and the cloud's control loops over it. Method: drive SimulatedApi's
// writes directly and assert on the objects and watch events, as a client of the real API would
// see them; then run CloudControllers (production's plans) with a stand-in kubelet on simulated
// time until idle, and assert on where the workloads ended.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../kernel/index.js';
import { arrayAt, nameOf, objectAt, stringAt, uidOf } from '../projections/kube/json-fields.js';
import type { ReflectorEvent } from '../projections/kube/reflector.js';
import { Incarnation, SimulatedTime } from './simulated-time.testing.js';
import { CONTROLLER_WRITES_PER_PASS_MAX, CloudControllers } from './system-controllers.testing.js';
import { EDGE_NODE_LABEL, PLURALS, THERMO_MODEL, SimulatedApi, type Plural } from './system-api.testing.js';

const EVENTS_MAX = 100_000;

const metadataOf = (object: JsonObject | undefined): Record<string, unknown> => objectAt(object, 'metadata') ?? {};
const rvOf = (object: JsonObject | undefined): number => Number(metadataOf(object)['resourceVersion']);
const generationOf = (object: JsonObject | undefined): unknown => metadataOf(object)['generation'];
const nodeOf = (pod: JsonObject): string | undefined => stringAt(objectAt(pod, 'spec'), 'nodeName');
const valueOf = <T>(result: { readonly ok: boolean; readonly value?: T; readonly error?: unknown }): T => {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.error)}`);
  return result.value as T;
};

function recordEvents(api: SimulatedApi): { plural: Plural; event: ReflectorEvent }[] {
  const events: { plural: Plural; event: ReflectorEvent }[] = [];
  api.watch((plural, event) => events.push({ plural, event }));
  return events;
}

describe('SimulatedApi at start', () => {
  it('holds namespaces default and kube-system, whose uid is the clusterId, and a Ready edge Node per name', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a', 'edge-b']);
    expect(api.list('namespaces').map(nameOf)).toEqual(['default', 'kube-system']);
    expect(api.clusterId).toBe(uidOf(api.get('namespaces', '', 'kube-system')));
    expect(api.serial).toBe(1);
    const nodes = api.list('nodes');
    expect(nodes.map(nameOf)).toEqual(['edge-a', 'edge-b']);
    for (const node of nodes) {
      expect(objectAt(metadataOf(node), 'labels')?.[EDGE_NODE_LABEL]).toBe('');
      expect(arrayAt(objectAt(node, 'status'), 'conditions')).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    }
    expect(api.resourceVersion).toBe(String(rvOf(nodes[1])));
  });
});

describe('SimulatedApi create', () => {
  it('mints uid, resourceVersion, generation 1 and a creationTimestamp from simulated time, and applies defaults', () => {
    const time = new SimulatedTime();
    const api = new SimulatedApi(time, ['edge-a']);
    time.advance(90_000);
    const before = Number(api.resourceVersion);
    const pod = valueOf(api.createPod('default', 'web', { node: 'edge-a' }));
    expect(metadataOf(pod)).toMatchObject({ name: 'web', namespace: 'default', generation: 1, creationTimestamp: '2026-01-01T00:01:30Z', resourceVersion: String(before + 1) });
    expect(uidOf(pod)).not.toBe('');
    expect(objectAt(pod, 'spec')).toMatchObject({ restartPolicy: 'Always', terminationGracePeriodSeconds: 30, schedulerName: 'default-scheduler', nodeName: 'edge-a' });
    expect(objectAt(pod, 'status')?.['phase']).toBe('Pending');
    expect(api.resourceVersion).toBe(String(before + 1));
  });

  it('refuses a name that exists, a missing namespace, and drops the status a create carries', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    valueOf(api.putConfigMap('default', 'settings', 'a'));
    expect(api.create('configmaps', { metadata: { name: 'settings', namespace: 'default' } })).toMatchObject({ ok: false, error: { kind: 'AlreadyExists' } });
    expect(api.create('configmaps', { metadata: { name: 'x', namespace: 'nowhere' } })).toMatchObject({ ok: false, error: { kind: 'NotFound' } });
    const deployment = valueOf(api.create('deployments', { metadata: { name: 'd', namespace: 'default' }, spec: { selector: { matchLabels: { a: 'b' } }, template: {} }, status: { replicas: 7 } }));
    expect(objectAt(deployment, 'status')).toBeUndefined();
  });

  it('names generateName objects with distinct deterministic suffixes', () => {
    const names = (): string[] => {
      const api = new SimulatedApi(new SimulatedTime(), []);
      return Array.from({ length: 50 }, () => nameOf(valueOf(api.create('configmaps', { metadata: { generateName: 'web-', namespace: 'default' } }))));
    };
    const first = names();
    expect(new Set(first).size).toBe(50);
    expect(first.every((n) => /^web-[a-z2-9]{5}$/.test(n))).toBe(true);
    expect(names()).toEqual(first);
  });

  it('creates the namespace a workload helper names when it is missing', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    valueOf(api.createDevice('plant', 'thermo-0', 'edge-a', { target: '20' }));
    expect(api.get('namespaces', '', 'plant')).toBeDefined();
    expect(api.get('devicemodels', 'plant', THERMO_MODEL)).toBeDefined();
  });
});

describe('SimulatedApi update and patchStatus', () => {
  it('takes metadata.resourceVersion as a precondition', () => {
    const api = new SimulatedApi(new SimulatedTime(), []);
    const first = valueOf(api.putConfigMap('default', 'settings', 'a'));
    valueOf(api.putConfigMap('default', 'settings', 'b'));
    const stale = api.update('configmaps', { ...first, data: { value: 'c' } });
    expect(stale).toMatchObject({ ok: false, error: { kind: 'Conflict' } });
    expect(objectAt(api.get('configmaps', 'default', 'settings'), 'data')).toEqual({ value: 'b' });
  });

  it('bumps generation on a spec change only, leaves status to the status subresource, and writes nothing when nothing changed', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const device = valueOf(api.createDevice('plant', 'thermo-0', 'edge-a', { target: '20' }));
    expect(generationOf(device)).toBe(1);
    const labelled = valueOf(api.update('devices', { ...device, metadata: { ...metadataOf(device), labels: { room: '1' } } } as JsonObject));
    expect(generationOf(labelled)).toBe(1);
    const withStatus = valueOf(api.update('devices', { ...labelled, status: { twins: [] } } as JsonObject));
    expect(objectAt(withStatus, 'status')).toBeUndefined();
    expect(rvOf(withStatus)).toBe(rvOf(labelled));
    const changed = valueOf(api.setDeviceDesired('plant', 'thermo-0', 'target', '22'));
    expect(generationOf(changed)).toBe(2);
    expect(rvOf(changed)).toBeGreaterThan(rvOf(labelled));
  });

  it('refuses a pod spec change beyond what upstream allows', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const pod = valueOf(api.createPod('default', 'web', {}));
    const spec = objectAt(pod, 'spec') ?? {};
    expect(api.update('pods', { ...pod, spec: { ...spec, restartPolicy: 'Never' } } as JsonObject)).toMatchObject({ ok: false, error: { kind: 'Invalid' } });
  });

  it('merges a status patch into status alone, without a generation bump, under uid and resourceVersion preconditions', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const pod = valueOf(api.createPod('default', 'web', { node: 'edge-a' }));
    const name = { uid: uidOf(pod) };
    const patched = valueOf(api.patchStatus('pods', 'default', 'web', name, { status: { phase: 'Running', podIP: '10.0.0.1' }, spec: { nodeName: 'elsewhere' } }));
    expect(objectAt(patched, 'status')).toMatchObject({ phase: 'Running', podIP: '10.0.0.1', qosClass: 'BestEffort' });
    expect(nodeOf(patched)).toBe('edge-a');
    expect(generationOf(patched)).toBe(1);
    const cleared = valueOf(api.patchStatus('pods', 'default', 'web', name, { status: { podIP: null } }));
    expect(objectAt(cleared, 'status')?.['podIP']).toBeUndefined();
    expect(api.patchStatus('pods', 'default', 'web', { uid: 'other' }, { status: { phase: 'Failed' } })).toMatchObject({ ok: false, error: { kind: 'Conflict' } });
    expect(api.patchStatus('pods', 'default', 'web', { ...name, resourceVersion: String(rvOf(patched)) }, { status: { phase: 'Failed' } })).toMatchObject({ ok: false, error: { kind: 'Conflict' } });
    expect(api.patchStatus('pods', 'default', 'web', name, { phase: 'Failed' })).toMatchObject({ ok: false, error: { kind: 'Invalid' } });
    expect(api.patchStatus('configmaps', 'default', 'web', name, { status: {} })).toMatchObject({ ok: false, error: { kind: 'NotFound' } });
  });
});

describe('SimulatedApi delete', () => {
  it('makes a bound pod terminating until the final delete with grace 0 and its uid; a re-created pod gets a new uid', () => {
    const time = new SimulatedTime();
    const api = new SimulatedApi(time, ['edge-a']);
    const pod = valueOf(api.createPod('default', 'web', { node: 'edge-a' }));
    time.advance(5_000);
    expect(api.deletePod('default', 'web')).toEqual({ ok: true, value: 'terminating' });
    const terminating = api.get('pods', 'default', 'web');
    expect(metadataOf(terminating)).toMatchObject({ deletionTimestamp: '2026-01-01T00:00:05Z', deletionGracePeriodSeconds: 30 });
    const revision = api.resourceVersion;
    expect(api.deletePod('default', 'web')).toEqual({ ok: true, value: 'terminating' });
    expect(api.resourceVersion).toBe(revision);
    expect(api.delete('pods', 'default', 'web', { uid: 'someone-else', gracePeriodSeconds: 0 })).toMatchObject({ ok: false, error: { kind: 'Conflict' } });
    expect(api.delete('pods', 'default', 'web', { uid: uidOf(pod), gracePeriodSeconds: 0 })).toEqual({ ok: true, value: 'deleted' });
    expect(api.get('pods', 'default', 'web')).toBeUndefined();
    const again = valueOf(api.createPod('default', 'web', { node: 'edge-a' }));
    expect(uidOf(again)).not.toBe(uidOf(pod));
  });

  it('removes an unbound pod at once, and holds an object with finalizers until the last one goes', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    valueOf(api.createPod('default', 'pending', {}));
    expect(api.deletePod('default', 'pending')).toEqual({ ok: true, value: 'deleted' });
    valueOf(api.create('configmaps', { metadata: { name: 'held', namespace: 'default', finalizers: ['example.com/keep'] } }));
    expect(api.delete('configmaps', 'default', 'held')).toEqual({ ok: true, value: 'terminating' });
    const held = api.get('configmaps', 'default', 'held')!;
    expect(api.update('configmaps', { ...held, metadata: { ...metadataOf(held), finalizers: ['example.com/keep', 'example.com/more'] } } as JsonObject)).toMatchObject({ ok: false, error: { kind: 'Invalid' } });
    valueOf(api.update('configmaps', { ...held, metadata: { ...metadataOf(held), finalizers: [] } } as JsonObject));
    expect(api.get('configmaps', 'default', 'held')).toBeUndefined();
  });

  it('does not cascade: dependents stay for the garbage collector', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const owner = valueOf(api.putConfigMap('default', 'owner', 'x'));
    valueOf(api.create('configmaps', { metadata: { name: 'dependent', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: uidOf(owner) }] } }));
    valueOf(api.delete('configmaps', 'default', 'owner'));
    expect(api.get('configmaps', 'default', 'dependent')).toBeDefined();
  });
});

describe('SimulatedApi watch', () => {
  it('reports every change synchronously as ADDED, MODIFIED and DELETED at rising resourceVersions, until unsubscribed', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const events = recordEvents(api);
    const pod = valueOf(api.createPod('default', 'web', {}));
    valueOf(api.bind('default', 'web', uidOf(pod), 'edge-a'));
    valueOf(api.deletePod('default', 'web'));
    valueOf(api.delete('pods', 'default', 'web', { uid: uidOf(pod), gracePeriodSeconds: 0 }));
    expect(events.map((e) => `${e.plural} ${e.event.type}`)).toEqual(['pods ADDED', 'pods MODIFIED', 'pods MODIFIED', 'pods DELETED']);
    const versions = events.map((e) => Number(e.event.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(4);
    const deleted = events[3]!.event;
    expect(deleted.type === 'DELETED' && rvOf(deleted.object)).toBe(Number(deleted.resourceVersion));
    expect(api.resourceVersion).toBe(deleted.resourceVersion);
  });

  it('stops calling a listener once it unsubscribed', () => {
    const api = new SimulatedApi(new SimulatedTime(), []);
    let calls = 0;
    const stop = api.watch(() => (calls += 1));
    valueOf(api.putConfigMap('default', 'a', '1'));
    stop();
    valueOf(api.putConfigMap('default', 'a', '2'));
    expect(calls).toBe(1);
  });

  it('lists a resource as a listed event at the store revision', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-b', 'edge-a']);
    const listed = api.listed('nodes');
    expect(listed.type === 'listed' && listed.objects.map(nameOf)).toEqual(['edge-a', 'edge-b']);
    expect(listed.resourceVersion).toBe(api.resourceVersion);
  });
});

describe('SimulatedApi reset', () => {
  function populated(): { api: SimulatedApi; pods: JsonObject[] } {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const pods = [0, 1, 2].map((i) => valueOf(api.createPod('default', `p${i}`, { node: 'edge-a' })));
    for (let i = 0; i < 3; i++) valueOf(api.patchStatus('pods', 'default', `p${i}`, { uid: uidOf(pods[i]!) }, { status: { phase: 'Running' } }));
    return { api, pods };
  }

  it('restores a backup: same uids and content at lower resourceVersions, a new clusterId, lost positions gone, and a relist for watchers', () => {
    const { api, pods } = populated();
    const clusterId = api.clusterId;
    const nodeUid = uidOf(api.get('nodes', '', 'edge-a'));
    const revision = Number(api.resourceVersion);
    const events = recordEvents(api);
    api.reset(true, 0b010);
    expect(api.serial).toBe(2);
    expect(api.clusterId).not.toBe(clusterId);
    expect(uidOf(api.get('nodes', '', 'edge-a'))).toBe(nodeUid);
    expect(api.list('pods').map(nameOf)).toEqual(['p0', 'p2']);
    for (const pod of api.list('pods')) {
      const old = pods.find((p) => nameOf(p) === nameOf(pod))!;
      expect(uidOf(pod)).toBe(uidOf(old));
      expect(rvOf(pod)).toBeLessThan(rvOf(old));
      expect(objectAt(pod, 'status')?.['phase']).toBe('Running');
    }
    expect(Number(api.resourceVersion)).toBeLessThan(revision);
    expect(events.map((e) => `${e.plural} ${e.event.type}`)).toEqual(PLURALS.map((p) => `${p} listed`));
  });

  it('recreates under new uids: owners followed, statuses and generations as a new object has them, Nodes kept by name', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    const owner = valueOf(api.putConfigMap('default', 'owner', 'x'));
    valueOf(api.create('configmaps', { metadata: { name: 'dependent', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: uidOf(owner) }] } }));
    const pod = valueOf(api.createPod('default', 'web', { node: 'edge-a' }));
    valueOf(api.patchStatus('pods', 'default', 'web', { uid: uidOf(pod) }, { status: { phase: 'Running' } }));
    api.reset(false, 0);
    const newOwner = api.get('configmaps', 'default', 'owner')!;
    expect(uidOf(newOwner)).not.toBe(uidOf(owner));
    expect(arrayAt(metadataOf(api.get('configmaps', 'default', 'dependent')), 'ownerReferences')).toEqual([expect.objectContaining({ uid: uidOf(newOwner) })]);
    const recreated = api.get('pods', 'default', 'web')!;
    expect(uidOf(recreated)).not.toBe(uidOf(pod));
    expect(objectAt(recreated, 'status')).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(generationOf(recreated)).toBe(1);
    expect(api.get('nodes', '', 'edge-a')).toBeDefined();
  });

  it('leaves a dependent whose owner was lost with a dangling reference', () => {
    const api = new SimulatedApi(new SimulatedTime(), []);
    const owner = valueOf(api.putConfigMap('default', 'owner', 'x'));
    valueOf(api.create('configmaps', { metadata: { name: 'dependent', namespace: 'default', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: uidOf(owner) }] } }));
    api.reset(false, 0b1);
    expect(api.get('configmaps', 'default', 'owner')).toBeUndefined();
    expect(arrayAt(metadataOf(api.get('configmaps', 'default', 'dependent')), 'ownerReferences')).toEqual([expect.objectContaining({ uid: uidOf(owner) })]);
  });
});

describe('SimulatedApi everInScope', () => {
  it('records each node’s pods, their ConfigMaps, its Devices with their model, and its Node, and keeps what left', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a', 'edge-b']);
    const pod = valueOf(api.createPod('default', 'web', { node: 'edge-a', configMap: 'settings' }));
    const settings = valueOf(api.putConfigMap('default', 'settings', 'v'));
    const unrelated = valueOf(api.putConfigMap('default', 'other', 'v'));
    const device = valueOf(api.createDevice('plant', 'thermo-0', 'edge-b', { target: '20' }));
    const model = api.get('devicemodels', 'plant', THERMO_MODEL)!;
    const scopeOf = (node: string): ReadonlySet<string> => api.everInScope.get(node) ?? new Set();
    expect([...scopeOf('edge-a')].sort()).toEqual([uidOf(api.get('nodes', '', 'edge-a')), uidOf(pod), uidOf(settings)].sort());
    expect([...scopeOf('edge-b')].sort()).toEqual([uidOf(api.get('nodes', '', 'edge-b')), uidOf(device), uidOf(model)].sort());
    expect(scopeOf('edge-a').has(uidOf(unrelated))).toBe(false);
    valueOf(api.moveDevice('plant', 'thermo-0', 'edge-a'));
    valueOf(api.delete('pods', 'default', 'web', { gracePeriodSeconds: 0 }));
    expect(scopeOf('edge-a').has(uidOf(device))).toBe(true);
    expect(scopeOf('edge-a').has(uidOf(pod))).toBe(true);
    expect(scopeOf('edge-b').has(uidOf(device))).toBe(true);
  });

  it('adds a referenced object written after its referrer, and nothing of an unbound pod', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    valueOf(api.create('devices', { metadata: { name: 'd', namespace: 'default' }, spec: { nodeName: 'edge-a', deviceModelRef: { name: 'later' } } }));
    const model = valueOf(api.create('devicemodels', { metadata: { name: 'later', namespace: 'default' }, spec: {} }));
    const pending = valueOf(api.createPod('default', 'pending', { configMap: 'cfg' }));
    const config = valueOf(api.putConfigMap('default', 'cfg', 'v'));
    const scope = api.everInScope.get('edge-a')!;
    expect(scope.has(uidOf(model))).toBe(true);
    expect(scope.has(uidOf(pending))).toBe(false);
    expect(scope.has(uidOf(config))).toBe(false);
    valueOf(api.bind('default', 'pending', uidOf(pending), 'edge-a'));
    expect(scope.has(uidOf(pending))).toBe(true);
    expect(scope.has(uidOf(config))).toBe(true);
  });

  it('records the new uids a reset brings into scope', () => {
    const api = new SimulatedApi(new SimulatedTime(), ['edge-a']);
    valueOf(api.createPod('default', 'web', { node: 'edge-a' }));
    api.reset(false, 0);
    expect(api.everInScope.get('edge-a')!.has(uidOf(api.get('pods', 'default', 'web')))).toBe(true);
    expect(api.everInScope.get('edge-a')!.has(uidOf(api.get('nodes', '', 'edge-a')))).toBe(true);
  });
});

// ---- the control loops ----

/** A stand-in kubelet: runs every bound pod (Running, Ready) and completes graceful deletions, a short while after any change. */
class StandInKubelet {
  enabled = true;
  #due = false;
  constructor(
    readonly api: SimulatedApi,
    readonly time: SimulatedTime,
  ) {}

  kick(): void {
    if (this.#due || !this.enabled) return;
    this.#due = true;
    this.time.schedule(3, null, () => {
      this.#due = false;
      this.#pass();
    });
  }

  #pass(): void {
    for (const pod of this.api.list('pods')) {
      const node = nodeOf(pod);
      if (node === undefined || !this.enabled) continue;
      const [namespace, name, uid] = [String(metadataOf(pod)['namespace']), nameOf(pod), uidOf(pod)];
      if (metadataOf(pod)['deletionTimestamp'] !== undefined) valueOf(this.api.delete('pods', namespace, name, { uid, gracePeriodSeconds: 0 }));
      else if (objectAt(pod, 'status')?.['phase'] !== 'Running') {
        const conditions = [...arrayAt(objectAt(pod, 'status'), 'conditions').filter((c) => stringAt(c, 'type') !== 'Ready'), { type: 'Ready', status: 'True' }];
        valueOf(this.api.patchStatus('pods', namespace, name, { uid }, { status: { phase: 'Running', conditions } as JsonObject }));
      }
    }
  }
}

interface Cloud {
  readonly time: SimulatedTime;
  readonly api: SimulatedApi;
  readonly kubelet: StandInKubelet;
  life: Incarnation;
  controllers: CloudControllers;
}

function cloudOf(nodes: readonly string[], options: { readonly nodesReady?: boolean } = {}): Cloud {
  const time = new SimulatedTime();
  const api = new SimulatedApi(time, nodes, options);
  const kubelet = new StandInKubelet(api, time);
  const life = new Incarnation('cloud-1');
  const cloud: Cloud = { time, api, kubelet, life, controllers: new CloudControllers(api, time, life, { passDelayMs: 10 }) };
  api.watch(() => {
    cloud.controllers.kick();
    kubelet.kick();
  });
  return cloud;
}

function settle(cloud: Cloud): void {
  expect(cloud.time.runUntilIdle(EVENTS_MAX)).toBe(true);
}

const podsOf = (api: SimulatedApi, app: string): JsonObject[] => api.list('pods').filter((p) => objectAt(metadataOf(p), 'labels')?.['app'] === app);
const replicaSetsOf = (api: SimulatedApi): readonly JsonObject[] => api.list('replicasets');

describe('CloudControllers', () => {
  it('converge a Deployment of 3 to 3 running pods bound by placePod across both nodes', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    valueOf(cloud.api.createDeployment('default', 'web', 3));
    settle(cloud);
    const pods = podsOf(cloud.api, 'web');
    expect(pods).toHaveLength(3);
    expect(pods.map(nodeOf).sort()).toEqual(['edge-a', 'edge-a', 'edge-b']);
    expect(pods.every((p) => objectAt(p, 'status')?.['phase'] === 'Running')).toBe(true);
    const [rs] = replicaSetsOf(cloud.api);
    expect(objectAt(rs, 'status')).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(pods.every((p) => arrayAt(metadataOf(p), 'ownerReferences').some((r) => stringAt(r, 'uid') === uidOf(rs)))).toBe(true);
    const deployment = cloud.api.get('deployments', 'default', 'web');
    expect(objectAt(deployment, 'status')).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    expect(objectAt(metadataOf(deployment), 'annotations')?.['deployment.kubernetes.io/revision']).toBe('1');
  });

  it('scale a Deployment down by deleting pods gracefully: terminating until their kubelet finishes them', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    valueOf(cloud.api.createDeployment('default', 'web', 3));
    settle(cloud);
    cloud.kubelet.enabled = false;
    valueOf(cloud.api.scaleDeployment('default', 'web', 1));
    settle(cloud);
    const terminating = podsOf(cloud.api, 'web').filter((p) => metadataOf(p)['deletionTimestamp'] !== undefined);
    expect(terminating).toHaveLength(2);
    expect(terminating.every((p) => metadataOf(p)['deletionGracePeriodSeconds'] === 30)).toBe(true);
    cloud.kubelet.enabled = true;
    cloud.kubelet.kick();
    settle(cloud);
    expect(podsOf(cloud.api, 'web')).toHaveLength(1);
    expect(objectAt(replicaSetsOf(cloud.api)[0], 'spec')?.['replicas']).toBe(1);
  });

  it('roll a template change out to a new ReplicaSet and scale the old one to zero', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    valueOf(cloud.api.createDeployment('default', 'web', 3));
    settle(cloud);
    const [before] = replicaSetsOf(cloud.api);
    valueOf(cloud.api.rolloutDeployment('default', 'web'));
    settle(cloud);
    const after = replicaSetsOf(cloud.api).find((rs) => uidOf(rs) !== uidOf(before))!;
    expect(after).toBeDefined();
    expect(objectAt(cloud.api.get('replicasets', 'default', nameOf(before)), 'spec')?.['replicas']).toBe(0);
    expect(objectAt(after, 'spec')?.['replicas']).toBe(3);
    const pods = podsOf(cloud.api, 'web');
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => arrayAt(metadataOf(p), 'ownerReferences').some((r) => stringAt(r, 'uid') === uidOf(after)))).toBe(true);
    expect(objectAt(cloud.api.get('deployments', 'default', 'web'), 'status')).toMatchObject({ updatedReplicas: 3, availableReplicas: 3, observedGeneration: 2 });
  });

  it('cascade a Deployment’s deletion through the garbage collector to its ReplicaSets and pods', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    valueOf(cloud.api.createDeployment('default', 'web', 3));
    settle(cloud);
    valueOf(cloud.api.deleteDeployment('default', 'web'));
    settle(cloud);
    expect(replicaSetsOf(cloud.api)).toEqual([]);
    expect(podsOf(cloud.api, 'web')).toEqual([]);
  });

  it('replace a Deployment deleted and re-created under the same name, whose new ReplicaSet takes the old one’s name', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    valueOf(cloud.api.createDeployment('default', 'web', 3));
    settle(cloud);
    const [old] = replicaSetsOf(cloud.api);
    valueOf(cloud.api.deleteDeployment('default', 'web'));
    const deployment = valueOf(cloud.api.createDeployment('default', 'web', 2));
    settle(cloud);
    const [rs, ...others] = replicaSetsOf(cloud.api);
    expect(others).toEqual([]);
    expect(nameOf(rs)).toBe(nameOf(old));
    expect(uidOf(rs)).not.toBe(uidOf(old));
    expect(arrayAt(metadataOf(rs), 'ownerReferences')).toEqual([expect.objectContaining({ uid: uidOf(deployment) })]);
    const pods = podsOf(cloud.api, 'web');
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => arrayAt(metadataOf(p), 'ownerReferences').some((r) => stringAt(r, 'uid') === uidOf(rs)))).toBe(true);
  });

  it('rebuild after a reset that lost a ReplicaSet: its pods are collected, a new one takes over', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    valueOf(cloud.api.createDeployment('default', 'web', 3));
    settle(cloud);
    const podUids = new Set(podsOf(cloud.api, 'web').map(uidOf));
    // Creation order after the Namespaces and Nodes: the Deployment (0), its ReplicaSet (1), its pods.
    cloud.api.reset(true, 0b10);
    settle(cloud);
    const [rs] = replicaSetsOf(cloud.api);
    const pods = podsOf(cloud.api, 'web');
    expect(pods).toHaveLength(3);
    expect(pods.some((p) => podUids.has(uidOf(p)))).toBe(false);
    expect(pods.every((p) => arrayAt(metadataOf(p), 'ownerReferences').some((r) => stringAt(r, 'uid') === uidOf(rs)))).toBe(true);
    expect(objectAt(cloud.api.get('deployments', 'default', 'web'), 'status')).toMatchObject({ availableReplicas: 3 });
  });

  it('do nothing in a crashed life, and converge from the API in the next one', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    cloud.life.kill();
    valueOf(cloud.api.createDeployment('default', 'web', 2));
    settle(cloud);
    expect(replicaSetsOf(cloud.api)).toEqual([]);
    cloud.life = new Incarnation('cloud-2');
    cloud.controllers = new CloudControllers(cloud.api, cloud.time, cloud.life, { passDelayMs: 10 });
    cloud.controllers.kick();
    settle(cloud);
    expect(podsOf(cloud.api, 'web').filter((p) => objectAt(p, 'status')?.['phase'] === 'Running')).toHaveLength(2);
  });

  it('mark a pod no node can take Unschedulable once, with kube-scheduler’s message, and go idle', () => {
    const cloud = cloudOf(['edge-a'], { nodesReady: false });
    valueOf(cloud.api.createPod('default', 'waiting', {}));
    settle(cloud);
    const pod = cloud.api.get('pods', 'default', 'waiting');
    expect(nodeOf(pod!)).toBeUndefined();
    expect(arrayAt(objectAt(pod, 'status'), 'conditions')).toContainEqual(
      expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.' }),
    );
    const passes = cloud.controllers.stats.passes;
    cloud.controllers.kick();
    settle(cloud);
    expect(rvOf(cloud.api.get('pods', 'default', 'waiting'))).toBe(rvOf(pod));
    expect(cloud.controllers.stats.passes).toBe(passes + 1);
  });

  it('bound each pass’s writes, and still converge a large Deployment over several passes', () => {
    const cloud = cloudOf(['edge-a', 'edge-b']);
    cloud.kubelet.enabled = false;
    const writesAt = new Map<number, number>();
    cloud.api.watch(() => writesAt.set(cloud.time.now, (writesAt.get(cloud.time.now) ?? 0) + 1));
    valueOf(cloud.api.createDeployment('default', 'big', 150));
    writesAt.clear();
    settle(cloud);
    expect(podsOf(cloud.api, 'big').filter((p) => nodeOf(p) !== undefined)).toHaveLength(150);
    expect(Math.max(...writesAt.values())).toBeLessThanOrEqual(CONTROLLER_WRITES_PER_PASS_MAX);
    expect(writesAt.size).toBeGreaterThan(4);
  });
});
