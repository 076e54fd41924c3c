// The NodeSync store on the Kubernetes API (the embedded server, through client-node). Method: given
// stores in this process standing in for cloud processes, when positions and acks are recorded, then
// a fresh store (another process taking the node over) loads exactly that; concurrent writes of one
// node are coalesced and none is lost; a writer that no longer owns the node gives way; a malformed
// object is a precise error.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf } from '../../k8s/api/api-server.testing.js';
import type { AckedEntry } from '../sync/index.js';
import { KubeNodeSyncStore, decodeNodeSync } from './node-sync-store.kube.js';

const fixture = new ApiServerFixture();
afterEach(() => fixture.teardown());

const acked = (key: string, resourceVersion: string): AckedEntry => ({ key, resourceVersion, contentHash: `h${resourceVersion}` });
const nodeSyncs = { group: 'edgehive.io', version: 'v1alpha1', plural: 'nodesyncs' };

async function world() {
  const kc = kubeConfigOf(await fixture.start());
  return { kc, objects: kc.makeApiClient(CustomObjectsApi) };
}

describe('given a node with no NodeSync object', () => {
  it('loads nothing, then keeps the record and acked map it is given for the next process to load', async () => {
    const { kc, objects } = await world();
    const first = new KubeNodeSyncStore(kc);
    expect(await first.load('edge-1')).toEqual({ record: undefined, acked: [] });

    await first.recordUpApplied('edge-1', 'journal-a', 7);
    await first.recordAcked('edge-1', [{ uid: 'u1', entry: acked('default/configmaps/a', '10') }, { uid: 'u2', entry: { key: 'default/secrets/s', resourceVersion: null, contentHash: null } }]);
    await first.recordAcked('edge-1', [{ uid: 'u2', entry: null }]);
    await first.recordUpApplied('edge-1', 'journal-a', 5);

    const next = new KubeNodeSyncStore(kc);
    const loaded = await next.load('edge-1');
    expect(loaded.record).toEqual({ journalId: 'journal-a', upApplied: 7, retiredJournalIds: [] });
    expect([...loaded.acked]).toEqual([['u1', acked('default/configmaps/a', '10')]]);
    const object = (await objects.getClusterCustomObject({ ...nodeSyncs, name: 'edge-1' })) as { spec: unknown };
    expect(object.spec).toEqual({ journalId: 'journal-a', upApplied: 7, retiredJournalIds: [], acked: { u1: ['default/configmaps/a', '10', 'h10'] } });
  });

  it('retires a replaced journal and forgets acknowledged revisions on a full resync', async () => {
    const { kc } = await world();
    const store = new KubeNodeSyncStore(kc);
    await store.recordUpApplied('edge-1', 'journal-a', 3);
    await store.recordAcked('edge-1', [{ uid: 'u1', entry: acked('default/configmaps/a', '10') }]);
    await store.recordUpApplied('edge-1', 'journal-b', 1);
    await store.recordUpApplied('edge-1', 'journal-a', 9);
    await store.forgetAckedRevisions('edge-1');
    const loaded = await new KubeNodeSyncStore(kc).load('edge-1');
    expect(loaded.record).toEqual({ journalId: 'journal-b', upApplied: 1, retiredJournalIds: ['journal-a'] });
    expect([...loaded.acked]).toEqual([['u1', { key: 'default/configmaps/a', resourceVersion: null, contentHash: null }]]);
  });
});

describe('given many changes of one node at once', () => {
  it('coalesces them into fewer writes than changes and loses none', async () => {
    const { kc, objects } = await world();
    const store = new KubeNodeSyncStore(kc);
    await store.recordUpApplied('edge-1', 'journal-a', 0);
    const before = Number(((await objects.getClusterCustomObject({ ...nodeSyncs, name: 'edge-1' })) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.recordAcked('edge-1', [{ uid: `u${i}`, entry: acked(`default/configmaps/c${i}`, String(i + 1)) }])));
    const after = (await objects.getClusterCustomObject({ ...nodeSyncs, name: 'edge-1' })) as { metadata: { resourceVersion: string }; spec: { acked: Record<string, unknown> } };
    expect(Object.keys(after.spec.acked)).toHaveLength(100);
    // Each write moves the cluster's resourceVersion once; 100 changes took far fewer.
    expect(Number(after.metadata.resourceVersion) - before).toBeLessThan(10);
  });
});

describe('given two processes writing one node', () => {
  it('re-applies its changes over the other one\'s while it owns the node', async () => {
    const { kc } = await world();
    const a = new KubeNodeSyncStore(kc);
    const b = new KubeNodeSyncStore(kc);
    await a.recordAcked('edge-1', [{ uid: 'from-a', entry: acked('default/configmaps/a', '1') }]);
    await b.recordAcked('edge-1', [{ uid: 'from-b', entry: acked('default/configmaps/b', '2') }]);
    // a's cached resourceVersion is stale now: its write conflicts, re-reads and keeps b's entry.
    await a.recordAcked('edge-1', [{ uid: 'from-a-2', entry: acked('default/configmaps/a2', '3') }]);
    const loaded = await new KubeNodeSyncStore(kc).load('edge-1');
    expect([...loaded.acked].map(([uid]) => uid).sort()).toEqual(['from-a', 'from-a-2', 'from-b']);
  });

  it('gives way once it no longer owns the node: the write fails and the other process\'s state stays', async () => {
    const { kc } = await world();
    const old = new KubeNodeSyncStore(kc, { owns: () => false });
    const owner = new KubeNodeSyncStore(kc);
    await old.recordUpApplied('edge-1', 'journal-a', 4);
    await owner.recordUpApplied('edge-1', 'journal-a', 9);
    await expect(old.recordAcked('edge-1', [{ uid: 'stale', entry: acked('default/configmaps/x', '1') }])).rejects.toThrow('NodeSync edge-1 changed under another cloud process; this one no longer owns the node');
    const loaded = await new KubeNodeSyncStore(kc).load('edge-1');
    expect(loaded.record?.upApplied).toBe(9);
    expect([...loaded.acked]).toEqual([]);
  });
});

describe('given a malformed NodeSync object', () => {
  it('is refused by the API through the CRD schema, naming the field', async () => {
    const { objects } = await world();
    const malformed = { apiVersion: 'edgehive.io/v1alpha1', kind: 'NodeSync', metadata: { name: 'edge-1' }, spec: { journalId: 'j', upApplied: 1, acked: { u2: ['k', '1'] } } };
    await expect(objects.createClusterCustomObject({ ...nodeSyncs, body: malformed })).rejects.toThrow(/spec\.acked\.u2/);
  });

  it('is refused by the store when read anyway (an API without schema validation), naming what is wrong', () => {
    const object = { metadata: { resourceVersion: '5' }, spec: { journalId: 'j', upApplied: 1, acked: { u2: ['k', '1'] } } };
    expect(() => decodeNodeSync('edge-1', object)).toThrow('NodeSync edge-1 is malformed: acked entry u2 is ["k","1"], not [key, resourceVersion, contentHash]');
    expect(() => decodeNodeSync('edge-1', { spec: { journalId: 'j', upApplied: -1 } })).toThrow('NodeSync edge-1 is malformed: journalId, upApplied or retiredJournalIds has the wrong type');
  });
});
