// @kubernetes/client-node 1.4 against the embedded API server. Method: given a server on a temp data
// dir and a loopback HTTPS port, and a KubeConfig loaded from the kubeconfig file it wrote, when the
// typed APIs, Watch and an informer are used as an operator would, then they behave as against a
// real kube-apiserver: CRUD, selectors, 409 on stale writes, patches, watch order, an informer that
// outlives a server restart, and a relist after 410 Expired.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1ConfigMap,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedApiServer } from '../embedded-api-server.js';
import { ApiServerFixture, kubeConfigOf, waitFor } from './api-server.testing.js';

const fixture = new ApiServerFixture();
const informers: RestartingInformer<KubernetesObject>[] = [];
afterEach(async () => {
  for (const informer of informers.splice(0)) await informer.stop();
  await fixture.teardown();
});

const namespace = 'default';
const configMapsPath = '/api/v1/namespaces/default/configmaps';

const pod = (name: string, options: { labels?: Record<string, string>; nodeName?: string } = {}): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(options.labels === undefined ? {} : { labels: options.labels }) },
  spec: { ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }), containers: [{ name: 'app', image: 'nginx:1.27' }] },
});

const configMap = (name: string, data: Record<string, string> = {}): V1ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

const namesOf = (items: readonly KubernetesObject[]): string[] => items.map((i) => i.metadata?.name ?? '').sort();

/** The ApiException a call rejects with: its code and the Status body. */
async function apiErrorOf(call: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const raw: unknown = error.body;
    return { code: error.code, body: (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown> };
  }
  throw new Error('expected an ApiException, but the call succeeded');
}

/** Back-off before an informer that reported an error is started again. */
const restartBackoffMs = 50;

interface RestartingInformer<T extends KubernetesObject> {
  readonly informer: Informer<T> & ObjectCache<T>;
  /** `add a`, `update a`, `delete a`, in the order the informer reported them. */
  readonly events: string[];
  /** How often the informer called its list function (1 at start; more means it relisted). */
  lists(): number;
  stop(): Promise<void>;
}

/** An informer on default's ConfigMaps, restarted after each error: client-node's documented pattern. */
function restartingConfigMapInformer(kc: KubeConfig): RestartingInformer<V1ConfigMap> {
  const core = kc.makeApiClient(CoreV1Api);
  let listCalls = 0;
  const informer = makeInformer<V1ConfigMap>(kc, configMapsPath, () => {
    listCalls += 1;
    return core.listNamespacedConfigMap({ namespace });
  });
  const events: string[] = [];
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => events.push(`update ${o.metadata?.name}`));
  informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  informer.on('error', () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!stopped) void informer.start();
    }, restartBackoffMs);
  });
  const handle: RestartingInformer<V1ConfigMap> = {
    informer,
    events,
    lists: () => listCalls,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
  };
  informers.push(handle as unknown as RestartingInformer<KubernetesObject>);
  return handle;
}

