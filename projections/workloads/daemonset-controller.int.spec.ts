// The DaemonSet controller against the embedded API server, through client-node. Method: given
// nodes written through the API with a Ready condition, and the spec playing every edge (it marks
// bound pods Running and Ready, and confirms the deletion of pods being deleted, as an edge's
// agent reports them), when DaemonSets are created and changed, then daemon pods land one per
// selected node and a template change rolls one node at a time until the status says complete.
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1DaemonSet, type V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { Informers } from '../kube/informer.js';
import { DaemonSetController } from './daemonset-controller.js';
import { REVISION_HASH_LABEL } from './daemonset.plan.js';

const fixture = new ApiServerFixture();
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await fixture.teardown();
});

const NAMESPACE = 'default';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface World {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
}

async function world(): Promise<World> {
  const kc = kubeConfigOf(await fixture.start());
  const informers = new Informers(kc);
  const controller = new DaemonSetController({ kubeConfig: kc, informers, now: () => new Date(), monotonicMs: () => performance.now() });
  stops.push(async () => {
    await controller.stop();
    informers.stop();
  });
  controller.start();
  return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

async function readyNode(w: World, name: string, labels: Record<string, string> = {}): Promise<void> {
  await w.core.createNode({ body: { metadata: { name, labels: { 'node-role.kubernetes.io/edge': '', ...labels } } } });
  const at = new Date().toISOString();
  await w.core.patchNodeStatus({ name, body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', lastHeartbeatTime: at, lastTransitionTime: at }] } } }, mergePatch);
}

function daemonSet(name: string, image: string, nodeSelector?: Record<string, string>): V1DaemonSet {
  return {
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { ...(nodeSelector === undefined ? {} : { nodeSelector }), containers: [{ name: 'agent', image, command: ['sleep', '3600'] }] } },
    },
  };
}

/** What every edge's agent would report: pending bound pods Running and Ready, deletions confirmed. */
async function edgeStep(w: World): Promise<void> {
  const pods = await w.core.listNamespacedPod({ namespace: NAMESPACE });
  for (const pod of pods.items) {
    const name = pod.metadata?.name ?? '';
    if (pod.spec?.nodeName === undefined) continue;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      await w.core.deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 0 }).catch(() => undefined);
    } else if (pod.status?.phase === 'Pending') {
      const at = new Date().toISOString();
      await w.core.patchNamespacedPodStatus({ name, namespace: NAMESPACE, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }] } } }, mergePatch);
    }
  }
}

