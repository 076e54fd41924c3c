// The MetaServer over a real loopback socket. Method: given a server on a free port fed through its
// view, when @kubernetes/client-node (1.4, from a kubeconfig without credentials) and raw HTTP
// clients read, watch and try to write, then reads answer as from kube-apiserver, every write verb
// gets 405 with the read-only Status and changes nothing, and view changes reach watches as events.
import { ApiException, CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../kernel/index.js';
import { waitFor } from '../api/api-server.testing.js';
import { metaServerReadOnlyWhy, startMetaServer, type MetaServer } from './meta-server.js';
import { configMapObject, MetaServerFixture, podObject, secretObject, sendPlain, serviceObject, writeMetaKubeconfig } from './meta-server.testing.js';

const fixture = new MetaServerFixture();
afterEach(async () => {
  await fixture.teardown();
});

const kubeConfigFor = (server: MetaServer): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromFile(writeMetaKubeconfig(join(fixture.dir(), 'kubeconfig'), server.url));
  return kc;
};

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

describe('given a MetaServer fed two pods, a ConfigMap, a Secret, a Service and its Node', () => {
  let server: MetaServer;
  let core: CoreV1Api;

  beforeEach(async () => {
    server = await fixture.start();
    const fed = server.view.replaceAll([
      podObject('default', 'web', 'uid-web', { phase: 'Running' }),
      podObject('shop', 'cart', 'uid-cart'),
      configMapObject('default', 'settings', { mode: 'edge' }),
      secretObject('default', 'token', { value: Buffer.from('s3cret').toString('base64') }),
      serviceObject('default', 'web'),
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-1', uid: 'uid-node' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    ]);
    expect(fed).toEqual({ ok: true, value: { added: 6, modified: 0, replaced: 0, unchanged: 0, deleted: 0 } });
    core = kubeConfigFor(server).makeApiClient(CoreV1Api);
  });

  it('client-node lists and reads them as from kube-apiserver', async () => {
    const all = await core.listPodForAllNamespaces();
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name} ${p.status?.phase ?? '-'}`)).toEqual(['default/web Running', 'shop/cart -']);
    expect(Number(all.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect((await core.listNamespacedPod({ namespace: 'shop' })).items.map((p) => p.metadata?.name)).toEqual(['cart']);
    const pod = await core.readNamespacedPod({ namespace: 'default', name: 'web' });
    expect(pod.metadata?.uid).toBe('uid-web');
    expect(pod.spec?.nodeName).toBe('edge-1');
    expect(Buffer.from((await core.readNamespacedSecret({ namespace: 'default', name: 'token' })).data?.['value'] ?? '', 'base64').toString()).toBe('s3cret');
    expect((await core.readNamespacedConfigMap({ namespace: 'default', name: 'settings' })).data).toEqual({ mode: 'edge' });
    expect((await core.listNamespacedService({ namespace: 'default' })).items.map((s) => s.spec?.clusterIP)).toEqual(['10.96.0.10']);
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).toEqual(['edge-1']);
    expect((await apiErrorOf(core.readNamespacedPod({ namespace: 'default', name: 'nope' }))).code).toBe(404);
  });

  it('client-node writes get 405 MethodNotAllowed with the read-only Status', async () => {
    const refused = await apiErrorOf(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'new' }, data: {} } }));
    expect(refused.code).toBe(405);
    expect(refused.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `${metaServerReadOnlyWhy} (refused POST /api/v1/namespaces/default/configmaps)`,
      reason: 'MethodNotAllowed',
      details: {},
      code: 405,
    });
    expect((await apiErrorOf(core.deleteNamespacedPod({ namespace: 'default', name: 'web' }))).code).toBe(405);
    expect((await core.readNamespacedPod({ namespace: 'default', name: 'web' })).metadata?.uid).toBe('uid-web');
  });

  it('every write verb, subresources and dry runs included, gets 405 and changes nothing', async () => {
    const pod = '/api/v1/namespaces/default/pods/web';
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'other:2' }] } });
    const writes = [
      { method: 'POST', path: '/api/v1/namespaces/default/pods', body },
      { method: 'POST', path: '/api/v1/namespaces/default/pods?dryRun=All', body },
      { method: 'PUT', path: pod, body },
      { method: 'PUT', path: `${pod}/status`, body },
      { method: 'PATCH', path: pod, body: '{"metadata":{"labels":{"x":"y"}}}', contentType: 'application/merge-patch+json' },
      { method: 'PATCH', path: `${pod}?fieldManager=kubectl&force=true`, body, contentType: 'application/apply-patch+yaml' },
      { method: 'DELETE', path: pod },
      { method: 'DELETE', path: '/api/v1/namespaces/default/pods' },
      { method: 'POST', path: `${pod}/binding`, body: '{"target":{"name":"edge-2"}}' },
      { method: 'POST', path: `${pod}/exec?command=sh` },
      { method: 'DELETE', path: '/api/v1/nodes/edge-1' },
      { method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: '{}' },
      { method: 'OPTIONS', path: pod },
    ];
    const before = await sendPlain(server, { method: 'GET', path: pod });
    for (const write of writes) {
      const response = await sendPlain(server, write);
      expect(response.status, `${write.method} ${write.path}`).toBe(405);
      expect(JSON.parse(response.text), `${write.method} ${write.path}`).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405, message: expect.stringContaining("the edge's local API (MetaServer) is read-only") });
    }
    expect((await sendPlain(server, { method: 'GET', path: pod })).text).toBe(before.text);
    expect(server.view.size).toBe(6);
  });

  it('serves a client that sends a bearer token (an in-cluster app) without checking it', async () => {
    const response = await sendPlain(server, { method: 'GET', path: '/api/v1/namespaces/default/configmaps/settings', headers: { Authorization: 'Bearer some-service-account-token' } });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ kind: 'ConfigMap', data: { mode: 'edge' } });
  });

  it('lists only the read verbs in discovery, and no streaming subresources', async () => {
    const legacy = JSON.parse((await sendPlain(server, { method: 'GET', path: '/api/v1' })).text) as { resources: { name: string; verbs: string[] }[] };
    const byName = new Map(legacy.resources.map((r) => [r.name, r.verbs]));
    expect(byName.get('pods')).toEqual(['get', 'list', 'watch']);
    expect(byName.get('pods/status')).toEqual(['get']);
    expect(byName.has('pods/exec')).toBe(false);
    expect(byName.has('pods/binding')).toBe(false);
    const aggregated = await sendPlain(server, { method: 'GET', path: '/api', headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } });
    const resources = (JSON.parse(aggregated.text) as { items: { versions: { resources: { resource: string; verbs: string[] }[] }[] }[] }).items[0]?.versions[0]?.resources ?? [];
    expect(new Set(resources.flatMap((r) => r.verbs))).toEqual(new Set(['get', 'list', 'watch']));
    expect((await sendPlain(server, { method: 'GET', path: '/version' })).status).toBe(200);
    expect((await sendPlain(server, { method: 'GET', path: '/openapi/v3' })).status).toBe(200);
  });

  it('answers pod logs and exec with a 404 Status that says where they are served', async () => {
    const response = await sendPlain(server, { method: 'GET', path: '/api/v1/namespaces/default/pods/web/log' });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toMatchObject({ kind: 'Status', reason: 'NotFound', message: expect.stringContaining("pods/log is not served by the edge's local API") });
  });

  it('a Watch from the list resourceVersion sees put as ADDED and MODIFIED, and remove as DELETED', async () => {
    const listed = await core.listNamespacedPod({ namespace: 'default' });
    const seen: string[] = [];
    let done: { error: unknown } | undefined;
    const controller = await new Watch(kubeConfigFor(server)).watch(
      '/api/v1/namespaces/default/pods',
      { resourceVersion: listed.metadata?.resourceVersion },
      (type: string, object: V1Pod) => seen.push(`${type} ${object.metadata?.name} ${object.status?.phase ?? '-'}`),
      (error: unknown) => {
        done = { error };
      },
    );
    try {
      expect(server.view.put(podObject('default', 'api', 'uid-api'))).toEqual({ ok: true, value: 'added' });
      expect(server.view.put(podObject('default', 'api', 'uid-api', { phase: 'Running' }))).toEqual({ ok: true, value: 'modified' });
      expect(server.view.put(podObject('shop', 'elsewhere', 'uid-elsewhere'))).toEqual({ ok: true, value: 'added' });
      expect(server.view.remove({ uid: 'uid-web' })).toEqual({ ok: true, value: 'deleted' });
      await waitFor('three watch events', () => (seen.length >= 3 ? seen : undefined));
      expect(seen).toEqual(['ADDED api -', 'MODIFIED api Running', 'DELETED web Running']);
      expect(done).toBeUndefined();
    } finally {
      controller.abort();
    }
  });
});

describe('across a restart of the edge agent', () => {
  it('a watch from a version the earlier run handed out gets 410 Expired, so the client relists', async () => {
    const clock = new ManualClock(Date.parse('2026-11-01T00:00:00Z'));
    const first = await fixture.start({ clock });
    first.view.put(podObject('default', 'web', 'uid-web'));
    const oldVersion = (await kubeConfigFor(first).makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' })).metadata?.resourceVersion;
    await fixture.stop(first);

    clock.advance(5_000);
    const second = await fixture.start({ clock });
    second.view.replaceAll([podObject('default', 'web', 'uid-web')]);
    const seen: { type: string; object: Record<string, unknown> }[] = [];
    const controller = await new Watch(kubeConfigFor(second)).watch(
      '/api/v1/namespaces/default/pods',
      { resourceVersion: oldVersion },
      (type: string, object: Record<string, unknown>) => seen.push({ type, object }),
      () => undefined,
    );
    try {
      await waitFor('the ERROR event', () => (seen.length > 0 ? seen : undefined));
      expect(seen).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
    } finally {
      controller.abort();
    }
  });
});

describe('startMetaServer', () => {
  it('refuses a host that is not loopback: the API has no authentication and serves Secrets', async () => {
    expect(await startMetaServer({ host: '0.0.0.0' })).toEqual({ ok: false, error: { kind: 'HostNotLoopback', host: '0.0.0.0' } });
    expect(await startMetaServer({ host: '192.168.1.10' })).toMatchObject({ ok: false, error: { kind: 'HostNotLoopback' } });
  });

  it('reports a port in use as ListenFailed', async () => {
    const taken = await fixture.start();
    const second = await startMetaServer({ port: taken.port });
    expect(second).toMatchObject({ ok: false, error: { kind: 'ListenFailed', host: '127.0.0.1', port: taken.port, detail: expect.stringContaining('EADDRINUSE') } });
  });
});
