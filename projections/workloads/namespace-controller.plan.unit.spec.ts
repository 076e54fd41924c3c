// The namespace controller's decisions and discovery parsing, pure. Method: given namespaces, listed
// objects, sweeps and discovery documents as the API sends them, then the plan says what to delete,
// which conditions the namespace shows (upstream's reasons and messages) and when it may be finalized.
import { describe, expect, it } from 'vitest';
import { collectionPath, objectPath, preferredGroupVersions, resourcesOfList } from './namespace-controller.discovery.js';
import { awaitsContentRemoval, conditionsAfter, failingConditions, finalizersAfterRemoval, isContentGone, objectsToDelete, type Sweep } from './namespace-controller.plan.js';

const terminating = { metadata: { name: 'team', deletionTimestamp: '2026-01-01T00:00:00Z' }, spec: { finalizers: ['kubernetes', 'example.com/other'] } };
const clean: Sweep = { discoveryFailures: [], deleteFailures: [], remaining: [] };

describe('which namespaces and objects the controller acts on', () => {
  it('acts on a namespace being deleted that still carries the kubernetes finalizer, and on no other', () => {
    expect(awaitsContentRemoval(terminating)).toBe(true);
    expect(awaitsContentRemoval({ ...terminating, metadata: { name: 'team' } })).toBe(false);
    expect(awaitsContentRemoval({ ...terminating, spec: { finalizers: ['example.com/other'] } })).toBe(false);
  });

  it('deletes listed objects not being deleted already, and removes only its own finalizer', () => {
    const live = { metadata: { name: 'a' } };
    const going = { metadata: { name: 'b', deletionTimestamp: '2026-01-01T00:00:00Z' } };
    expect(objectsToDelete([live, going])).toEqual([live]);
    expect(finalizersAfterRemoval(terminating)).toEqual(['example.com/other']);
  });
});

describe('the conditions after a sweep', () => {
  it('names remaining resources and their finalizers with upstream messages, sorted', () => {
    const sweep: Sweep = {
      discoveryFailures: [],
      deleteFailures: [],
      remaining: [
        { group: 'apps', plural: 'replicasets', objects: [{ metadata: { finalizers: ['x/y'] } }] },
        { group: '', plural: 'pods', objects: [{ metadata: { finalizers: ['x/y'] } }, {}] },
      ],
    };
    expect(isContentGone(sweep)).toBe(false);
    expect(failingConditions(sweep)).toEqual([
      { type: 'NamespaceContentRemaining', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: pods. has 2 resource instances, replicasets.apps has 1 resource instances' },
      { type: 'NamespaceFinalizersRemaining', reason: 'SomeFinalizersRemain', message: 'Some content in the namespace has finalizers remaining: x/y in 2 resource instances' },
    ]);
  });

  it('reports discovery and delete failures, which also hold the finalizer', () => {
    const sweep: Sweep = { discoveryFailures: ['apps/v1: HTTP 503'], deleteFailures: ['pods. "web": boom'], remaining: [] };
    expect(isContentGone(sweep)).toBe(false);
    expect(failingConditions(sweep)).toEqual([
      { type: 'NamespaceDeletionDiscoveryFailure', reason: 'DiscoveryFailed', message: 'Discovery failed for some groups, 1 failing: apps/v1: HTTP 503' },
      { type: 'NamespaceDeletionContentFailure', reason: 'ContentDeletionFailed', message: 'Failed to delete all resource types, 1 remaining: pods. "web": boom' },
    ]);
    expect(isContentGone(clean)).toBe(true);
  });

  it('writes every maintained type, ok ones False, and moves lastTransitionTime only when a status changes', () => {
    const first = conditionsAfter([], failingConditions({ ...clean, remaining: [{ group: '', plural: 'pods', objects: [{}] }] }), 'T1');
    expect(first.changed).toBe(true);
    expect(first.conditions).toHaveLength(5);
    expect(first.conditions).toContainEqual({ type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: pods. has 1 resource instances', lastTransitionTime: 'T1' });
    expect(first.conditions).toContainEqual({ type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered', lastTransitionTime: 'T1' });

    expect(conditionsAfter(first.conditions, failingConditions({ ...clean, remaining: [{ group: '', plural: 'pods', objects: [{}] }] }), 'T2').changed).toBe(false);
    const emptied = conditionsAfter(first.conditions, failingConditions(clean), 'T3');
    expect(emptied.changed).toBe(true);
    expect(emptied.conditions).toContainEqual({ type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'All content successfully removed', lastTransitionTime: 'T3' });
    expect(emptied.conditions).toContainEqual(expect.objectContaining({ type: 'NamespaceDeletionDiscoveryFailure', lastTransitionTime: 'T1' }));
  });
});

describe('discovery documents', () => {
  it('reads resources without subresources, and each group preferred version', () => {
    const list = {
      kind: 'APIResourceList',
      groupVersion: 'apps/v1',
      resources: [
        { name: 'replicasets', namespaced: true, kind: 'ReplicaSet', verbs: ['list', 'delete'] },
        { name: 'replicasets/scale', namespaced: true, kind: 'Scale', verbs: ['get'] },
      ],
    };
    const [rs] = resourcesOfList(list);
    expect(resourcesOfList(list)).toEqual([{ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, verbs: ['list', 'delete'] }]);
    expect(rs === undefined ? '' : collectionPath(rs, 'team')).toBe('/apis/apps/v1/namespaces/team/replicasets');
    expect(objectPath({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, verbs: [] }, 'team', 'edge-1')).toBe('/api/v1/nodes/edge-1');
    expect(preferredGroupVersions({ groups: [{ name: 'apps', preferredVersion: { groupVersion: 'apps/v1' }, versions: [{ groupVersion: 'apps/v1' }] }, { name: 'x.io', versions: [{ groupVersion: 'x.io/v2' }] }] })).toEqual(['apps/v1', 'x.io/v2']);
  });
});
