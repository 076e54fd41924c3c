// ClusterView, given/when/then: given reflector events for pods, ConfigMaps, Secrets and Nodes,
// when a node's desired set or an authorization question is asked, then only what is bound to that
// node (and what its pods reference) is in it, and each change names exactly the nodes it touches.
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import { ClusterView } from './cluster-view.js';

let rv = 100;
const meta = (name: string, namespace: string | null, uid: string) => ({ name, ...(namespace === null ? {} : { namespace }), uid, resourceVersion: String(++rv) });
const pod = (name: string, nodeName: string | null, refs: { cm?: string; secret?: string } = {}, uid = `uid-pod-${name}`): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: meta(name, 'default', uid),
  spec: {
    ...(nodeName === null ? {} : { nodeName }),
    containers: [{ name: 'app', command: ['node'], ...(refs.cm === undefined ? {} : { envFrom: [{ configMapRef: { name: refs.cm } }] }) }],
    ...(refs.secret === undefined ? {} : { volumes: [{ name: 's', secret: { secretName: refs.secret } }] }),
  },
  status: { phase: 'Running' },
});
const configMap = (name: string): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(name, 'default', `uid-cm-${name}`), data: { k: name } });
const secret = (name: string): JsonObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta(name, 'default', `uid-secret-${name}`), data: { k: 'c2VjcmV0' } });
const node = (name: string): JsonObject => ({ apiVersion: 'v1', kind: 'Node', metadata: meta(name, null, `uid-node-${name}`), status: { conditions: [] } });

const listed = (objects: JsonObject[]) => ({ type: 'listed' as const, objects, resourceVersion: String(rv) });
const added = (object: JsonObject) => ({ type: 'ADDED' as const, object, resourceVersion: String(rv) });
const deleted = (object: JsonObject) => ({ type: 'DELETED' as const, object, resourceVersion: String(++rv) });
const keysOf = (view: ClusterView, nodeName: string): string[] => [...view.desiredSet(nodeName).objects.values()].map((o) => o.key).sort();

function givenTwoEdges(): ClusterView {
  const view = new ClusterView();
  view.apply('configmap', listed([configMap('shared'), configMap('only-b')]));
  view.apply('secret', listed([secret('a-secret'), secret('unused')]));
  view.apply('node', listed([node('edge-a'), node('edge-b')]));
  view.apply('pod', listed([pod('web-a', 'edge-a', { cm: 'shared', secret: 'a-secret' }), pod('web-b', 'edge-b', { cm: 'only-b' }), pod('pending', null, { secret: 'unused' })]));
  return view;
}

describe('ClusterView desired sets', () => {
  it('holds the node its pods, the ConfigMaps and Secrets they reference, and its own Node: nothing of another node', () => {
    const view = givenTwoEdges();
    expect(keysOf(view, 'edge-a')).toEqual(['configmaps/default/shared', 'nodes//edge-a', 'pods/default/web-a', 'secrets/default/a-secret']);
    expect(keysOf(view, 'edge-b')).toEqual(['configmaps/default/only-b', 'nodes//edge-b', 'pods/default/web-b']);
    expect(keysOf(view, 'edge-c')).toEqual([]);
  });

  it('holds the Services and Endpoints of the namespaces its pods run in, and a new one reaches exactly those nodes', () => {
    const view = givenTwoEdges();
    const service = (name: string, namespace: string): JsonObject => ({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, namespace, `uid-svc-${namespace}-${name}`), spec: { ports: [{ port: 80 }] } });
    const endpoints = (name: string, namespace: string): JsonObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: meta(name, namespace, `uid-ep-${namespace}-${name}`), subsets: [] });
    view.apply('service', listed([service('api', 'default'), service('other', 'team')]));
    view.apply('endpoints', listed([endpoints('api', 'default')]));
    expect(keysOf(view, 'edge-a')).toEqual(['configmaps/default/shared', 'endpoints/default/api', 'nodes//edge-a', 'pods/default/web-a', 'secrets/default/a-secret', 'services/default/api']);
    expect(keysOf(view, 'edge-b')).toContain('services/default/api');
    expect(keysOf(view, 'edge-a')).not.toContain('services/team/other');
    // A team pod on edge-b brings team's Services to edge-b only.
    const affected = view.apply('pod', added({ ...pod('worker', 'edge-b'), metadata: meta('worker', 'team', 'uid-pod-worker') }));
    expect([...affected]).toEqual(['edge-b']);
    expect(keysOf(view, 'edge-b')).toContain('services/team/other');
    expect([...view.apply('service', added(service('more', 'team')))]).toEqual(['edge-b']);
  });

  it('carries desired content: no status, no resourceVersion; the set carries the newest revision seen', () => {
    const view = givenTwoEdges();
    const web = [...view.desiredSet('edge-a').objects.values()].find((o) => o.key === 'pods/default/web-a')!;
    expect(web.content).not.toHaveProperty('status');
    expect((web.content as { metadata: object }).metadata).not.toHaveProperty('resourceVersion');
    expect(view.desiredSet('edge-a').resourceVersion).toBe(String(rv));
  });

  it('keeps a desired object the same object while its revision holds, and makes a new one when it changes', () => {
    const view = givenTwoEdges();
    const before = view.desiredSet('edge-a').objects.get('uid-cm-shared');
    expect(view.desiredSet('edge-a').objects.get('uid-cm-shared')).toBe(before);
    view.apply('configmap', { type: 'MODIFIED', object: { ...configMap('shared'), data: { k: 'changed' } }, resourceVersion: String(rv) });
    const after = view.desiredSet('edge-a').objects.get('uid-cm-shared');
    expect(after).not.toBe(before);
    expect(after!.contentHash).not.toBe(before!.contentHash);
  });
});

