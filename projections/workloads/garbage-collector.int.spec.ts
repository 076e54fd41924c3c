// The garbage collector against the embedded API server, through client-node. Method: given pods
// whose ownerReferences point at ReplicaSets that exist, never existed, or were re-created under the
// same name with a new uid, when the collector runs, then exactly the pods whose owners are all gone
// are deleted, and a pod with one live owner keeps only that owner's reference.
import { ApiException, AppsV1Api, CoreV1Api, type V1OwnerReference, type V1ReplicaSet } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { GarbageCollector } from './garbage-collector.js';

const fixture = new ApiServerFixture();
const collectors: GarbageCollector[] = [];
afterEach(async () => {
  for (const collector of collectors.splice(0)) await collector.stop();
  await fixture.teardown();
});

const namespace = 'default';
const replicaSet = (name: string): V1ReplicaSet => ({
  metadata: { name },
  spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'none', command: ['sleep', '1'] }] } } },
});
const ownedBy = (name: string, uid: string): V1OwnerReference => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid, controller: true, blockOwnerDeletion: true });

async function podOwnedBy(core: CoreV1Api, name: string, owners: V1OwnerReference[]): Promise<void> {
  await core.createNamespacedPod({ namespace, body: { metadata: { name, ownerReferences: owners }, spec: { containers: [{ name: 'app', image: 'none', command: ['sleep', '1'] }] } } });
}

async function podOrGone(core: CoreV1Api, name: string) {
  try {
    return await core.readNamespacedPod({ name, namespace });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return 'gone' as const;
    throw error;
  }
}

describe('given pods with live, dangling and replaced owners', () => {
  it('deletes the pods whose owners are all gone, keeps those with a live owner, and drops only the dangling reference of a pod with two owners', async () => {
    const kc = kubeConfigOf(await fixture.start());
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const live = await apps.createNamespacedReplicaSet({ namespace, body: replicaSet('live') });
    const liveRef = ownedBy('live', live.metadata?.uid ?? '');
    const old = await apps.createNamespacedReplicaSet({ namespace, body: replicaSet('reborn') });
    await apps.deleteNamespacedReplicaSet({ name: 'reborn', namespace });
    const reborn = await apps.createNamespacedReplicaSet({ namespace, body: replicaSet('reborn') });
    expect(reborn.metadata?.uid).not.toBe(old.metadata?.uid);

    await podOwnedBy(core, 'kept', [liveRef]);
    await podOwnedBy(core, 'dangling', [ownedBy('never', '00000000-0000-0000-0000-00000000dead')]);
    await podOwnedBy(core, 'stale-uid', [ownedBy('reborn', old.metadata?.uid ?? '')]);
    await podOwnedBy(core, 'two-owners', [liveRef, ownedBy('never', '00000000-0000-0000-0000-00000000beef')]);
    await podOwnedBy(core, 'unowned', []);

    const collector = new GarbageCollector({ kubeConfig: kc, resyncPeriodMs: 3_600_000 });
    collectors.push(collector);
    collector.start();

    await waitFor('the pod with a dangling owner deleted', async () => ((await podOrGone(core, 'dangling')) === 'gone' ? true : undefined));
    await waitFor('the pod whose owner was re-created under its name deleted', async () => ((await podOrGone(core, 'stale-uid')) === 'gone' ? true : undefined));
    const twoOwners = await waitFor('the dangling reference of the two-owner pod dropped', async () => {
      const pod = await podOrGone(core, 'two-owners');
      return pod !== 'gone' && pod.metadata?.ownerReferences?.length === 1 ? pod : undefined;
    });
    expect(twoOwners.metadata?.ownerReferences?.[0]).toMatchObject({ name: 'live', uid: liveRef.uid, controller: true, blockOwnerDeletion: true });
    await collector.collect();
    expect(await podOrGone(core, 'kept')).not.toBe('gone');
    expect(await podOrGone(core, 'unowned')).not.toBe('gone');
    expect((await apps.readNamespacedReplicaSet({ name: 'reborn', namespace })).metadata?.uid).toBe(reborn.metadata?.uid);
  });
});

