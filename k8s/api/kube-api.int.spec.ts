// API semantics kubectl and controllers rely on, through the server's request handler on a real
// SQLite store. Method: given objects created through the API, when a request arrives, then the
// stored objects and the answer are what kube-apiserver gives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../embedded-api-server.js';
import type { ApiReply } from './kube-api.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let dir: string;
let server: EmbeddedApiServer;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-kube-api-'));
  const started = await startEmbeddedApiServer({ dataDir: dir, insecure: true, bookmarkIntervalMs: 50 });
  if (!started.ok) throw new Error(started.error);
  server = started.value;
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): { status: number; body: Any } => {
  const url = new URL(path, 'http://x');
  const reply: ApiReply = server.api.handle({
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
    userAgent: 'spec/1.0',
  });
  if (reply.kind === 'json') return { status: reply.status, body: reply.body as Any };
  if (reply.kind === 'raw') return { status: reply.status, body: JSON.parse(typeof reply.text === 'string' ? reply.text : Buffer.from(reply.text).toString('utf8')) as Any };
  throw new Error(`unexpected ${reply.kind} reply`);
};

const configMap = (name: string, extra: Any = {}): Any => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: '1' } });
const cms = '/api/v1/namespaces/default/configmaps';

/** Collects the lines of a watch until told to stop. */
function watch(path: string): { lines: Any[]; stop(): void; ended(): boolean } {
  const url = new URL(path, 'http://x');
  const reply = server.api.handle({ method: 'GET', path: url.pathname, query: url.searchParams, headers: {}, body: Buffer.alloc(0), userAgent: 'spec' });
  if (reply.kind !== 'watch') throw new Error(`not a watch: ${JSON.stringify(reply)}`);
  const lines: Any[] = [];
  let ended = false;
  const stop = reply.start(
    (line) => lines.push(JSON.parse(line) as Any),
    () => (ended = true),
  );
  return { lines, stop, ended: () => ended };
}

const until = async (what: string, check: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe('creating', () => {
  it('names an object from generateName', () => {
    const created = call('POST', cms, configMap('', { name: undefined, generateName: 'cfg-' }));
    expect(created.status).toBe(201);
    expect(created.body.metadata.name).toMatch(/^cfg-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(call('GET', `${cms}/${created.body.metadata.name}`).status).toBe(200);
  });

  it('with dryRun answers the object but stores nothing', () => {
    const created = call('POST', `${cms}?dryRun=All`, configMap('dry'));
    expect(created.status).toBe(201);
    expect(created.body.metadata.uid).toBeDefined();
    expect(call('GET', `${cms}/dry`).status).toBe(404);
    expect(call('POST', `${cms}?dryRun=Some`, configMap('dry')).status).toBe(400);
  });

  it('records the creator as a field manager', () => {
    const created = call('POST', `${cms}?fieldManager=tester`, configMap('owned'));
    expect(created.body.metadata.managedFields).toEqual([expect.objectContaining({ manager: 'tester', operation: 'Update', fieldsType: 'FieldsV1' })]);
  });
});

describe('updating', () => {
  it('bumps generation only when the spec changes, and never takes status through the main resource', () => {
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'api:1' }] } } },
    };
    const path = '/apis/apps/v1/namespaces/default/deployments';
    expect(call('POST', path, deploy).body.metadata.generation).toBe(1);
    const labelled = call('PATCH', `${path}/api`, { metadata: { labels: { a: 'b' } } }, { 'content-type': 'application/merge-patch+json' });
    expect(labelled.body.metadata.generation).toBe(1);
    const scaled = call('PATCH', `${path}/api`, { spec: { replicas: 3 }, status: { replicas: 9 } }, { 'content-type': 'application/merge-patch+json' });
    expect(scaled.body.metadata.generation).toBe(2);
    expect(scaled.body.status?.replicas).toBeUndefined();
    const status = call('PATCH', `${path}/api/status`, { status: { replicas: 3, readyReplicas: 2 }, spec: { replicas: 7 } }, { 'content-type': 'application/merge-patch+json' });
    expect(status.status).toBe(200);
    expect(status.body.status).toMatchObject({ replicas: 3, readyReplicas: 2 });
    expect(status.body.spec.replicas).toBe(3);
    expect(status.body.metadata.generation).toBe(2);
  });

  it('refuses a stale resourceVersion with 409 Conflict', () => {
    const created = call('POST', cms, configMap('c1'));
    call('PUT', `${cms}/c1`, { ...created.body, data: { a: '2' } });
    const stale = call('PUT', `${cms}/c1`, { ...created.body, data: { a: '3' } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
  });
});

