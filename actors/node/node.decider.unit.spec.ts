// The node decider, given/when/then (STYLE R16): given the node's past events, when a command
// arrives, then these events are recorded (or this rejection is returned) and the node ends here.
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../host/decider-spec.testing.js';
import type { NodeCommand } from './node.decider.js';
import type { NodeCondition, NodeEvent } from './node.events.js';
import { nodeKind, nodeStream } from './node.kind.js';

const given = deciderSpec(nodeKind);
const t0 = '2026-11-01T10:00:00.000Z';
const t = (seconds: number): string => new Date(Date.parse(t0) + seconds * 1000).toISOString();

type RegisterData = Extract<NodeCommand, { type: 'RegisterNode' }>['data'];
const registerData: RegisterData = {
  name: 'edge-1',
  capacity: { cpu: '4', memory: '8Gi' },
  allocatable: { cpu: '4', memory: '7Gi' },
  labels: { zone: 'north' },
  addresses: [{ type: 'InternalIP', address: '10.0.0.7' }],
  at: t0,
};
const register = (patch: Partial<RegisterData> = {}): NodeCommand => ({ type: 'RegisterNode', data: { ...registerData, ...patch } });
const registerEdge1 = register();

const healthy = (at: string): NodeCondition[] => [
  { type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status', lastTransitionTime: at },
  { type: 'MemoryPressure', status: 'False', reason: 'EdgeHasSufficientMemory', message: 'edge has sufficient memory available', lastTransitionTime: at },
  { type: 'DiskPressure', status: 'False', reason: 'EdgeHasNoDiskPressure', message: 'edge has no disk pressure', lastTransitionTime: at },
  { type: 'PIDPressure', status: 'False', reason: 'EdgeHasSufficientPID', message: 'edge has sufficient PID available', lastTransitionTime: at },
  { type: 'NetworkUnavailable', status: 'False', reason: 'EdgeNetworkReady', message: 'edge network is ready', lastTransitionTime: at },
];

const registered: NodeEvent = {
  type: 'NodeRegistered.v1',
  data: {
    node: {
      name: 'edge-1',
      capacity: { cpu: '4', memory: '8Gi' },
      allocatable: { cpu: '4', memory: '7Gi' },
      labels: { zone: 'north', 'node-role.kubernetes.io/edge': '' },
      addresses: [{ type: 'InternalIP', address: '10.0.0.7' }],
      leaseDurationSeconds: 40,
    },
    conditions: healthy(t0),
    at: t0,
  },
};
const confirmed: NodeEvent = { type: 'NodeRegistrationConfirmed.v1', data: { at: t(1) } };
const memoryPressure: NodeEvent = {
  type: 'NodeConditionsChanged.v1',
  data: { conditions: [{ type: 'Ready', status: 'False', reason: 'EdgeNotReady', message: 'memory pressure', lastTransitionTime: t(5) }], at: t(5) },
};
const linkLost: NodeEvent = { type: 'NodeWentOffline.v1', data: { reason: 'CloudLinkLost', at: t(10) } };

describe('the stream id', () => {
  it('is node-<name>', () => {
    expect(nodeStream('edge-1')).toBe('node-edge-1');
    expect(nodeStream('edge-1').startsWith(nodeKind.streamPrefix)).toBe(true);
  });
});

describe('given no node', () => {
  it('registers it with the edge role label and healthy conditions', () => {
    const state = given([]).when(registerEdge1).then([registered]);
    expect(state).toMatchObject({ status: 'registering', registeredAt: t0 });
  });

  it('keeps a given edge role label value and takes reported conditions over the healthy defaults', () => {
    const command = register({
      name: 'edge-2',
      labels: { 'node-role.kubernetes.io/edge': 'true' },
      leaseDurationSeconds: 20,
      conditions: [{ type: 'Ready', status: 'False', reason: 'Booting', message: 'runtime starting' }],
    });
    const decision = nodeKind.decide(command, given([]).state);
    expect(decision.ok).toBe(true);
    if (!decision.ok) return;
    const [event] = decision.value;
    expect(event?.type).toBe('NodeRegistered.v1');
    if (event?.type !== 'NodeRegistered.v1') return;
    expect(event.data.node.labels).toEqual({ 'node-role.kubernetes.io/edge': 'true' });
    expect(event.data.node.leaseDurationSeconds).toBe(20);
    expect(event.data.conditions.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'False', reason: 'Booting', message: 'runtime starting', lastTransitionTime: t0 });
  });

  it('rejects a name that is not a DNS-1123 subdomain', () =>
    given([]).when(register({ name: 'Edge_1' })).thenRejects({ kind: 'InvalidNodeName', name: 'Edge_1' }));

  it('rejects a lease duration of zero', () =>
    given([]).when(register({ leaseDurationSeconds: 0 })).thenRejects({ kind: 'InvalidLeaseDuration' }));

  it('rejects the same condition type reported twice', () =>
    given([])
      .when(register({ conditions: [{ type: 'Ready', status: 'True', reason: '', message: '' }, { type: 'Ready', status: 'False', reason: '', message: '' }] }))
      .thenRejects({ kind: 'InvalidCondition' }));

  it('rejects commands for a node that never registered', () => {
    given([]).when({ type: 'ConfirmRegistration', data: { at: t0 } }).thenRejects({ kind: 'NotRegistered' });
    given([]).when({ type: 'RenewLease', data: { at: t0 } }).thenRejects({ kind: 'NotRegistered' });
    given([]).when({ type: 'DecommissionNode', data: { at: t0 } }).thenRejects({ kind: 'NotRegistered' });
  });

  it('rejects a time that does not parse', () => given([]).when({ type: 'MarkOnline', data: { at: 'yesterday' } }).thenRejects({ kind: 'InvalidTime', at: 'yesterday' }));
});

