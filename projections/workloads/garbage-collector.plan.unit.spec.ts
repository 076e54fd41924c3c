// The garbage collector's decisions, pure. Method: given objects as the API sends them and each
// owner's verdict from a live GET, then the plan names the suspects and, for each, delete, drop the
// dangling references, or keep.
import { describe, expect, it } from 'vitest';
import { finalizersOnceUnblocked, graphNodeOf, judgeDependent, ownerReferencesOf, ownerVerdictOf, suspectsOf, type GraphNode, type OwnerInGraph, type OwnerReference, type OwnerVerdict } from './garbage-collector.plan.js';

const rs = (name: string, uid: string): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid, controller: true, blockOwnerDeletion: true });
const podShape = { apiVersion: 'v1', kind: 'Pod', namespaced: true };
const pod = (name: string, owners: readonly OwnerReference[], extra: Record<string, unknown> = {}): GraphNode => {
  const node = graphNodeOf({ metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7', ownerReferences: owners, ...extra } }, podShape);
  if (node === undefined) throw new Error('expected a node');
  return node;
};
const verdicts =
  (byUid: Record<string, OwnerVerdict>) =>
  (owner: OwnerReference): OwnerVerdict =>
    byUid[owner.uid] ?? 'unknown';

describe('the graph', () => {
  it('keeps an object by uid with its well-formed owner references and where it lives', () => {
    const node = pod('web', [rs('a', 'u1')]);
    expect(node).toEqual({ uid: 'uid-web', apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web', resourceVersion: '7', owners: [rs('a', 'u1')], beingDeleted: false, deletingDependents: false, finalizers: [] });
    expect(ownerReferencesOf({ metadata: { ownerReferences: [{ kind: 'ReplicaSet', name: 'no-uid' }, 'junk', { apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'u2' }] } })).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'u2' }]);
    expect(graphNodeOf({ metadata: { name: 'no-uid' } }, podShape)).toBeUndefined();
    expect(graphNodeOf({ metadata: { name: 'n', uid: 'u', namespace: 'x' } }, { apiVersion: 'v1', kind: 'Node', namespaced: false })?.namespace).toBeUndefined();
  });

  it('suspects dependents with an owner absent from the graph or deleting its dependents, never those being deleted or unowned', () => {
    const inGraph = (uid: string): OwnerInGraph => (uid === 'present' ? 'present' : uid === 'foreground' ? 'deletingDependents' : 'absent');
    const absentOwner = pod('a', [rs('x', 'present'), rs('y', 'absent')]);
    const waitingOwner = pod('e', [rs('z', 'foreground')]);
    const nodes = [absentOwner, pod('b', [rs('x', 'present')]), pod('c', []), pod('d', [rs('y', 'absent')], { deletionTimestamp: '2026-01-01T00:00:00Z' }), waitingOwner];
    expect(suspectsOf(nodes, inGraph)).toEqual([absentOwner, waitingOwner]);
  });

  it('lets an owner deleted in the foreground lose its finalizer once no blocking dependent is left, a terminating one included', () => {
    const owner = graphNodeOf({ metadata: { name: 'rs', uid: 'u1', deletionTimestamp: 'T', finalizers: ['foregroundDeletion', 'example.com/x'] } }, { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true });
    if (owner === undefined) throw new Error('expected a node');
    expect(owner.deletingDependents).toBe(true);
    expect(finalizersOnceUnblocked(owner, [pod('p', [rs('rs', 'u1')], { deletionTimestamp: 'T' })])).toBeUndefined();
    expect(finalizersOnceUnblocked(owner, [pod('p', [{ ...rs('rs', 'u1'), blockOwnerDeletion: false }])])).toEqual(['example.com/x']);
    expect(finalizersOnceUnblocked(owner, [])).toEqual(['example.com/x']);
    expect(finalizersOnceUnblocked({ ...owner, deletingDependents: false }, [])).toBeUndefined();
  });
});

describe('judging a suspect', () => {
  it('deletes it in the background when every owner is gone', () => {
    expect(judgeDependent(pod('p', [rs('a', 'u1'), rs('b', 'u2')]), verdicts({ u1: 'gone', u2: 'gone' }), true)).toEqual({ kind: 'delete', propagation: 'Background' });
  });

  it('deletes it in the foreground when an owner waits for it and it has dependents of its own, else in the background', () => {
    expect(judgeDependent(pod('p', [rs('a', 'u1')]), verdicts({ u1: 'waiting' }), true)).toEqual({ kind: 'delete', propagation: 'Foreground' });
    expect(judgeDependent(pod('p', [rs('a', 'u1')]), verdicts({ u1: 'waiting' }), false)).toEqual({ kind: 'delete', propagation: 'Background' });
  });

  it('drops the gone and waiting references when some owner is alive', () => {
    expect(judgeDependent(pod('p', [rs('a', 'u1'), rs('b', 'u2'), rs('c', 'u3')]), verdicts({ u1: 'alive', u2: 'gone', u3: 'waiting' }), false)).toEqual({ kind: 'dropOwners', owners: [rs('a', 'u1')] });
  });

  it('keeps it while any verdict is unknown, or when every owner is alive', () => {
    expect(judgeDependent(pod('p', [rs('a', 'u1'), rs('b', 'u2')]), verdicts({ u1: 'gone' }), false)).toEqual({ kind: 'keep' });
    expect(judgeDependent(pod('p', [rs('a', 'u1')]), verdicts({ u1: 'alive' }), false)).toEqual({ kind: 'keep' });
  });

  it('calls an owner gone on 404 or when its name now holds another uid, and unknown on any other failure', () => {
    expect(ownerVerdictOf({ status: 404 }, rs('a', 'u1'))).toBe('gone');
    expect(ownerVerdictOf({ found: { metadata: { name: 'a', uid: 'u-new' } } }, rs('a', 'u1'))).toBe('gone');
    expect(ownerVerdictOf({ found: { metadata: { name: 'a', uid: 'u1' } } }, rs('a', 'u1'))).toBe('alive');
    expect(ownerVerdictOf({ status: 503 }, rs('a', 'u1'))).toBe('unknown');
    expect(ownerVerdictOf({ status: 0 }, rs('a', 'u1'))).toBe('unknown');
  });
});
