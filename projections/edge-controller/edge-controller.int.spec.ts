// The EdgeController and EdgeStatusWriter between the embedded API server and a real stream.
// Method: given an embedded API server, a CloudHub whose desired sets, authorization and up
// effects come from the controller, and an EdgeHub (in-memory journal) joined over mTLS, when
// objects are created, changed and deleted with client-node and the edge reports status, then
// the edge holds exactly its desired set and the API shows what the edge reported.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf } from '../../k8s/api/api-server.testing.js';
import type { EdgeHub } from '../../transport/index.js';
import { MemoryEdgeJournal, openTestEdge, startStreamCloud, until, type StreamCloud } from '../../transport/stream/stream.testing.js';
import { EdgeController } from './edge-controller.js';
import { NODE_STATUS_REPORTED, POD_STATUS_REPORTED, POD_TERMINATION_COMPLETED } from '../reports/edge-reports.js';
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
  cloud = await startStreamCloud({ desired: controller, authorization: controller.view, effects: new EdgeStatusWriter(kc) });
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