describe('given a registering node', () => {
  it('becomes Ready once the cloud confirms, since its Ready condition is True', () => {
    const state = given([registered]).when({ type: 'ConfirmRegistration', data: { at: t(1) } }).then([confirmed]);
    expect(state).toMatchObject({ status: 'ready', lastSeenAt: t(1) });
  });

  it('becomes NotReady on confirmation when it reported Ready=False meanwhile', () => {
    const state = given([registered, memoryPressure]).when({ type: 'ConfirmRegistration', data: { at: t(6) } }).then([{ type: 'NodeRegistrationConfirmed.v1', data: { at: t(6) } }]);
    expect(state.status).toBe('notReady');
  });

  it('records nothing for a repeated identical registration', () => given([registered]).when(registerEdge1).then([]));

  it('refuses a different registration under the same name', () =>
    given([registered]).when(register({ capacity: { cpu: '8' } })).thenRejects({ kind: 'AlreadyRegistered', name: 'edge-1' }));

  it('ignores a lease timer: there is no lease before confirmation', () => given([registered]).when({ type: 'ExpireLease', data: { at: t(600), lastRenewedAt: null } }).then([]));
});

describe('given a Ready node', () => {
  const ready = [registered, confirmed];

  it('records only the conditions that changed, stamping their transition time', () => {
    const state = given(ready)
      .when({
        type: 'ReportConditions',
        data: {
          at: t(5),
          conditions: [
            { type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status' },
            { type: 'MemoryPressure', status: 'True', reason: 'EdgeHasInsufficientMemory', message: 'low memory' },
          ],
        },
      })
      .then([{ type: 'NodeConditionsChanged.v1', data: { conditions: [{ type: 'MemoryPressure', status: 'True', reason: 'EdgeHasInsufficientMemory', message: 'low memory', lastTransitionTime: t(5) }], at: t(5) } }]);
    expect(state.status).toBe('ready');
  });

  it('keeps lastTransitionTime when only the message changes', () =>
    given(ready)
      .when({ type: 'ReportConditions', data: { at: t(5), conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'still fine' }] } })
      .then([{ type: 'NodeConditionsChanged.v1', data: { conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'still fine', lastTransitionTime: t0 }], at: t(5) } }]));

  it('records nothing when the conditions are unchanged (a heartbeat)', () =>
    given(ready).when({ type: 'ReportConditions', data: { at: t(5), conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status' }] } }).then([]));

  it('goes NotReady when Ready turns False', () => {
    const state = given(ready)
      .when({ type: 'ReportConditions', data: { at: t(5), conditions: [{ type: 'Ready', status: 'False', reason: 'EdgeNotReady', message: 'memory pressure' }] } })
      .then([memoryPressure]);
    expect(state.status).toBe('notReady');
  });

  it('does not journal a lease renewal', () => given(ready).when({ type: 'RenewLease', data: { at: t(10) } }).then([]));

  it('does not expire the lease when the host saw a renewal within the lease duration', () =>
    given(ready).when({ type: 'ExpireLease', data: { at: t(60), lastRenewedAt: t(30) } }).then([]));

  it('does not expire the lease before its duration since confirmation when no renewal was seen', () =>
    given(ready).when({ type: 'ExpireLease', data: { at: t(40), lastRenewedAt: null } }).then([]));

  it('goes offline when the lease expired without renewal', () => {
    const state = given(ready).when({ type: 'ExpireLease', data: { at: t(41), lastRenewedAt: null } }).then([{ type: 'NodeWentOffline.v1', data: { reason: 'LeaseExpired', at: t(41) } }]);
    expect(state).toMatchObject({ status: 'offline', offline: { reason: 'LeaseExpired', since: t(41) } });
  });

  it('goes offline when the cloud link is lost', () => given(ready).when({ type: 'MarkOffline', data: { at: t(10) } }).then([linkLost]));

  it('records nothing when told it is online', () => given(ready).when({ type: 'MarkOnline', data: { at: t(10) } }).then([]));

  it('is decommissioned', () => {
    const state = given(ready).when({ type: 'DecommissionNode', data: { at: t(20) } }).then([{ type: 'NodeDecommissioned.v1', data: { at: t(20) } }]);
    expect(state).toEqual({ status: 'decommissioned', name: 'edge-1', decommissionedAt: t(20) });
  });
});

describe('given an offline node', () => {
  const offline = [registered, confirmed, linkLost];

  it('comes back Ready when the link is restored', () => {
    const state = given(offline).when({ type: 'MarkOnline', data: { at: t(30) } }).then([{ type: 'NodeCameOnline.v1', data: { via: 'CloudLinkRestored', at: t(30) } }]);
    expect(state).toMatchObject({ status: 'ready', lastSeenAt: t(30) });
  });

  it('comes back on a lease renewal', () => given(offline).when({ type: 'RenewLease', data: { at: t(30) } }).then([{ type: 'NodeCameOnline.v1', data: { via: 'LeaseRenewed', at: t(30) } }]));

  it('comes back NotReady when Ready turned False while it was away', () => {
    const away: NodeEvent[] = [...offline, memoryPressure];
    const state = given(away).when({ type: 'MarkOnline', data: { at: t(30) } }).then([{ type: 'NodeCameOnline.v1', data: { via: 'CloudLinkRestored', at: t(30) } }]);
    expect(state.status).toBe('notReady');
  });

  it('ignores a late lease timer and a repeated link loss', () => {
    given(offline).when({ type: 'ExpireLease', data: { at: t(600), lastRenewedAt: null } }).then([]);
    given(offline).when({ type: 'MarkOffline', data: { at: t(11) } }).then([]);
  });

  it('counts the lease from when it came back, not from confirmation', () => {
    const back: NodeEvent[] = [...offline, { type: 'NodeCameOnline.v1', data: { via: 'CloudLinkRestored', at: t(300) } }];
    given(back).when({ type: 'ExpireLease', data: { at: t(330), lastRenewedAt: null } }).then([]);
  });
});

describe('given a decommissioned node', () => {
  const gone: NodeEvent[] = [registered, confirmed, { type: 'NodeDecommissioned.v1', data: { at: t(20) } }];

  it('refuses lease renewals and condition reports', () => {
    given(gone).when({ type: 'RenewLease', data: { at: t(30) } }).thenRejects({ kind: 'NotRegistered' });
    given(gone).when({ type: 'ReportConditions', data: { at: t(30), conditions: [] } }).thenRejects({ kind: 'NotRegistered' });
  });

  it('records nothing when decommissioned again', () => given(gone).when({ type: 'DecommissionNode', data: { at: t(30) } }).then([]));

  it('registers afresh when the node is re-created', () => {
    const again = register({ at: t(40) });
    const decision = nodeKind.decide(again, given(gone).state);
    expect(decision.ok && decision.value.map((e) => e.type)).toEqual(['NodeRegistered.v1']);
  });
});