describe('deleting', () => {
  it('waits for finalizers, then removes the object when the last one goes', () => {
    call('POST', cms, configMap('held', { finalizers: ['example.com/hold'] }));
    const deleting = call('DELETE', `${cms}/held`);
    expect(deleting.status).toBe(200);
    expect(deleting.body.metadata.deletionTimestamp).toBeDefined();
    expect(call('GET', `${cms}/held`).status).toBe(200);
    const added = call('PATCH', `${cms}/held`, { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, { 'content-type': 'application/merge-patch+json' });
    expect(added.status).toBe(422);
    const released = call('PATCH', `${cms}/held`, { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
    expect(released.status).toBe(200);
    expect(call('GET', `${cms}/held`).status).toBe(404);
  });

  it('deletes a pod on a node gracefully, and at once when the node confirms with grace 0', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'edge-1', containers: [{ name: 'c', image: 'i' }] } };
    call('POST', '/api/v1/namespaces/default/pods', pod);
    const first = call('DELETE', '/api/v1/namespaces/default/pods/p');
    expect(first.body.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(call('GET', '/api/v1/namespaces/default/pods/p').status).toBe(200);
    expect(call('DELETE', '/api/v1/namespaces/default/pods/p', { gracePeriodSeconds: 0 }).status).toBe(200);
    expect(call('GET', '/api/v1/namespaces/default/pods/p').status).toBe(404);
  });

  it('collects dependents by ownerReferences unless asked to orphan them', () => {
    const owner = call('POST', cms, configMap('owner')).body;
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
    call('POST', cms, configMap('child', { ownerReferences: [ref] }));
    call('DELETE', `${cms}/owner`);
    expect(call('GET', `${cms}/child`).status).toBe(404);
    const owner2 = call('POST', cms, configMap('owner2')).body;
    call('POST', cms, configMap('orphan', { ownerReferences: [{ ...ref, name: 'owner2', uid: owner2.metadata.uid }] }));
    call('DELETE', `${cms}/owner2?propagationPolicy=Orphan`);
    expect(call('GET', `${cms}/orphan`).status).toBe(200);
  });

  it('marks an owner deleted in the foreground with deletionTimestamp and the foregroundDeletion finalizer, leaving its dependents to the garbage collector', () => {
    const owner = call('POST', cms, configMap('fg-owner')).body;
    call('POST', cms, configMap('fg-child', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'fg-owner', uid: owner.metadata.uid, blockOwnerDeletion: true }] }));
    const deleted = call('DELETE', `${cms}/fg-owner`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' });
    expect(deleted.status).toBe(200);
    expect(deleted.body.metadata).toMatchObject({ deletionTimestamp: expect.any(String), finalizers: ['foregroundDeletion'] });
    expect(call('GET', `${cms}/fg-child`).status).toBe(200);
    // The collector removes the finalizer once the blocking dependents are gone; then the owner goes, taking the rest.
    call('PATCH', `${cms}/fg-owner`, { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
    expect(call('GET', `${cms}/fg-owner`).status).toBe(404);
    expect(call('GET', `${cms}/fg-child`).status).toBe(404);
  });

  it('marks a deleted namespace Terminating and keeps its content for the namespace controller, refusing new content, a second delete and any finalizer edit but /finalize; refuses to delete default', () => {
    call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    call('POST', '/api/v1/namespaces/team/configmaps', configMap('x'));
    const deleted = call('DELETE', '/api/v1/namespaces/team');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ metadata: { name: 'team', deletionTimestamp: expect.any(String) }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } });
    expect(call('GET', '/api/v1/namespaces/team/configmaps/x').status).toBe(200);
    const refused = call('POST', '/api/v1/namespaces/team/configmaps', configMap('y'));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      reason: 'Forbidden',
      message: 'configmaps "y" is forbidden: unable to create new content in namespace team because it is being terminated',
      details: { name: 'y', kind: 'configmaps', causes: [{ reason: 'NamespaceTerminating', message: 'namespace team is being terminated', field: 'metadata.namespace' }] },
    });
    const again = call('DELETE', '/api/v1/namespaces/team');
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('Operation cannot be fulfilled on namespaces "team": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.');
    const current = call('GET', '/api/v1/namespaces/team').body;
    expect(call('PUT', '/api/v1/namespaces/team', { ...current, spec: { finalizers: [] }, status: { phase: 'Active' } }).body).toMatchObject({ spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } });
    expect(call('PUT', '/api/v1/namespaces/team/status', { ...call('GET', '/api/v1/namespaces/team').body, status: { phase: 'Active' } }).body).toMatchObject({ status: { phase: 'Terminating' } });
    expect(call('GET', '/api/v1/namespaces/team').status).toBe(200);

    expect(call('PUT', '/api/v1/namespaces/team/finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' }, spec: { finalizers: [] } }).status).toBe(200);
    expect(call('GET', '/api/v1/namespaces/team').status).toBe(404);
    expect(call('DELETE', '/api/v1/namespaces/default').status).toBe(403);
  });

  it('removes a Terminating namespace only when both spec.finalizers and metadata.finalizers are empty', () => {
    call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    expect(call('DELETE', '/api/v1/namespaces/held').body).toMatchObject({ status: { phase: 'Terminating' } });
    expect(call('PUT', '/api/v1/namespaces/held/finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'held' }, spec: {} }).body).toMatchObject({ spec: { finalizers: [] } });
    expect(call('GET', '/api/v1/namespaces/held').status).toBe(200);
    expect(call('PATCH', '/api/v1/namespaces/held', { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' }).status).toBe(200);
    expect(call('GET', '/api/v1/namespaces/held').status).toBe(404);

    // Created without finalizers, a namespace gets `kubernetes` all the same: its content never outlives it.
    const bare = call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bare' }, spec: { finalizers: [] } });
    expect(bare.body).toMatchObject({ spec: { finalizers: ['kubernetes'] } });
    expect(call('DELETE', '/api/v1/namespaces/bare').body).toMatchObject({ status: { phase: 'Terminating' } });
    call('PUT', '/api/v1/namespaces/bare/finalize', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bare' }, spec: {} });
    expect(call('GET', '/api/v1/namespaces/bare').status).toBe(404);
    expect(call('GET', '/api/v1/namespaces/default/finalize').status).toBe(405);
    expect(call('PATCH', '/api/v1/namespaces/default/finalize', {}, { 'content-type': 'application/merge-patch+json' }).status).toBe(405);
  });

  it('removes a CRD with its objects and stops serving them', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    };
    expect(call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd).status).toBe(201);
    const gadgets = '/apis/example.com/v1/namespaces/default/gadgets';
    expect(call('POST', gadgets, { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } }).status).toBe(201);
    call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com');
    expect(call('GET', gadgets).status).toBe(404);
    call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect(call('GET', gadgets).body.items).toEqual([]);
  });
});

