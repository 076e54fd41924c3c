// The ReplicaSet and Deployment plans as pure decisions. Method: given a workload and the objects
// it owns (as the API would hold them), when planned, then these creates, deletes, scale steps,
// annotations and statuses — no API, no clock but the one passed in.
import { describe, expect, it } from 'vitest';
import { REVISION_ANNOTATION, planDeployment, rollingBounds, scaledValue } from './deployment.plan.js';
import { templateHash, templatesEqualIgnoringHash } from './pod-template.js';
import { planReplicaSet, rankForDeletion } from './replicaset.plan.js';

type Raw = Record<string, unknown>;
const NOW = { nowMs: Date.parse('2026-11-27T10:00:00Z'), nowIso: '2026-11-27T10:00:00Z' };
const template = (command: string): Raw => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', command: ['sleep', command] }] } });

const replicaSet = (name: string, replicas: number, extra: { revision?: number; available?: number; command?: string; uid?: string } = {}): Raw => ({
  metadata: { name, namespace: 'default', uid: extra.uid ?? `uid-${name}`, resourceVersion: '1', generation: 1, creationTimestamp: `2026-11-27T09:0${extra.revision ?? 1}:00Z`, annotations: { [REVISION_ANNOTATION]: String(extra.revision ?? 1) }, ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }] },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template(extra.command ?? '1') },
  status: { replicas, availableReplicas: extra.available ?? replicas, readyReplicas: extra.available ?? replicas },
});

const deployment = (replicas: number, command = '1', spec: Raw = {}): Raw => ({
  metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 2 },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, template: template(command), ...spec },
  status: {},
});

const pod = (name: string, extra: { node?: string; phase?: string; ready?: boolean; restarts?: number; created?: string; owner?: string; labels?: Raw } = {}): Raw => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: extra.created ?? '2026-11-27T09:00:00Z', labels: extra.labels ?? { app: 'web' }, ...(extra.owner !== undefined ? { ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', uid: extra.owner, controller: true }] } : {}) },
  spec: { ...(extra.node !== undefined ? { nodeName: extra.node } : {}) },
  status: { phase: extra.phase ?? 'Running', conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }], containerStatuses: [{ restartCount: extra.restarts ?? 0 }] },
});

describe('the intstr bounds of a rolling update', () => {
  it('rounds maxSurge up and maxUnavailable down, and never lets both be 0', () => {
    expect(scaledValue('25%', 3, true)).toBe(1);
    expect(scaledValue('25%', 3, false)).toBe(0);
    expect(scaledValue(2, 3, false)).toBe(2);
    expect(rollingBounds(deployment(3))).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(rollingBounds(deployment(3, '1', { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }))).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });
});

describe('given a ReplicaSet of 3', () => {
  const rs: Raw = { metadata: { name: 'rs', namespace: 'default', uid: 'rs-uid', generation: 4 }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template('1') } };

  it('creates the missing pods and counts ready and available ones in its status', () => {
    const plan = planReplicaSet(rs, [pod('a', { owner: 'rs-uid' }), pod('b', { owner: 'rs-uid', ready: false })], NOW.nowMs);
    expect(plan.create).toBe(1);
    expect(plan.status).toEqual({ replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 1, availableReplicas: 1, observedGeneration: 4 });
  });

  it('deletes the cheapest extra pods first: unscheduled, then pending, then not ready, then most restarts', () => {
    const pods = [
      pod('running', { owner: 'rs-uid', node: 'n1' }),
      pod('crashy', { owner: 'rs-uid', node: 'n1', restarts: 5 }),
      pod('unready', { owner: 'rs-uid', node: 'n1', ready: false }),
      pod('pending', { owner: 'rs-uid', node: 'n1', phase: 'Pending', ready: false }),
      pod('unscheduled', { owner: 'rs-uid', phase: 'Pending', ready: false }),
    ];
    expect(rankForDeletion(pods).map((p) => (p['metadata'] as Raw)['name'])).toEqual(['unscheduled', 'pending', 'unready', 'crashy', 'running']);
    expect(planReplicaSet(rs, pods, NOW.nowMs).delete.map((p) => (p['metadata'] as Raw)['name'])).toEqual(['unscheduled', 'pending']);
  });

  it('adopts a matching orphan, ignores pods of other controllers, and waits while its own writes are unseen', () => {
    const orphan = pod('orphan');
    const foreign = pod('foreign', { owner: 'other-uid' });
    const plan = planReplicaSet(rs, [orphan, foreign], NOW.nowMs);
    expect(plan.adopt).toEqual([orphan]);
    expect(plan.create).toBe(2);
    expect(planReplicaSet(rs, [], NOW.nowMs, false).create).toBe(0);
  });

  it('does not count ended or terminating pods as replicas', () => {
    const ended = pod('ended', { owner: 'rs-uid', phase: 'Failed' });
    const leaving = { ...pod('leaving', { owner: 'rs-uid' }), metadata: { ...(pod('leaving', { owner: 'rs-uid' })['metadata'] as Raw), deletionTimestamp: NOW.nowIso } };
    expect(planReplicaSet(rs, [ended, leaving], NOW.nowMs).create).toBe(3);
  });
});

