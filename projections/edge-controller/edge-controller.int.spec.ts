// The EdgeController and EdgeStatusWriter between the embedded API server and a real stream.
// Method: given an embedded API server, a CloudHub whose desired sets, authorization and up
// effects come from the controller, and an EdgeHub (in-memory journal) joined over mTLS, when
// objects are created, changed and deleted with client-node and the edge reports status, then
// the edge holds exactly its desired set and the API shows what the edge reported.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import type { EdgeHub } from '../../transport/index.js';
import { MemoryEdgeJournal, openTestEdge, startStreamCloud, until, type StreamCloud } from '../../transport/stream/stream.testing.js';
import { EdgeController } from './edge-controller.js';
import { NODE_STATUS_REPORTED, POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED, TWIN_REPORTED } from '../reports/edge-reports.js';
import { DeviceStatusWriter } from '../device-controller/device-status-writer.js';
import { EDGE_ROLE_LABEL, EdgeStatusWriter } from './status-writer.js';

const fixture = new ApiServerFixture();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await fixture.teardown();
});

const namespace = 'default';
const pod = (name: string, nodeName: string, refs: { cm?: string; secret?: string } = {}): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: {
    nodeName,
    containers: [{ name: 'app', image: 'none', command: ['node', '-e', 'setInterval(() => {}, 1000)'], ...(refs.cm === undefined ? {} : { envFrom: [{ configMapRef: { name: refs.cm } }] }) }],
    ...(refs.secret === undefined ? {} : { volumes: [{ name: 's', secret: { secretName: refs.secret } }] }),
  },
});

interface Linked {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly cloud: StreamCloud;
  readonly controller: EdgeController;
}

async function givenACloudOnTheApi(): Promise<Linked> {
  const server = await fixture.start();
  const kc = kubeConfigOf(server);
  let cloud: StreamCloud | undefined;
  const controller = new EdgeController(kc, { desiredChanged: (node) => cloud?.hub.desiredChanged(node) });
  cleanups.push(() => controller.stop());
  await controller.synced();
  const statuses = new EdgeStatusWriter(kc);
  const devices = new DeviceStatusWriter(kc, { warn: () => undefined });
  const effects = { perform: (...args: Parameters<EdgeStatusWriter['perform']>) => (devices.handles(args[3].type) ? devices : statuses).perform(...args) };
  cloud = await startStreamCloud({ desired: controller, authorization: controller.view, effects });
  cleanups.push(() => cloud!.close());
  return { kc, core: kc.makeApiClient(CoreV1Api), cloud, controller };
}

async function anEdge(cloud: StreamCloud, nodeName: string): Promise<{ edge: EdgeHub; journal: MemoryEdgeJournal }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-edge-controller-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const journal = new MemoryEdgeJournal(`journal-${nodeName}`);
  const edge = await openTestEdge(cloud.server.url, await cloud.join(nodeName, dir), journal);
  cleanups.push(() => edge.stop());
  edge.start();
  return { edge, journal };
}

const heldKeys = (journal: MemoryEdgeJournal): string[] => [...journal.objects.keys()].sort();

describe('EdgeController: each edge holds exactly its desired set', () => {
  it('sends a node its pods and what they reference, follows changes and deletions, and never sends another node’s Secret', async () => {
    const { core, cloud } = await givenACloudOnTheApi();
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'shared' }, data: { mode: 'eco' } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'edge-1-secret' }, stringData: { token: 'one' } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'edge-2-secret' }, stringData: { token: 'two' } } });
    await core.createNamespacedPod({ namespace, body: pod('web-1', 'edge-1', { cm: 'shared', secret: 'edge-1-secret' }) });
    await core.createNamespacedPod({ namespace, body: pod('web-2', 'edge-2', { secret: 'edge-2-secret' }) });
    const one = await anEdge(cloud, 'edge-1');
    const two = await anEdge(cloud, 'edge-2');

    await until(() => heldKeys(one.journal).length === 3, 'edge-1 holds its pod, ConfigMap and Secret');
    expect(heldKeys(one.journal)).toEqual(['configmaps/default/shared', 'pods/default/web-1', 'secrets/default/edge-1-secret']);
    await until(() => heldKeys(two.journal).length === 2, 'edge-2 holds its pod and Secret');
    expect(heldKeys(two.journal)).toEqual(['pods/default/web-2', 'secrets/default/edge-2-secret']);

    await core.replaceNamespacedConfigMap({ name: 'shared', namespace, body: { metadata: { name: 'shared' }, data: { mode: 'turbo' } } });
    await until(() => (one.journal.objects.get('configmaps/default/shared')?.content as { data?: { mode?: string } }).data?.mode === 'turbo', 'the ConfigMap change reached edge-1');

    await core.deleteNamespacedPod({ name: 'web-1', namespace, gracePeriodSeconds: 0 });
    await until(() => heldKeys(one.journal).length === 0, 'edge-1 let go of the pod and of what only it referenced');
    expect(heldKeys(two.journal)).toEqual(['pods/default/web-2', 'secrets/default/edge-2-secret']);
  });
});