describe('listing', () => {
  it('pages with limit and continue, and each page holds only what matches', () => {
    for (let i = 0; i < 7; i++) call('POST', cms, configMap(`m${i}`, { labels: { parity: i % 2 === 0 ? 'even' : 'odd' } }));
    const names: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = call('GET', `${cms}?labelSelector=parity%3Deven&limit=2${token === '' ? '' : `&continue=${token}`}`);
      names.push(...(page.body.items as Any[]).map((o) => o.metadata.name as string));
      token = page.body.metadata.continue ?? '';
      pages += 1;
    } while (token !== '');
    expect(names).toEqual(['m0', 'm2', 'm4', 'm6']);
    expect(pages).toBe(2);
    expect(call('GET', `${cms}?continue=not-a-token`).status).toBe(400);
  });

  it('answers a Table with the usual columns when kubectl asks for one', () => {
    call('POST', cms, configMap('t'));
    const table = call('GET', cms, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(table.body.kind).toBe('Table');
    expect((table.body.columnDefinitions as Any[]).map((c) => c.name)).toEqual(['Name', 'Data', 'Age']);
    expect(table.body.rows[0].cells.slice(0, 2)).toEqual(['t', 1]);
    expect(table.body.rows[0].object.metadata.namespace).toBe('default');
  });
});

