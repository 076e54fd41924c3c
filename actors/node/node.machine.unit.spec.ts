// The node machine through XState's pure transition API (STYLE R7): from a snapshot, an event
// gives the next snapshot and the effects (named actions) the host would run; nothing runs here.
import { describe, expect, it } from 'vitest';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { decodeNodeEvent, type NodeEvent } from './node.events.js';
import { nodeMachine } from './node.machine.js';

type Snapshot = SnapshotFrom<typeof nodeMachine>;

const t0 = '2026-11-01T10:00:00.000Z';
const registered: NodeEvent = {
  type: 'NodeRegistered.v1',
  data: {
    node: { name: 'edge-1', capacity: { cpu: '4' }, allocatable: { cpu: '4' }, labels: { 'node-role.kubernetes.io/edge': '' }, addresses: [], leaseDurationSeconds: 40 },
    conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status', lastTransitionTime: t0 }],
    at: t0,
  },
};
const confirmed: NodeEvent = { type: 'NodeRegistrationConfirmed.v1', data: { at: t0 } };
const notReadyNow: NodeEvent = {
  type: 'NodeConditionsChanged.v1',
  data: { conditions: [{ type: 'Ready', status: 'False', reason: 'EdgeNotReady', message: 'disk full', lastTransitionTime: t0 }], at: t0 },
};

/** Folds events purely and returns the last step's [snapshot, effects as {type, params}]. */
function step(events: readonly NodeEvent[]): [Snapshot, { type: string; params: unknown }[]] {
  let [snapshot, actions] = initialTransition(nodeMachine);
  for (const event of events) [snapshot, actions] = transition(nodeMachine, snapshot, event);
  return [snapshot, actions.map((a) => ({ type: a.type, params: a.params }))];
}

describe('the node machine', () => {
  it('starts absent with no effects', () => {
    const [snapshot, actions] = initialTransition(nodeMachine);
    expect(snapshot.value).toBe('absent');
    expect(actions).toEqual([]);
  });

  it('registering runs no effect: the cloud has not confirmed the node yet', () => {
    const [snapshot, actions] = step([registered]);
    expect(snapshot.value).toBe('registering');
    expect(snapshot.context.node?.name).toBe('edge-1');
    expect(actions).toEqual([]);
  });

  it('confirmation arms the lease timer and reports the node Ready', () => {
    const [snapshot, actions] = step([registered, confirmed]);
    expect(snapshot.value).toBe('ready');
    expect(actions).toEqual([
      { type: 'scheduleLeaseExpiry', params: { name: 'edge-1', leaseDurationSeconds: 40 } },
      { type: 'reportNodeStatus', params: { name: 'edge-1', status: 'Ready', conditions: registered.data.conditions } },
    ]);
  });

  it('a Ready=False condition moves Ready to NotReady and reports it', () => {
    const [snapshot, actions] = step([registered, confirmed, notReadyNow]);
    expect(snapshot.value).toBe('notReady');
    expect(actions).toEqual([{ type: 'reportNodeStatus', params: { name: 'edge-1', status: 'NotReady', conditions: notReadyNow.data.conditions } }]);
  });

  it('going offline cancels the lease timer and reports Unknown', () => {
    const [snapshot, actions] = step([registered, confirmed, { type: 'NodeWentOffline.v1', data: { reason: 'LeaseExpired', at: t0 } }]);
    expect(snapshot.value).toBe('offline');
    expect(actions.map((a) => a.type)).toEqual(['cancelLeaseExpiry', 'reportNodeStatus']);
    expect(actions[1]?.params).toMatchObject({ status: 'Unknown' });
  });

  it('coming back online re-arms the lease timer', () => {
    const [snapshot, actions] = step([registered, confirmed, { type: 'NodeWentOffline.v1', data: { reason: 'CloudLinkLost', at: t0 } }, { type: 'NodeCameOnline.v1', data: { via: 'CloudLinkRestored', at: t0 } }]);
    expect(snapshot.value).toBe('ready');
    expect(actions.map((a) => a.type)).toEqual(['scheduleLeaseExpiry', 'reportNodeStatus']);
    expect(snapshot.context.offline).toBeNull();
  });

  it('decommissioning closes the node session with 4410', () => {
    const [snapshot, actions] = step([registered, confirmed, { type: 'NodeDecommissioned.v1', data: { at: t0 } }]);
    expect(snapshot.value).toBe('decommissioned');
    expect(actions).toEqual([
      { type: 'cancelLeaseExpiry', params: { name: 'edge-1' } },
      { type: 'closeNodeSession', params: { name: 'edge-1', code: 4410, reason: 'node deleted' } },
    ]);
  });

  it('ignores an event that does not apply in its state (evolve never refuses)', () => {
    const [snapshot, actions] = step([{ type: 'NodeCameOnline.v1', data: { via: 'LeaseRenewed', at: t0 } }]);
    expect(snapshot.value).toBe('absent');
    expect(actions).toEqual([]);
  });

  it('its context survives a JSON round trip unchanged', () => {
    const [snapshot] = step([registered, confirmed, notReadyNow]);
    const persisted = nodeMachine.getPersistedSnapshot(snapshot);
    expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
  });
});

describe('decoding recorded node events', () => {
  it('reads back a recorded event', () => expect(decodeNodeEvent('NodeWentOffline.v1', { reason: 'LeaseExpired', at: t0 })).toEqual({ ok: true, value: { type: 'NodeWentOffline.v1', data: { reason: 'LeaseExpired', at: t0 } } }));

  it('refuses an unknown type', () => expect(decodeNodeEvent('NodeExploded.v1', {})).toMatchObject({ ok: false, error: { kind: 'UnknownEventType' } }));

  it('refuses data of the wrong shape, naming the field', () =>
    expect(decodeNodeEvent('NodeWentOffline.v1', { reason: 'Bored', at: t0 })).toMatchObject({ ok: false, error: { kind: 'MalformedEventData', detail: expect.stringContaining('data.reason') } }));

  it('refuses a registration whose conditions are malformed', () =>
    expect(decodeNodeEvent('NodeRegistered.v1', { ...registered.data, conditions: [{ type: 'Ready' }] })).toMatchObject({ ok: false, error: { kind: 'MalformedEventData' } }));
});