const podsOf = async (w: World, app: string): Promise<V1Pod[]> => (await w.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${app}` })).items;
const nodesOf = (pods: readonly V1Pod[]): string[] => pods.map((p) => p.spec?.nodeName ?? '').sort();

/** Plays the edges until the DaemonSet's status reports this many nodes all updated and available at its generation. */
async function rolledOut(w: World, name: string, nodes: number): Promise<V1DaemonSet> {
  return waitFor(`daemonset ${name} rolled out on ${nodes} nodes`, async () => {
    await edgeStep(w);
    const ds = await w.apps.readNamespacedDaemonSet({ name, namespace: NAMESPACE });
    const s = ds.status;
    const done = (s?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 1) && s?.desiredNumberScheduled === nodes && s.updatedNumberScheduled === nodes && s.numberAvailable === nodes && s.currentNumberScheduled === nodes;
    return done ? ds : undefined;
  });
}

describe('given Ready edge nodes', () => {
  it('runs one pod of a DaemonSet on each node, bound and owned, and one more on a node that joins', async () => {
    const w = await world();
    await readyNode(w, 'edge-1');
    await readyNode(w, 'edge-2');
    await w.apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet('agent', 'agent:1') });
    const ds = await rolledOut(w, 'agent', 2);
    const pods = await podsOf(w, 'agent');
    expect(nodesOf(pods)).toEqual(['edge-1', 'edge-2']);
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'DaemonSet', name: 'agent', uid: ds.metadata?.uid, controller: true })]);
      expect(pod.metadata?.labels?.[REVISION_HASH_LABEL]).toMatch(/^[a-z0-9]+$/);
    }
    expect(ds.status).toMatchObject({ numberReady: 2, numberMisscheduled: 0, numberUnavailable: 0 });

    await readyNode(w, 'edge-3');
    await rolledOut(w, 'agent', 3);
    const three = await podsOf(w, 'agent');
    expect(nodesOf(three)).toEqual(['edge-1', 'edge-2', 'edge-3']);
    const events = await w.core.listNamespacedEvent({ namespace: NAMESPACE });
    const created = events.items.filter((e) => e.involvedObject.kind === 'DaemonSet' && e.reason === 'SuccessfulCreate').map((e) => e.message);
    expect(created.sort()).toEqual(three.map((p) => `Created pod: ${p.metadata?.name}`).sort());
  });

  it('leaves out a node its nodeSelector does not match, until the node gets the label', async () => {
    const w = await world();
    await readyNode(w, 'edge-1', { site: 'a' });
    await readyNode(w, 'edge-2', { site: 'b' });
    await w.apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet('probe', 'probe:1', { site: 'a' }) });
    await rolledOut(w, 'probe', 1);
    expect(nodesOf(await podsOf(w, 'probe'))).toEqual(['edge-1']);

    await w.core.patchNode({ name: 'edge-2', body: { metadata: { labels: { site: 'a' } } } }, mergePatch);
    await rolledOut(w, 'probe', 2);
    expect(nodesOf(await podsOf(w, 'probe'))).toEqual(['edge-1', 'edge-2']);
  });

  it('rolls a template change one node at a time (never two nodes without a ready pod) until the status says complete', async () => {
    const w = await world();
    for (const name of ['edge-1', 'edge-2', 'edge-3']) await readyNode(w, name);
    await w.apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet('agent', 'agent:1') });
    await rolledOut(w, 'agent', 3);

    await w.apps.patchNamespacedDaemonSet({ name: 'agent', namespace: NAMESPACE, body: { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2', command: ['sleep', '3600'] }] } } } } }, mergePatch);
    let unavailableMax = 0;
    const done = await waitFor('the rollout to agent:2 to complete', async () => {
      await edgeStep(w);
      const pods = await podsOf(w, 'agent');
      const readyNodes = new Set(pods.filter((p) => p.metadata?.deletionTimestamp === undefined && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.spec?.nodeName));
      unavailableMax = Math.max(unavailableMax, 3 - readyNodes.size);
      const ds = await w.apps.readNamespacedDaemonSet({ name: 'agent', namespace: NAMESPACE });
      const s = ds.status;
      return s?.observedGeneration === 2 && s.updatedNumberScheduled === 3 && s.numberAvailable === 3 && s.desiredNumberScheduled === 3 ? pods : undefined;
    }, 20_000);
    // Each replacement leaves its node without a ready pod until the edge reports the new one: exactly one at a time.
    expect(unavailableMax).toBe(1);
    expect(done.map((p) => p.spec?.containers[0]?.image)).toEqual(['agent:2', 'agent:2', 'agent:2']);
    const revisions = await w.apps.listNamespacedControllerRevision({ namespace: NAMESPACE });
    expect(revisions.items.map((r) => r.revision).sort()).toEqual([1, 2]);
    const current = revisions.items.find((r) => r.revision === 2);
    expect(new Set(done.map((p) => p.metadata?.labels?.[REVISION_HASH_LABEL]))).toEqual(new Set([current?.metadata?.labels?.[REVISION_HASH_LABEL]]));
  });

  it('deletes a daemon pod that failed and replaces it on its node, with a FailedDaemonPod Event', async () => {
    const w = await world();
    await readyNode(w, 'edge-1');
    await w.apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet('agent', 'agent:1') });
    await rolledOut(w, 'agent', 1);
    const [first] = await podsOf(w, 'agent');
    const name = first?.metadata?.name ?? '';
    await w.core.patchNamespacedPodStatus({ name, namespace: NAMESPACE, body: { status: { phase: 'Failed', conditions: [{ type: 'Ready', status: 'False' }] } } }, mergePatch);
    const replaced = await waitFor('a new pod in place of the failed one', async () => {
      await edgeStep(w);
      const pods = await podsOf(w, 'agent');
      return pods.length === 1 && pods[0]?.metadata?.name !== name && pods[0]?.status?.phase === 'Running' ? pods[0] : undefined;
    });
    expect(replaced.spec?.nodeName).toBe('edge-1');
    const events = await w.core.listNamespacedEvent({ namespace: NAMESPACE });
    expect(events.items.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual(
      expect.arrayContaining([`Warning FailedDaemonPod Found failed daemon pod default/${name} on node edge-1, will try to kill it`, `Normal SuccessfulDelete Deleted pod: ${name}`]),
    );
  });
});