describe('ClusterView changes name the nodes they touch', () => {
  it('a pod change touches its node; moving it touches both; deleting it touches the old one', () => {
    const view = givenTwoEdges();
    expect([...view.apply('pod', added(pod('new', 'edge-b')))]).toEqual(['edge-b']);
    expect([...view.apply('pod', { type: 'MODIFIED', object: pod('new', 'edge-a'), resourceVersion: String(rv) })].sort()).toEqual(['edge-a', 'edge-b']);
    expect([...view.apply('pod', deleted(pod('new', 'edge-a')))]).toEqual(['edge-a']);
    expect(keysOf(view, 'edge-a')).not.toContain('pods/default/new');
  });

  it('a ConfigMap or Secret change touches only the nodes whose pods reference it', () => {
    const view = givenTwoEdges();
    expect([...view.apply('configmap', { type: 'MODIFIED', object: configMap('shared'), resourceVersion: String(rv) })]).toEqual(['edge-a']);
    expect([...view.apply('secret', { type: 'MODIFIED', object: secret('unused'), resourceVersion: String(rv) })]).toEqual([]);
    expect([...view.apply('secret', deleted(secret('a-secret')))]).toEqual(['edge-a']);
    expect(keysOf(view, 'edge-a')).not.toContain('secrets/default/a-secret');
  });

  it('a relist replaces the state: what is gone touches its node', () => {
    const view = givenTwoEdges();
    const affected = view.apply('pod', listed([pod('web-b', 'edge-b', { cm: 'only-b' })]));
    expect([...affected].sort()).toEqual(['edge-a', 'edge-b']);
    expect(keysOf(view, 'edge-a')).toEqual(['nodes//edge-a']);
  });
});

describe('ClusterView as the authorization view', () => {
  it('knows which node a pod is bound to and which node references which ConfigMap or Secret', () => {
    const view = givenTwoEdges();
    expect(view.podNode('default', 'web-a')).toBe('edge-a');
    expect(view.podNode('default', 'pending')).toBeUndefined();
    expect(view.podNode('default', 'nope')).toBeUndefined();
    expect(view.configMapReferencedBy('edge-a', 'default', 'shared')).toBe(true);
    expect(view.configMapReferencedBy('edge-b', 'default', 'shared')).toBe(false);
    expect(view.secretReferencedBy('edge-a', 'default', 'a-secret')).toBe(true);
    expect(view.secretReferencedBy('edge-b', 'default', 'a-secret')).toBe(false);
    expect(view.secretReferencedBy('edge-a', 'other', 'a-secret')).toBe(false);
  });
});