describe('given a server and a CoreV1Api from its kubeconfig', () => {
  let server: EmbeddedApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  beforeEach(async () => {
    server = await fixture.start();
    kc = kubeConfigOf(server);
    core = kc.makeApiClient(CoreV1Api);
  });

  it('creates, reads, lists, replaces and deletes a Pod', async () => {
    const created = await core.createNamespacedPod({ namespace, body: pod('web', { labels: { app: 'web' } }) });
    expect(created.metadata).toMatchObject({ name: 'web', namespace, labels: { app: 'web' } });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);

    const read = await core.readNamespacedPod({ name: 'web', namespace });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(namesOf((await core.listNamespacedPod({ namespace })).items)).toEqual(['web']);

    const replaced = await core.replaceNamespacedPod({ name: 'web', namespace, body: { ...read, metadata: { ...read.metadata, labels: { app: 'web', tier: 'edge' } } } });
    expect(replaced.metadata?.labels).toEqual({ app: 'web', tier: 'edge' });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));

    await core.deleteNamespacedPod({ name: 'web', namespace });
    expect(await apiErrorOf(core.readNamespacedPod({ name: 'web', namespace }))).toMatchObject({ code: 404, body: { kind: 'Status', reason: 'NotFound', message: 'pods "web" not found' } });
    expect((await core.listNamespacedPod({ namespace })).items).toEqual([]);
  });

  it('binds an unbound Pod once through pods/binding (a scheduler\'s write), while a Pod update still may not set spec.nodeName', async () => {
    const created = await core.createNamespacedPod({ namespace, body: pod('unbound') });
    const moved = { ...created, spec: { ...created.spec!, nodeName: 'edge-1' } };
    expect(await apiErrorOf(core.replaceNamespacedPod({ name: 'unbound', namespace, body: moved }))).toMatchObject({ code: 422, body: { reason: 'Invalid' } });
    const binding = (node: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'unbound', namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } });
    await core.createNamespacedPodBinding({ name: 'unbound', namespace, body: binding('edge-1') });
    expect((await core.readNamespacedPod({ name: 'unbound', namespace })).spec?.nodeName).toBe('edge-1');
    expect(await apiErrorOf(core.createNamespacedPodBinding({ name: 'unbound', namespace, body: binding('edge-2') }))).toMatchObject({
      code: 409,
      body: { reason: 'Conflict', message: expect.stringContaining('pod unbound is already assigned to node "edge-1"') },
    });
  });

  it('creates, reads, lists, replaces and deletes a ConfigMap', async () => {
    const created = await core.createNamespacedConfigMap({ namespace, body: configMap('settings', { mode: 'eco' }) });
    expect(created).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'settings', namespace }, data: { mode: 'eco' } });

    const read = await core.readNamespacedConfigMap({ name: 'settings', namespace });
    expect(read.data).toEqual({ mode: 'eco' });
    expect(namesOf((await core.listNamespacedConfigMap({ namespace })).items)).toEqual(['settings']);

    const replaced = await core.replaceNamespacedConfigMap({ name: 'settings', namespace, body: { ...read, data: { mode: 'turbo' } } });
    expect(replaced.data).toEqual({ mode: 'turbo' });
    expect((await core.readNamespacedConfigMap({ name: 'settings', namespace })).data).toEqual({ mode: 'turbo' });

    await core.deleteNamespacedConfigMap({ name: 'settings', namespace });
    expect(await apiErrorOf(core.readNamespacedConfigMap({ name: 'settings', namespace }))).toMatchObject({ code: 404, body: { reason: 'NotFound' } });
  });

  it('lists Pods by label selector and by field selector spec.nodeName=edge-1', async () => {
    await core.createNamespacedPod({ namespace, body: pod('sensor-a', { labels: { tier: 'edge' }, nodeName: 'edge-1' }) });
    await core.createNamespacedPod({ namespace, body: pod('sensor-b', { labels: { tier: 'edge' }, nodeName: 'edge-2' }) });
    await core.createNamespacedPod({ namespace, body: pod('api', { labels: { tier: 'cloud' }, nodeName: 'edge-1' }) });

    expect(namesOf((await core.listNamespacedPod({ namespace, labelSelector: 'tier=edge' })).items)).toEqual(['sensor-a', 'sensor-b']);
    expect(namesOf((await core.listNamespacedPod({ namespace, labelSelector: 'tier!=edge' })).items)).toEqual(['api']);
    expect(namesOf((await core.listNamespacedPod({ namespace, fieldSelector: 'spec.nodeName=edge-1' })).items)).toEqual(['api', 'sensor-a']);
    expect(namesOf((await core.listNamespacedPod({ namespace, labelSelector: 'tier=edge', fieldSelector: 'spec.nodeName=edge-1' })).items)).toEqual(['sensor-a']);
  });

  it('replacing with a stale resourceVersion rejects with ApiException 409 Conflict', async () => {
    const first = await core.createNamespacedConfigMap({ namespace, body: configMap('settings', { mode: 'eco' }) });
    await core.replaceNamespacedConfigMap({ name: 'settings', namespace, body: { ...first, data: { mode: 'turbo' } } });
    const stale = await apiErrorOf(core.replaceNamespacedConfigMap({ name: 'settings', namespace, body: { ...first, data: { mode: 'off' } } }));
    expect(stale).toMatchObject({
      code: 409,
      body: { kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409, message: 'Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again' },
    });
    expect((await core.readNamespacedConfigMap({ name: 'settings', namespace })).data).toEqual({ mode: 'turbo' });
  });

  it('a JSON merge patch (PatchStrategy.MergePatch) adds, changes and removes keys', async () => {
    await core.createNamespacedConfigMap({ namespace, body: configMap('settings', { mode: 'eco', level: '1' }) });
    const patched = await core.patchNamespacedConfigMap(
      { name: 'settings', namespace, body: { metadata: { labels: { owner: 'ops' } }, data: { level: null, mode: 'turbo', extra: 'yes' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ mode: 'turbo', extra: 'yes' });
    expect(patched.metadata?.labels).toEqual({ owner: 'ops' });
  });

  it('a JSON patch (PatchStrategy.JsonPatch) replaces, adds and removes by path', async () => {
    await core.createNamespacedConfigMap({ namespace, body: configMap('settings', { mode: 'eco', level: '1' }) });
    const patched = await core.patchNamespacedConfigMap(
      {
        name: 'settings',
        namespace,
        body: [
          { op: 'replace', path: '/data/mode', value: 'turbo' },
          { op: 'remove', path: '/data/level' },
          { op: 'add', path: '/metadata/labels', value: { owner: 'ops' } },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(patched.data).toEqual({ mode: 'turbo' });
    expect(patched.metadata?.labels).toEqual({ owner: 'ops' });
  });

  it('CustomObjectsApi lists Devices, served by the Device CRD installed at start', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const list = (await custom.listNamespacedCustomObject({ group: 'devices.kubeedge.io', version: 'v1beta1', namespace, plural: 'devices' })) as Record<string, unknown>;
    expect(list).toMatchObject({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceList', items: [] });
  });

  it('a Watch from the list resourceVersion sees ADDED, MODIFIED and DELETED in order', async () => {
    const listed = await core.listNamespacedConfigMap({ namespace });
    const seen: string[] = [];
    let done: { error: unknown } | undefined;
    const controller = await new Watch(kc).watch(
      configMapsPath,
      { resourceVersion: listed.metadata?.resourceVersion },
      (type: string, object: V1ConfigMap) => seen.push(`${type} ${object.metadata?.name} ${object.data?.['mode'] ?? '-'}`),
      (error: unknown) => {
        done = { error };
      },
    );
    try {
      const created = await core.createNamespacedConfigMap({ namespace, body: configMap('settings', { mode: 'eco' }) });
      await core.replaceNamespacedConfigMap({ name: 'settings', namespace, body: { ...created, data: { mode: 'turbo' } } });
      await core.deleteNamespacedConfigMap({ name: 'settings', namespace });
      await waitFor('three watch events', () => (seen.length >= 3 ? seen : undefined));
      expect(seen).toEqual(['ADDED settings eco', 'MODIFIED settings turbo', 'DELETED settings turbo']);
      expect(done).toBeUndefined();
    } finally {
      controller.abort();
    }
  });
});

describe('given an informer on ConfigMaps that restarts itself on error', () => {
  it('survives a server restart on the same port and data dir, and holds what was written before and after', async () => {
    const dataDir = fixture.dataDir();
    const first = await fixture.start({ dataDir });
    const watcher = restartingConfigMapInformer(kubeConfigOf(first));
    await watcher.informer.start();
    await kubeConfigOf(first).makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body: configMap('a') });
    await waitFor('the informer to report a', () => (watcher.events.includes('add a') ? true : undefined));

    await fixture.stop(first);
    const second = await fixture.start({ dataDir, port: first.port });
    expect(second.port).toBe(first.port);
    await kubeConfigOf(second).makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body: configMap('b') });

    await waitFor('the informer to report b', () => (watcher.events.includes('add b') ? true : undefined));
    expect(namesOf(watcher.informer.list(namespace))).toEqual(['a', 'b']);
    expect(watcher.events).toEqual(['add a', 'add b']);
  });
});