/** The API server with a running collector, and clients of it. */
async function startCollector(): Promise<{ core: CoreV1Api; apps: AppsV1Api }> {
  const kc = kubeConfigOf(await fixture.start());
  const collector = new GarbageCollector({ kubeConfig: kc, resyncPeriodMs: 3_600_000 });
  collectors.push(collector);
  collector.start();
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

describe('given a running collector', () => {
  it('deletes a pod created after its owner was deleted, as a controller racing `kubectl delete` would create it', async () => {
    const { core, apps } = await startCollector();
    const owner = await apps.createNamespacedReplicaSet({ namespace, body: replicaSet('racing') });
    await podOwnedBy(core, 'before', [ownedBy('racing', owner.metadata?.uid ?? '')]);
    await apps.deleteNamespacedReplicaSet({ name: 'racing', namespace });
    await podOwnedBy(core, 'late', [ownedBy('racing', owner.metadata?.uid ?? '')]);
    await waitFor('the late pod deleted', async () => ((await podOrGone(core, 'late')) === 'gone' ? true : undefined));
    expect(await podOrGone(core, 'before')).toBe('gone');
  });
});

describe('given a Deployment owning a ReplicaSet owning a pod on a node and an unbound pod', () => {
  it('deletes in the foreground: the owners stay, being deleted, until the pod terminating on its node is gone, then go in turn', async () => {
    const { core, apps } = await startCollector();
    const template = replicaSet('web').spec?.template;
    const deployment = await apps.createNamespacedDeployment({ namespace, body: { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template ?? {} } } });
    const rs = await apps.createNamespacedReplicaSet({ namespace, body: { ...replicaSet('web-1'), metadata: { name: 'web-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: deployment.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }] } } });
    const rsRef = ownedBy('web-1', rs.metadata?.uid ?? '');
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'on-node', ownerReferences: [rsRef] }, spec: { nodeName: 'edge-1', containers: [{ name: 'app', image: 'none', command: ['sleep', '1'] }] } } });
    await podOwnedBy(core, 'unbound', [rsRef]);

    await apps.deleteNamespacedDeployment({ name: 'web', namespace, propagationPolicy: 'Foreground' });
    const marked = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(marked.metadata?.deletionTimestamp).toBeDefined();
    expect(marked.metadata?.finalizers).toEqual(['foregroundDeletion']);

    await waitFor('the unbound pod deleted', async () => ((await podOrGone(core, 'unbound')) === 'gone' ? true : undefined));
    const terminating = await waitFor('the pod on the node terminating', async () => {
      const pod = await podOrGone(core, 'on-node');
      return pod !== 'gone' && pod.metadata?.deletionTimestamp !== undefined ? pod : undefined;
    });
    expect(terminating.metadata?.ownerReferences?.[0]?.uid).toBe(rsRef.uid);
    const waitingRs = await apps.readNamespacedReplicaSet({ name: 'web-1', namespace });
    expect(waitingRs.metadata?.finalizers).toEqual(['foregroundDeletion']);
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace })).metadata?.finalizers).toEqual(['foregroundDeletion']);

    // The node has stopped the pod and confirms, as the edge does.
    await core.deleteNamespacedPod({ name: 'on-node', namespace, gracePeriodSeconds: 0 });
    await waitFor('the Deployment gone after its ReplicaSet', async () => {
      try {
        await apps.readNamespacedDeployment({ name: 'web', namespace });
        return undefined;
      } catch (error) {
        return error instanceof ApiException && error.code === 404 ? true : undefined;
      }
    });
    await expect(apps.readNamespacedReplicaSet({ name: 'web-1', namespace })).rejects.toMatchObject({ code: 404 });
  });
});
