// EdgeStatusWriter against the embedded API server started in-process, through client-node.
// Method: given a Pod (and a Node the writer registers), when up events are performed as the cloud
// hub hands them out (with their edge positions), then the API shows the latest status with the
// position it reflects, writes are coalesced while one is in flight (the writer talks through a TCP
// proxy the spec can hold, so "in flight" is a fact, not a timing), older or retired positions are
// skipped, and the Events derived from the statuses are visible through the API and in a real
// `kubectl describe`.
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf, openStream, waitFor } from '../../k8s/api/api-server.testing.js';
import { findKubectl, kubectlRunner } from '../../k8s/api/kubectl.testing.js';
import type { EmbeddedApiServer } from '../../k8s/index.js';
import type { JsonObject } from '../../kernel/index.js';
import type { UpEvent } from '../../transport/index.js';
import { NODE_STATUS_REPORTED, POD_STATUS_REPORTED } from '../reports/edge-reports.js';
import { EdgeStatusWriter } from './status-writer.js';
import { JOURNAL_LINEAGE_ANNOTATION, STATUS_POSITION_CONDITION } from './status-writer.position.js';

const fixture = new ApiServerFixture();
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await fixture.teardown();
});

const namespace = 'default';
const roomy = { perObject: { perSecond: 1000, burst: 1000 }, global: { perSecond: 1000, burst: 1000 }, objectsTrackedMax: 1000 };
const t = (s: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();

/** A TCP proxy in front of the API server whose client-to-server bytes the spec can hold back. */
class HoldingProxy {
  #held: { socket: Socket; chunk: Buffer }[] = [];
  #holding = false;
  readonly #sockets = new Set<Socket>();
  private constructor(readonly server: Server) {}

  static async start(targetPort: number): Promise<HoldingProxy> {
    let proxy: HoldingProxy | undefined;
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      proxy!.#sockets.add(client).add(upstream);
      client.on('data', (chunk) => (proxy!.#holding ? proxy!.#held.push({ socket: upstream, chunk }) : upstream.write(chunk)));
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    proxy = new HoldingProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }
  get heldChunks(): number {
    return this.#held.length;
  }
  hold(): void {
    this.#holding = true;
  }
  release(): void {
    this.#holding = false;
    for (const { socket, chunk } of this.#held.splice(0)) socket.write(chunk);
  }
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The server's kubeconfig with its cluster reached through `port` (same certificate: 127.0.0.1). */
function throughPort(kc: KubeConfig, port: number): KubeConfig {
  const proxied = new KubeConfig();
  proxied.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return proxied;
}

interface World {
  readonly server: EmbeddedApiServer;
  readonly core: CoreV1Api;
  readonly kc: KubeConfig;
  readonly warnings: string[];
  writer(kc?: KubeConfig): EdgeStatusWriter;
}

async function world(): Promise<World> {
  const server = await fixture.start();
  const kc = kubeConfigOf(server);
  const warnings: string[] = [];
  const log = { warn: (_fields: object, message: string) => void warnings.push(message) };
  return { server, kc, core: kc.makeApiClient(CoreV1Api), warnings, writer: (through = kc) => new EdgeStatusWriter(through, log, () => true, { limits: roomy }) };
}

const podBody = (name: string): V1Pod => ({ metadata: { name }, spec: { nodeName: 'edge-1', containers: [{ name: 'app', image: 'none', command: ['sleep', '1'] }] } });

const podStatus = (name: string, uid: string, status: JsonObject): UpEvent => ({ type: POD_STATUS_REPORTED, data: { resource: `${namespace}/podstatus/${name}`, UID: uid, Name: name, Status: status } });
const nodeReady = (ready: 'True' | 'False'): UpEvent => ({ type: NODE_STATUS_REPORTED, data: { Labels: {}, Status: { conditions: [{ type: 'Ready', status: ready, reason: 'EdgeReady', message: 'edge is posting ready status' }] } } });

const creating = { phase: 'Pending', containerStatuses: [{ name: 'app', state: { waiting: { reason: 'ContainerCreating' } }, lastState: {}, ready: false, restartCount: 0, image: 'none', imageID: '' }] };
const runningSince = (s: number, phase = 'Running') => ({ phase, containerStatuses: [{ name: 'app', state: { running: { startedAt: t(s) } }, lastState: {}, ready: true, restartCount: 0, image: 'none', imageID: '' }] });
const crashLooping = {
  phase: 'Running',
  containerStatuses: [
    { name: 'app', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=app' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: t(1), finishedAt: t(2) } }, ready: false, restartCount: 1, image: 'none', imageID: '' },
  ],
};

const positionOf = (pod: V1Pod): string | undefined => pod.status?.conditions?.find((c) => c.type === STATUS_POSITION_CONDITION)?.message;

async function createdPod(w: World, name: string): Promise<string> {
  return (await w.core.createNamespacedPod({ namespace, body: podBody(name) })).metadata!.uid!;
}

describe('coalescing', () => {
  it('writes a pod twice for nine quick reports (the first, then the latest that came during it) and resolves none before a write covering it landed', async () => {
    const w = await world();
    const proxy = await HoldingProxy.start(w.server.port);
    cleanups.push(() => proxy.close());
    const writer = w.writer(throughPort(w.kc, proxy.port));
    await writer.perform('edge-1', 'j', 1, nodeReady('True'));
    const uid = await createdPod(w, 'web');
    const watch = await openStream(w.server, `/api/v1/namespaces/${namespace}/pods?watch=true&fieldSelector=metadata.name%3Dweb&resourceVersion=${(await w.core.readNamespacedPod({ name: 'web', namespace })).metadata!.resourceVersion}`);
    cleanups.push(() => watch.close());

    proxy.hold();
    const resolved: number[] = [];
    const perform = (seq: number): Promise<void> =>
      writer.perform('edge-1', 'j', seq, podStatus('web', uid, seq < 10 ? { ...runningSince(seq), message: `report ${seq}` } : runningSince(10))).then(() => void resolved.push(seq));
    const first = perform(2);
    await waitFor('the first write’s request held at the proxy', () => (proxy.heldChunks > 0 ? true : undefined));
    const later = [3, 4, 5, 6, 7, 8, 9, 10].map(perform);
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toEqual([]);

    proxy.release();
    await first;
    // The first write landed; the rest wait for the second, which needs the network again.
    expect(resolved).toEqual([2]);
    await Promise.all(later);
    const web = await w.core.readNamespacedPod({ name: 'web', namespace });
    expect(positionOf(web)).toBe('j/10');
    expect(web.status?.containerStatuses?.[0]?.state?.running?.startedAt?.toISOString()).toBe(t(10));
    const modified = await waitFor('two pod writes seen by a watch', () => {
      const count = watch.text().split('\n').filter((line) => line.includes('"type":"MODIFIED"')).length;
      return count >= 2 ? count : undefined;
    });
    expect(modified).toBe(2);
    expect(writer.writeCounts).toEqual({ requested: 10, written: 3 });
  });
});

describe('position fencing', () => {
  it('skips a write whose position is at or below the stored one, from this writer or a paused old owner', async () => {
    const w = await world();
    const uid = await createdPod(w, 'web');
    const writer = w.writer();
    await writer.perform('edge-1', 'j', 5, podStatus('web', uid, runningSince(1)));
    await writer.perform('edge-1', 'j', 3, podStatus('web', uid, { phase: 'Failed' }));
    await w.writer().perform('edge-1', 'j', 4, podStatus('web', uid, { phase: 'Succeeded' }));
    await writer.perform('edge-1', 'j', 5, podStatus('web', uid, { phase: 'Unknown' }));

    const web = await w.core.readNamespacedPod({ name: 'web', namespace });
    expect(web.status?.phase).toBe('Running');
    expect(positionOf(web)).toBe('j/5');
    expect(w.warnings.filter((m) => m.includes('stored status is newer'))).toHaveLength(2);
  });

  it('lets a re-provisioned edge’s new journal write over the old one’s higher positions, and skips the retired journal everywhere, even on a pod it never wrote', async () => {
    const w = await world();
    const web = await createdPod(w, 'web');
    const old = w.writer();
    await old.perform('edge-1', 'old', 50, nodeReady('True'));
    await old.perform('edge-1', 'old', 51, podStatus('web', web, runningSince(1)));

    const fresh = w.writer();
    await fresh.perform('edge-1', 'new', 1, nodeReady('True'));
    await fresh.perform('edge-1', 'new', 2, podStatus('web', web, runningSince(7)));
    const other = await createdPod(w, 'other');
    await fresh.perform('edge-1', 'new', 3, podStatus('other', other, runningSince(8)));
    expect(positionOf(await w.core.readNamespacedPod({ name: 'web', namespace }))).toBe('new/2');
    expect((await w.core.readNode({ name: 'edge-1' })).metadata?.annotations?.[JOURNAL_LINEAGE_ANNOTATION]).toBe('["new","old"]');

    // The old owner wakes up with effects still in hand.
    await old.perform('edge-1', 'old', 52, podStatus('web', web, { phase: 'Failed' }));
    await old.perform('edge-1', 'old', 53, podStatus('other', other, { phase: 'Failed' }));
    await old.perform('edge-1', 'old', 54, nodeReady('False'));

    expect(positionOf(await w.core.readNamespacedPod({ name: 'web', namespace }))).toBe('new/2');
    expect(positionOf(await w.core.readNamespacedPod({ name: 'other', namespace }))).toBe('new/3');
    const node = await w.core.readNode({ name: 'edge-1' });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.conditions?.find((c) => c.type === STATUS_POSITION_CONDITION)?.message).toBe('new/1');
  });
});

describe('Events from what the edge reports', () => {
  it('records the kubelet’s Events on the pod (by uid) and the node, visible through the API and in kubectl describe', async () => {
    const w = await world();
    const uid = await createdPod(w, 'web');
    const writer = w.writer();
    await writer.perform('edge-1', 'j', 1, nodeReady('True'));
    await writer.perform('edge-1', 'j', 2, podStatus('web', uid, creating));
    await writer.perform('edge-1', 'j', 3, podStatus('web', uid, runningSince(1)));
    await writer.perform('edge-1', 'j', 4, podStatus('web', uid, crashLooping));
    await writer.perform('edge-1', 'j', 5, nodeReady('False'));
    await writer.eventsSettled();

    const podEvents = await w.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=web,involvedObject.namespace=${namespace},involvedObject.uid=${uid}` });
    // Listed by name, which generateName makes random: compared as a set.
    expect(podEvents.items.map((e) => [e.type, e.reason, e.message]).sort()).toEqual([
      ['Normal', 'Created', 'Created container: app'],
      ['Normal', 'Started', 'Started container app'],
      ['Warning', 'BackOff', `Back-off restarting failed container app in pod web_default(${uid})`],
    ]);
    expect(podEvents.items.find((e) => e.reason === 'Started')).toMatchObject({ source: { component: 'kubelet', host: 'edge-1' }, involvedObject: { kind: 'Pod', name: 'web', uid, fieldPath: 'spec.containers{app}' } });

    const nodeEvents = await w.core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.kind=Node,involvedObject.name=edge-1,involvedObject.uid=edge-1' });
    expect(nodeEvents.items.map((e) => e.reason).sort()).toEqual(['NodeNotReady', 'NodeReady', 'RegisteredNode', 'Starting']);
    expect(nodeEvents.items.find((e) => e.reason === 'RegisteredNode')?.source?.component).toBe('node-controller');

    const minor = ['1.33', '1.32', '1.31', '1.30'].find((m) => findKubectl(m) !== undefined);
    if (minor === undefined) throw new Error('no kubectl 1.30–1.33 beside kubectl on this machine');
    const home = mkdtempSync(join(tmpdir(), 'edgehive-status-writer-kubectl-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const kubectl = kubectlRunner(findKubectl(minor)!, w.server.kubeconfigPath, home, join(home, 'cache'));
    cleanups.push(() => kubectl.killAll());
    const described = await kubectl.run(['describe', 'pod', 'web']);
    expect(described.code, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/Normal\s+Started\s+.*kubelet\s+Started container app/);
    expect(described.stdout).toMatch(/Warning\s+BackOff\s+.*kubelet\s+Back-off restarting failed container app in pod web_default/);
    const node = await kubectl.run(['describe', 'node', 'edge-1']);
    expect(node.code, node.stderr).toBe(0);
    expect(node.stdout).toMatch(/NodeNotReady\s+.*Node edge-1 status is now: NodeNotReady/);
  });

  it('compares the first report after a cloud restart with the status in the API, so nothing is recorded twice', async () => {
    const w = await world();
    const uid = await createdPod(w, 'web');
    await w.writer().perform('edge-1', 'j', 1, podStatus('web', uid, runningSince(1)));
    const restarted = w.writer();
    await restarted.perform('edge-1', 'j', 2, podStatus('web', uid, { ...runningSince(1), message: 'same run' }));
    await restarted.perform('edge-1', 'j', 3, podStatus('web', uid, crashLooping));
    await restarted.eventsSettled();
    const events = await w.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` });
    expect(events.items.map((e) => [e.reason, e.count]).sort()).toEqual([
      ['BackOff', 1],
      ['Created', 1],
      ['Started', 1],
    ]);
  });
});