describe('given a Deployment with no ReplicaSet', () => {
  it('creates revision 1 named after the template hash, owned by the Deployment, with the hash in labels and selector', () => {
    const plan = planDeployment(deployment(3), [], [], NOW);
    const created = plan.create as Raw;
    const hash = templateHash(template('1'));
    expect(created['metadata']).toMatchObject({ name: `web-${hash}`, labels: { app: 'web', 'pod-template-hash': hash }, annotations: { [REVISION_ANNOTATION]: '1' }, ownerReferences: [{ uid: 'uid-web', controller: true }] });
    expect(created['spec']).toMatchObject({ replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } } });
    expect(templatesEqualIgnoringHash((created['spec'] as Raw)['template'], template('1'))).toBe(true);
    expect((plan.status['conditions'] as Raw[]).find((c) => c['type'] === 'Progressing')).toMatchObject({ reason: 'NewReplicaSetCreated' });
  });
});

describe('given a Deployment of 4 whose template changed', () => {
  it('first scales the new ReplicaSet up by maxSurge only', () => {
    const plan = planDeployment(deployment(4, '2'), [replicaSet('old', 4)], [], NOW);
    expect(plan.create).toMatchObject({ spec: { replicas: 1 }, metadata: { annotations: { [REVISION_ANNOTATION]: '2' } } });
  });

  it('then scales old down as far as maxUnavailable allows, unavailable old pods first', () => {
    const plan = planDeployment(deployment(4, '2'), [replicaSet('old', 4, { available: 3 }), replicaSet('new', 1, { revision: 2, command: '2', available: 0 })], [], NOW);
    // 5 pods, at least 3 must stay available, the new one is not yet: 1 to go — the unavailable old one.
    expect(plan.scale.map((s) => [(s.rs['metadata'] as Raw)['name'], s.from, s.to])).toEqual([['old', 4, 3]]);
  });

  it('keeps every old pod while the new ones are not available and no room is left', () => {
    const plan = planDeployment(deployment(2, '2'), [replicaSet('old', 2), replicaSet('new', 1, { revision: 2, command: '2', available: 0 })], [], NOW);
    expect(plan.scale).toEqual([]);
  });
});

describe('given an old ReplicaSet whose template came back (rollout undo)', () => {
  it('makes it current again at the next revision', () => {
    const plan = planDeployment(deployment(2, '1'), [replicaSet('first', 0, { revision: 1, command: '1' }), replicaSet('second', 2, { revision: 2, command: '2' })], [], NOW);
    expect(plan.create).toBeUndefined();
    expect(plan.annotate).toEqual([{ rs: expect.objectContaining({ metadata: expect.objectContaining({ name: 'first' }) }), annotations: expect.objectContaining({ [REVISION_ANNOTATION]: '3' }) }]);
    expect(plan.scale.map((s) => [(s.rs['metadata'] as Raw)['name'], s.to])).toEqual([['first', 1]]);
  });
});

describe('given a rollout that stopped progressing', () => {
  it('says ProgressDeadlineExceeded once progressDeadlineSeconds passed since the last progress', () => {
    const stalled = deployment(2, '2', { progressDeadlineSeconds: 60 });
    stalled['status'] = { replicas: 3, updatedReplicas: 1, availableReplicas: 2, readyReplicas: 2, conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: 'x', lastUpdateTime: '2026-11-27T09:58:00Z', lastTransitionTime: '2026-11-27T09:58:00Z' }] };
    const sets = [replicaSet('old', 2), replicaSet('new', 1, { revision: 2, command: '2', available: 0 })];
    const plan = planDeployment(stalled, sets, [], NOW);
    expect((plan.status['conditions'] as Raw[]).find((c) => c['type'] === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "new" has timed out progressing.' });
  });
});

describe('given a Recreate Deployment whose template changed', () => {
  it('scales old ReplicaSets to 0 and creates the new one at 0 while old pods still run', () => {
    const recreate = deployment(2, '2', { strategy: { type: 'Recreate' } });
    const plan = planDeployment(recreate, [replicaSet('old', 2)], [pod('a', { owner: 'uid-old' })], NOW);
    expect(plan.create).toMatchObject({ spec: { replicas: 0 } });
    expect(plan.scale.map((s) => s.to)).toEqual([0]);
  });
});