describe('given historyMax 10', () => {
  /** Writes `count` merge patches to one ConfigMap in kube-public, outside what the specs watch. */
  async function churn(core: CoreV1Api, count: number): Promise<void> {
    await core.createNamespacedConfigMap({ namespace: 'kube-public', body: configMap('churn') });
    for (let n = 0; n < count; n++) {
      await core.patchNamespacedConfigMap({ name: 'churn', namespace: 'kube-public', body: { data: { n: String(n) } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
  }

  it('a Watch from a compacted resourceVersion gets one ERROR event with a 410 Expired Status, then ends', async () => {
    const server = await fixture.start({ historyMax: 10 });
    const kc = kubeConfigOf(server);
    await churn(kc.makeApiClient(CoreV1Api), 110);
    const seen: { type: string; object: Record<string, unknown> }[] = [];
    let done: { error: unknown } | undefined;
    const controller = await new Watch(kc).watch(
      configMapsPath,
      { resourceVersion: '1' },
      (type: string, object: Record<string, unknown>) => seen.push({ type, object }),
      (error: unknown) => {
        done = { error };
      },
    );
    try {
      await waitFor('the ERROR event', () => (seen.length > 0 ? seen : undefined));
      expect(seen).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' }) }]);
      const ended = await waitFor('the server to end the watch', () => done, 5_000);
      expect(ended.error).toBeNull();
      expect(seen).toHaveLength(1);
    } finally {
      controller.abort();
    }
  });

  it('an informer that reconnects from a compacted resourceVersion relists, and its cache matches the server', async () => {
    const dataDir = fixture.dataDir();
    const first = await fixture.start({ dataDir, historyMax: 10 });
    const watcher = restartingConfigMapInformer(kubeConfigOf(first));
    await watcher.informer.start();
    await kubeConfigOf(first).makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body: configMap('a') });
    await waitFor('the informer to report a', () => (watcher.events.includes('add a') ? true : undefined));
    await fixture.stop(first);

    // While the informer cannot reach its port, another server on the same data dir changes what it
    // watches and writes enough elsewhere to compact the history past the informer's version.
    const elsewhere = await fixture.start({ dataDir, historyMax: 10 });
    const core = kubeConfigOf(elsewhere).makeApiClient(CoreV1Api);
    await core.deleteNamespacedConfigMap({ name: 'a', namespace });
    await core.createNamespacedConfigMap({ namespace, body: configMap('c') });
    await churn(core, 110);
    await fixture.stop(elsewhere);

    const last = await fixture.start({ dataDir, historyMax: 10, port: first.port });
    await waitFor('the informer to relist', () => (watcher.lists() >= 2 ? true : undefined));
    await waitFor('the informer cache to hold only c', () => (namesOf(watcher.informer.list(namespace)).join() === 'c' ? true : undefined));
    expect(watcher.events).toEqual(['add a', 'delete a', 'add c']);

    // After the relist it watches again: a new write arrives as a watch event.
    await kubeConfigOf(last).makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body: configMap('d') });
    await waitFor('the informer to report d', () => (watcher.events.includes('add d') ? true : undefined));
    expect(namesOf(watcher.informer.list(namespace))).toEqual(['c', 'd']);
  });
});