describe('ClusterView devices', () => {
  const deviceModel = (name: string, namespace = 'default', extra: JsonObject = {}): JsonObject => ({
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'DeviceModel',
    metadata: meta(name, namespace, `uid-model-${namespace}-${name}`),
    spec: { protocol: 'modbus', properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' }], ...extra },
  });
  const device = (name: string, nodeName: string | null, model: string, namespace = 'default'): JsonObject => ({
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: meta(name, namespace, `uid-device-${namespace}-${name}`),
    spec: { deviceModelRef: { name: model }, ...(nodeName === null ? {} : { nodeName }), protocol: { protocolName: 'modbus' }, properties: [{ name: 'temperature' }] },
    status: { twins: [{ propertyName: 'temperature', reported: { value: '21', metadata: { timestamp: '1', type: 'float' } } }], state: 'online' },
  });
  const modified = (object: JsonObject) => ({ type: 'MODIFIED' as const, object, resourceVersion: String(++rv) });

  function givenDevicesOnTwoEdges(): ClusterView {
    const view = givenTwoEdges();
    view.apply('devicemodel', listed([deviceModel('thermostat'), deviceModel('meter'), deviceModel('thermostat', 'lab')]));
    view.apply('device', listed([device('lobby', 'edge-a', 'thermostat'), device('hall', 'edge-b', 'meter'), device('spare', null, 'thermostat')]));
    return view;
  }

  it('holds a device bound to the node with the model it references (same namespace), and nothing unbound or of another node', () => {
    const view = givenDevicesOnTwoEdges();
    expect(keysOf(view, 'edge-a')).toEqual(['configmaps/default/shared', 'devicemodels/default/thermostat', 'devices/default/lobby', 'nodes//edge-a', 'pods/default/web-a', 'secrets/default/a-secret']);
    expect(keysOf(view, 'edge-b')).toEqual(['configmaps/default/only-b', 'devicemodels/default/meter', 'devices/default/hall', 'nodes//edge-b', 'pods/default/web-b']);
    expect(keysOf(view, 'edge-b')).not.toContain('devicemodels/lab/thermostat');
  });

  it('sends a device without its status and without a resourceVersion', () => {
    const view = givenDevicesOnTwoEdges();
    const lobby = view.desiredSet('edge-a').objects.get('uid-device-default-lobby')!;
    expect(lobby.content).not.toHaveProperty('status');
    expect((lobby.content as { metadata: object }).metadata).not.toHaveProperty('resourceVersion');
    expect((lobby.content as { spec: object }).spec).toEqual(expect.objectContaining({ nodeName: 'edge-a' }));
  });

  it('a device moving from one node to another touches both, and its model moves with it', () => {
    const view = givenDevicesOnTwoEdges();
    expect([...view.apply('device', modified(device('lobby', 'edge-b', 'thermostat')))].sort()).toEqual(['edge-a', 'edge-b']);
    expect(keysOf(view, 'edge-a')).not.toContain('devices/default/lobby');
    expect(keysOf(view, 'edge-a')).not.toContain('devicemodels/default/thermostat');
    expect(keysOf(view, 'edge-b')).toEqual(expect.arrayContaining(['devices/default/lobby', 'devicemodels/default/thermostat', 'devices/default/hall', 'devicemodels/default/meter']));
    expect(view.deviceNode('default', 'lobby')).toBe('edge-b');
  });

  it('a model change touches exactly the nodes of the devices referencing it; a model nobody uses touches none', () => {
    const view = givenDevicesOnTwoEdges();
    view.apply('device', added(device('porch', 'edge-b', 'thermostat')));
    const before = view.desiredSet('edge-a').objects.get('uid-model-default-thermostat')!;
    expect([...view.apply('devicemodel', modified(deviceModel('thermostat', 'default', { protocol: 'opcua' })))].sort()).toEqual(['edge-a', 'edge-b']);
    expect(view.desiredSet('edge-a').objects.get('uid-model-default-thermostat')!.contentHash).not.toBe(before.contentHash);
    expect([...view.apply('devicemodel', modified(deviceModel('thermostat', 'lab', { protocol: 'opcua' })))]).toEqual([]);
    expect([...view.apply('devicemodel', deleted(deviceModel('meter')))]).toEqual(['edge-b']);
    expect(keysOf(view, 'edge-b')).not.toContain('devicemodels/default/meter');
    expect(keysOf(view, 'edge-b')).toContain('devices/default/hall');
  });

  it('a model created after its device reaches the device’s node', () => {
    const view = givenDevicesOnTwoEdges();
    view.apply('device', added(device('gate', 'edge-a', 'camera')));
    expect(keysOf(view, 'edge-a')).not.toContain('devicemodels/default/camera');
    expect([...view.apply('devicemodel', added(deviceModel('camera')))]).toEqual(['edge-a']);
    expect(keysOf(view, 'edge-a')).toContain('devicemodels/default/camera');
  });

  it('a deleted device touches its node and leaves its set, and is no longer bound for authorization', () => {
    const view = givenDevicesOnTwoEdges();
    expect([...view.apply('device', deleted(device('lobby', 'edge-a', 'thermostat')))]).toEqual(['edge-a']);
    expect(keysOf(view, 'edge-a')).not.toContain('devices/default/lobby');
    expect(keysOf(view, 'edge-a')).not.toContain('devicemodels/default/thermostat');
    expect(view.deviceNode('default', 'lobby')).toBeUndefined();
    // The model index forgot it too: a later model change touches no node.
    expect([...view.apply('devicemodel', modified(deviceModel('thermostat')))]).toEqual([]);
  });

  it('answers which node a device is bound to, by namespace and name', () => {
    const view = givenDevicesOnTwoEdges();
    expect(view.deviceNode('default', 'lobby')).toBe('edge-a');
    expect(view.deviceNode('default', 'hall')).toBe('edge-b');
    expect(view.deviceNode('default', 'spare')).toBeUndefined();
    expect(view.deviceNode('lab', 'lobby')).toBeUndefined();
    expect(view.deviceNode('default', 'nope')).toBeUndefined();
    expect(view.nodeNames()).toEqual(new Set(['edge-a', 'edge-b']));
  });
});