describe('EdgeStatusWriter: what an edge reports reaches the API', () => {
  it('writes a bound pod’s status, registers the node with the edge role and writes its status', async () => {
    const { core, cloud } = await givenACloudOnTheApi();
    const created = await core.createNamespacedPod({ namespace, body: pod('web', 'edge-1') });
    const { edge } = await anEdge(cloud, 'edge-1');
    await until(() => edge.status().phase === 'linked', 'edge-1 linked');

    const reported = await edge.report([
      { type: POD_STATUS_REPORTED, data: { resource: 'default/podstatus/web', UID: created.metadata!.uid!, Name: 'web', Status: { phase: 'Running', hostIP: '127.0.0.1', podIP: '127.0.0.1' } } },
      { type: NODE_STATUS_REPORTED, data: { Labels: { site: 'factory-7' }, Status: { conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge agent is running' }] } } },
    ]);
    expect(reported.ok).toBe(true);

    await until(() => edge.status().upAcked === 2, 'both reports applied and acked');
    const web = await core.readNamespacedPod({ name: 'web', namespace });
    expect(web.status?.phase).toBe('Running');
    expect(web.status?.podIP).toBe('127.0.0.1');
    const node = await core.readNode({ name: 'edge-1' });
    expect(node.metadata?.labels).toMatchObject({ [EDGE_ROLE_LABEL]: '', site: 'factory-7' });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('removes a deleted pod once the edge reports its containers stopped, and only the pod with that uid', async () => {
    const { core, cloud } = await givenACloudOnTheApi();
    const created = await core.createNamespacedPod({ namespace, body: pod('web', 'edge-1') });
    const { edge, journal } = await anEdge(cloud, 'edge-1');
    await until(() => journal.objects.has('pods/default/web'), 'edge-1 holds the pod');
    // A bound pod is deleted gracefully: it stays, marked, until its node says its containers stopped.
    await core.deleteNamespacedPod({ name: 'web', namespace });
    await until(() => typeof (journal.objects.get('pods/default/web')?.content as { metadata?: { deletionTimestamp?: string } }).metadata?.deletionTimestamp === 'string', 'the edge sees the deletion');
    expect((await core.readNamespacedPod({ name: 'web', namespace })).metadata?.deletionTimestamp).toBeDefined();

    await edge.report([{ type: POD_TERMINATION_COMPLETED, data: { resource: 'default/pod/web', UID: 'not-this-pod' } }]);
    await until(() => edge.status().upAcked === 1, 'a report for another uid applied as nothing');
    expect((await core.readNamespacedPod({ name: 'web', namespace })).metadata?.uid).toBe(created.metadata!.uid);

    await edge.report([{ type: POD_TERMINATION_COMPLETED, data: { resource: 'default/pod/web', UID: created.metadata!.uid! } }]);
    await until(() => !journal.objects.has('pods/default/web'), 'the pod is gone from the API and so from the edge');
    const left = await core.listNamespacedPod({ namespace });
    expect(left.items.map((p) => p.metadata?.name)).toEqual([]);
  });

  it('takes many late reports about a pod already deleted as stale, never as violations that close the stream', async () => {
    const { cloud } = await givenACloudOnTheApi();
    const { edge } = await anEdge(cloud, 'edge-1');
    await until(() => edge.status().phase === 'linked', 'edge-1 linked');
    const late = Array.from({ length: 15 }, () => ({ type: POD_STATUS_REPORTED, data: { resource: 'default/podstatus/gone', UID: 'u-gone', Name: 'gone', Status: { phase: 'Succeeded' } } }));
    expect((await edge.report(late)).ok).toBe(true);
    await until(() => edge.status().upAcked === 15, 'all 15 applied as nothing and acked');
    expect(edge.status()).toMatchObject({ phase: 'linked', reconnects: 0 });
  });

  it('drops a status for a pod that was re-created under the same name (another uid), and a status for a pod gone', async () => {
    const { core, cloud } = await givenACloudOnTheApi();
    const first = await core.createNamespacedPod({ namespace, body: pod('web', 'edge-1') });
    await core.deleteNamespacedPod({ name: 'web', namespace, gracePeriodSeconds: 0 });
    await core.createNamespacedPod({ namespace, body: pod('web', 'edge-1') });
    const { edge } = await anEdge(cloud, 'edge-1');
    await until(() => edge.status().phase === 'linked', 'edge-1 linked');

    await edge.report([
      { type: POD_STATUS_REPORTED, data: { resource: 'default/podstatus/web', UID: first.metadata!.uid!, Name: 'web', Status: { phase: 'Failed' } } },
      { type: 'SomethingNewer.v9', data: { resource: 'default/podstatus/web' } },
    ]);
    await until(() => edge.status().upAcked === 2, 'both events applied (as nothing) and acked');
    expect((await core.readNamespacedPod({ name: 'web', namespace })).status?.phase).not.toBe('Failed');
  });
});

describe('EdgeController: devices', () => {
  const group = 'devices.kubeedge.io';
  const version = 'v1beta1';
  const model = { apiVersion: `${group}/${version}`, kind: 'DeviceModel', metadata: { name: 'thermostat-model' }, spec: { protocol: 'modbus', properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' }] } };
  const device = { apiVersion: `${group}/${version}`, kind: 'Device', metadata: { name: 'lobby' }, spec: { deviceModelRef: { name: 'thermostat-model' }, nodeName: 'edge-1', protocol: { protocolName: 'modbus' }, properties: [{ name: 'temperature' }] } };

  it('sends a Device and its DeviceModel to the node it is bound to, moves them with spec.nodeName, and writes that node’s twin reports into the Device’s status', async () => {
    const { kc, cloud } = await givenACloudOnTheApi();
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({ group, version, namespace, plural: 'devicemodels', body: model });
    const created = (await custom.createNamespacedCustomObject({ group, version, namespace, plural: 'devices', body: device })) as { metadata: { uid: string } };
    const one = await anEdge(cloud, 'edge-1');
    const two = await anEdge(cloud, 'edge-2');
    await until(() => heldKeys(one.journal).length === 2, 'edge-1 holds its device and model');
    expect(heldKeys(one.journal)).toEqual(['devicemodels/default/thermostat-model', 'devices/default/lobby']);
    expect(one.journal.objects.get('devices/default/lobby')?.content).not.toHaveProperty('status');

    const reported = await one.edge.report([
      { type: TWIN_REPORTED, data: { resource: 'device/default/lobby/twin/edge_updated', UID: created.metadata.uid, event_id: 'e1', timestamp: 1, twin: { temperature: { actual: { value: '21.5', metadata: { timestamp: 2 } }, metadata: { type: 'float' } } } } },
    ]);
    expect(reported.ok).toBe(true);
    await until(() => one.edge.status().upAcked === 1, 'the twin report applied and acked');
    const withStatus = (await custom.getNamespacedCustomObject({ group, version, namespace, plural: 'devices', name: 'lobby' })) as { status?: { twins?: Array<{ reported?: { value?: string } }> } };
    expect(withStatus.status?.twins?.[0]?.reported?.value).toBe('21.5');

    await custom.patchNamespacedCustomObject({ group, version, namespace, plural: 'devices', name: 'lobby', body: { spec: { nodeName: 'edge-2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await until(() => heldKeys(two.journal).length === 2 && heldKeys(one.journal).length === 0, 'the device and its model moved to edge-2');
    expect(heldKeys(two.journal)).toEqual(['devicemodels/default/thermostat-model', 'devices/default/lobby']);
  });

  it('is synced while the device CRDs are not served (a cluster without them), and follows Devices once they are', async () => {
    const server = await fixture.start();
    const kc = kubeConfigOf(server);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
    const removed = await Promise.all(
      ['devices.devices.kubeedge.io', 'devicemodels.devices.kubeedge.io'].map(async (name) => {
        const crd = (await custom.getClusterCustomObject({ ...crds, name })) as { metadata: Record<string, unknown> };
        await custom.deleteClusterCustomObject({ ...crds, name });
        return { ...crd, metadata: { name: crd.metadata['name'] } };
      }),
    );
    const errors: string[] = [];
    const controller = new EdgeController(kc, { desiredChanged: () => undefined, reflector: { retryDelayMsMin: 20, onError: (error) => errors.push(error) } });
    cleanups.push(() => controller.stop());
    await controller.synced();
    expect(errors.filter((e) => e.includes('not served')).sort()).toEqual([
      expect.stringContaining('/apis/devices.kubeedge.io/v1beta1/devicemodels: not served (404'),
      expect.stringContaining('/apis/devices.kubeedge.io/v1beta1/devices: not served (404'),
    ]);

    for (const crd of removed) await custom.createClusterCustomObject({ ...crds, body: crd });
    await waitFor('the Device CRD to be served again', () =>
      custom.createNamespacedCustomObject({ group, version, namespace, plural: 'devices', body: device }).then(
        () => true,
        () => undefined,
      ),
    );
    await until(() => [...controller.desiredSet('edge-1').objects.values()].some((o) => o.key === 'devices/default/lobby'), 'the device joins edge-1’s desired set');
    // Logged once per path however often it was probed.
    expect(errors.filter((e) => e.includes('not served'))).toHaveLength(2);
  });
});