describe('watching', () => {
  it('from a version, sends what changed after it, then live changes, and bookmarks when asked', async () => {
    const first = call('POST', cms, configMap('w1')).body.metadata.resourceVersion as string;
    call('POST', cms, configMap('w2'));
    const w = watch(`${cms}?watch=true&resourceVersion=${first}&allowWatchBookmarks=true`);
    try {
      expect(w.lines.map((l) => [l.type, l.object.metadata.name])).toEqual([['ADDED', 'w2']]);
      call('DELETE', `${cms}/w1`);
      await until('the DELETED event', () => w.lines.some((l) => l.type === 'DELETED'));
      expect(w.lines.find((l) => l.type === 'DELETED')?.object.metadata.name).toBe('w1');
      await until('a bookmark', () => w.lines.some((l) => l.type === 'BOOKMARK'));
      const bookmark = w.lines.find((l) => l.type === 'BOOKMARK');
      expect(Number(bookmark?.object.metadata.resourceVersion)).toBeGreaterThan(Number(first));
    } finally {
      w.stop();
    }
  });

  it('by field selector sees only its object', async () => {
    call('POST', cms, configMap('a', { labels: { app: 'x' } }));
    call('POST', cms, configMap('b', { labels: { app: 'x' } }));
    const w = watch(`${cms}?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Da`);
    try {
      expect(w.lines.map((l) => l.object.metadata.name)).toEqual(['a']);
      call('PATCH', `${cms}/b`, { data: { a: '2' } }, { 'content-type': 'application/merge-patch+json' });
      call('PATCH', `${cms}/a`, { data: { a: '2' } }, { 'content-type': 'application/merge-patch+json' });
      await until('the MODIFIED event', () => w.lines.length === 2);
      expect(w.lines[1]?.type).toBe('MODIFIED');
      expect(w.lines[1]?.object.metadata.name).toBe('a');
    } finally {
      w.stop();
    }
  });

  it('by label selector sees an object enter the selection as ADDED and leave it as DELETED', async () => {
    call('POST', cms, configMap('m', { labels: { app: 'x' } }));
    const w = watch(`${cms}?watch=true&labelSelector=tier%3Dfront`);
    try {
      expect(w.lines).toEqual([]);
      call('PATCH', `${cms}/m`, { metadata: { labels: { tier: 'front' } } }, { 'content-type': 'application/merge-patch+json' });
      call('PATCH', `${cms}/m`, { data: { a: '9' } }, { 'content-type': 'application/merge-patch+json' });
      call('PATCH', `${cms}/m`, { metadata: { labels: { tier: null } } }, { 'content-type': 'application/merge-patch+json' });
      await until('three events', () => w.lines.length === 3);
      expect(w.lines.map((l) => l.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    } finally {
      w.stop();
    }
  });

  it('with timeoutSeconds ends by itself', async () => {
    const w = watch(`${cms}?watch=true&timeoutSeconds=1`);
    await until('the watch to end', () => w.ended(), 5000);
  });
});

describe('limits', () => {
  it('serves a limit above the page size in pages, with a warning that says so', () => {
    const url = new URL(`${cms}?limit=100000`, 'http://x');
    const reply = server.api.handle({ method: 'GET', path: url.pathname, query: url.searchParams, headers: {}, body: Buffer.alloc(0), userAgent: 'spec' });
    expect(reply.kind === 'raw' || reply.kind === 'json').toBe(true);
    expect('warnings' in reply ? reply.warnings : []).toEqual(["limit 100000 exceeds this server's page size 500; the rest follows through metadata.continue"]);
  });
});
