// The node lifecycle controller against the embedded API server, through client-node. Method: given
// nodes, Leases and pods written through the API and a monotonic clock the spec moves, when the
// controller's monitor pass runs, then a silent node turns Unknown and tainted (its pods stay), a
// node heard again loses the taint, and pods of a node gone for the grace period are deleted.
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { STOPPED_POSTING, UNREACHABLE_TAINT, judgeNode } from './node-health.js';
import { NodeLifecycleController } from './node-lifecycle-controller.js';

const fixture = new ApiServerFixture();
const controllers: NodeLifecycleController[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) await controller.stop();
  await fixture.teardown();
});

const GRACE_MS = 40_000;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface World {
  readonly core: CoreV1Api;
  readonly leases: CoordinationV1Api;
  readonly controller: NodeLifecycleController;
  /** Moves the controller's monotonic clock. */
  advance(ms: number): void;
}

async function world(): Promise<World> {
  const kc: KubeConfig = kubeConfigOf(await fixture.start());
  let nowMs = 1_000_000;
  const controller = new NodeLifecycleController({ kubeConfig: kc, monotonicMs: () => nowMs, now: () => new Date(), graceMs: GRACE_MS, orphanGraceMs: GRACE_MS, monitorPeriodMs: 3_600_000 });
  controllers.push(controller);
  controller.start();
  return { core: kc.makeApiClient(CoreV1Api), leases: kc.makeApiClient(CoordinationV1Api), controller, advance: (ms) => void (nowMs += ms) };
}

async function readyNode(w: World, name: string): Promise<void> {
  await w.core.createNode({ body: { metadata: { name, labels: { 'node-role.kubernetes.io/edge': '' } } } });
  await heartbeat(w, name);
}

async function heartbeat(w: World, name: string): Promise<void> {
  const at = new Date().toISOString();
  await w.core.patchNodeStatus({ name, body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status', lastHeartbeatTime: at, lastTransitionTime: at }] } } }, mergePatch);
}

const readyOf = (node: V1Node) => node.status?.conditions?.find((c) => c.type === 'Ready');
const unreachable = (node: V1Node): boolean => (node.spec?.taints ?? []).some((t) => t.key === UNREACHABLE_TAINT.key && t.effect === 'NoSchedule');

/** Runs monitor passes, moving the clock by `stepMs` before each, until `probe` holds. */
async function passesUntil<T>(w: World, what: string, stepMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  return waitFor(what, async () => {
    w.advance(stepMs);
    await w.controller.tick();
    return probe();
  });
}

describe('given a Ready edge node', () => {
  it('turns it Unknown and tainted unreachable:NoSchedule once silent past the grace period, keeps its pods, and untaints it when it is heard again', async () => {
    const w = await world();
    await readyNode(w, 'edge-1');
    await w.core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'kept' }, spec: { nodeName: 'edge-1', containers: [{ name: 'app', image: 'none' }] } } });
    await w.controller.tick();
    expect(readyOf(await w.core.readNode({ name: 'edge-1' }))?.status).toBe('True');

    const silent = await passesUntil(w, 'edge-1 Unknown', GRACE_MS / 2, async () => {
      const node = await w.core.readNode({ name: 'edge-1' });
      return readyOf(node)?.status === 'Unknown' && unreachable(node) ? node : undefined;
    });
    expect(readyOf(silent)).toMatchObject({ reason: 'NodeStatusUnknown', message: STOPPED_POSTING });
    expect((await w.core.readNamespacedPod({ name: 'kept', namespace: 'default' })).spec?.nodeName).toBe('edge-1');

    // The edge comes back: its Lease is renewed and it reports Ready.
    await w.leases.createNamespacedLease({ namespace: 'kube-node-lease', body: { metadata: { name: 'edge-1' }, spec: { holderIdentity: 'edge-1', leaseDurationSeconds: 40, renewTime: new Date() } } });
    await heartbeat(w, 'edge-1');
    const back = await passesUntil(w, 'edge-1 untainted', 0, async () => {
      const node = await w.core.readNode({ name: 'edge-1' });
      return readyOf(node)?.status === 'True' && !unreachable(node) ? node : undefined;
    });
    expect(back.spec?.taints ?? []).toEqual([]);
  });
});

describe('given a pod bound to a node that does not exist', () => {
  it('deletes it once the node has been missing for the grace period, and not before', async () => {
    const w = await world();
    await w.core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'orphan' }, spec: { nodeName: 'gone', containers: [{ name: 'app', image: 'none' }] } } });
    await readyNode(w, 'edge-1');
    await w.core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'housed' }, spec: { nodeName: 'edge-1', containers: [{ name: 'app', image: 'none' }] } } });
    await w.controller.tick();
    expect((await w.core.readNamespacedPod({ name: 'orphan', namespace: 'default' })).metadata?.name).toBe('orphan');
    await passesUntil(w, 'the orphan deleted', GRACE_MS / 4, async () => {
      const pods = await w.core.listNamespacedPod({ namespace: 'default' });
      return pods.items.some((p) => p.metadata?.name === 'orphan') ? undefined : pods.items.map((p) => p.metadata?.name);
    });
    expect((await w.core.readNamespacedPod({ name: 'housed', namespace: 'default' })).metadata?.name).toBe('housed');
  });
});

describe('judgeNode', () => {
  const node = (ready: string, taints: object[] = []) => ({ metadata: { name: 'n' }, spec: { taints }, status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: 'T0' }, { type: 'MemoryPressure', status: 'Unknown', lastTransitionTime: 'T0' }] } });

  it('moves lastTransitionTime only for conditions whose status changes, and decides nothing twice', () => {
    const verdict = judgeNode(node('True'), 0, GRACE_MS + 1, GRACE_MS, 'T1');
    expect(verdict).toMatchObject({ kind: 'markUnknown', conditions: [{ type: 'Ready', status: 'Unknown', lastTransitionTime: 'T1' }, { type: 'MemoryPressure', lastTransitionTime: 'T0' }] });
    expect(judgeNode(node('Unknown', [{ key: UNREACHABLE_TAINT.key, effect: 'NoSchedule' }]), 0, GRACE_MS + 1, GRACE_MS, 'T2')).toEqual({ kind: 'none' });
    expect(judgeNode(node('True'), 0, GRACE_MS, GRACE_MS, 'T1')).toEqual({ kind: 'none' });
  });
});
