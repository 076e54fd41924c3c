// The node machine: an edge node's registration, readiness and connectivity as a pure XState
// machine that moves only on node events; its effects are named actions the host provides.
import { assertEvent, assign, setup } from 'xstate';
import type { NodeCondition, NodeEvent, NodeInfo, OfflineReason } from './node.events.js';

/** The node's data; JSON only, so folding the journal rebuilds it exactly. */
export type NodeContext = {
  readonly node: NodeInfo | null;
  readonly conditions: readonly NodeCondition[];
  readonly registeredAt: string | null;
  readonly offline: { readonly reason: OfflineReason; readonly since: string } | null;
  /**
   * Local time of the last journaled sign of life (confirmation, coming back online). Lease
   * renewals are not journaled, so lease expiry counts from the later of this and the last
   * renewal the host saw.
   */
  readonly lastSeenAt: string | null;
  readonly decommissionedAt: string | null;
};

export const emptyNodeContext: NodeContext = { node: null, conditions: [], registeredAt: null, offline: null, lastSeenAt: null, decommissionedAt: null };

/** `current` with each condition in `changed` replacing the one of its type (new types are appended). */
export const mergeConditions = (current: readonly NodeCondition[], changed: readonly NodeCondition[]): readonly NodeCondition[] => [
  ...current.map((c) => changed.find((x) => x.type === c.type) ?? c),
  ...changed.filter((x) => !current.some((c) => c.type === x.type)),
];

/** A node is Ready exactly when its Ready condition is True (the other conditions do not gate it). */
export const readyIn = (conditions: readonly NodeCondition[]): boolean => conditions.some((c) => c.type === 'Ready' && c.status === 'True');

/** What `reportNodeStatus` receives: the node's name, the status kubectl shows, its conditions. */
export type NodeStatusReport = { readonly name: string; readonly status: 'Ready' | 'NotReady' | 'Unknown'; readonly conditions: readonly NodeCondition[] };

const nameOf = (context: NodeContext): string => context.node?.name ?? '';
const report = (context: NodeContext, status: NodeStatusReport['status']): NodeStatusReport => ({ name: nameOf(context), status, conditions: context.conditions });
const readinessOf = (context: NodeContext): NodeStatusReport['status'] => (readyIn(context.conditions) ? 'Ready' : 'NotReady');

export const nodeMachine = setup({
  types: {} as { context: NodeContext; events: NodeEvent },
  actions: {
    /** Post the node's status (conditions) to the cloud. */
    reportNodeStatus: (_, _params: NodeStatusReport) => undefined,
    /** Arm the lease timer; the host re-arms it on every renewal and sends `ExpireLease` when it fires. */
    scheduleLeaseExpiry: (_, _params: { readonly name: string; readonly leaseDurationSeconds: number }) => undefined,
    cancelLeaseExpiry: (_, _params: { readonly name: string }) => undefined,
    /** A deleted node's stream closes with 4410 and reconnects are refused until it is re-created. */
    closeNodeSession: (_, _params: { readonly name: string; readonly code: 4410; readonly reason: 'node deleted' }) => undefined,
    registered: assign(({ event }) => {
      assertEvent(event, 'NodeRegistered.v1');
      return { ...emptyNodeContext, node: event.data.node, conditions: event.data.conditions, registeredAt: event.data.at };
    }),
    confirmed: assign(({ event }) => {
      assertEvent(event, 'NodeRegistrationConfirmed.v1');
      return { lastSeenAt: event.data.at };
    }),
    conditionsChanged: assign(({ context, event }) => {
      assertEvent(event, 'NodeConditionsChanged.v1');
      return { conditions: mergeConditions(context.conditions, event.data.conditions) };
    }),
    wentOffline: assign(({ event }) => {
      assertEvent(event, 'NodeWentOffline.v1');
      return { offline: { reason: event.data.reason, since: event.data.at } };
    }),
    cameOnline: assign(({ event }) => {
      assertEvent(event, 'NodeCameOnline.v1');
      return { offline: null, lastSeenAt: event.data.at };
    }),
    decommissioned: assign(({ event }) => {
      assertEvent(event, 'NodeDecommissioned.v1');
      return { offline: null, decommissionedAt: event.data.at };
    }),
  },
  guards: {
    readyNow: ({ context }) => readyIn(context.conditions),
    readyAfterChange: ({ context, event }) => {
      assertEvent(event, 'NodeConditionsChanged.v1');
      return readyIn(mergeConditions(context.conditions, event.data.conditions));
    },
  },
}).createMachine({
  id: 'node',
  context: emptyNodeContext,
  initial: 'absent',
  states: {
    absent: {
      on: { 'NodeRegistered.v1': { target: 'registering', actions: 'registered' } },
    },
    registering: {
      on: {
        'NodeRegistrationConfirmed.v1': [
          { guard: 'readyNow', target: 'ready', actions: ['confirmed', { type: 'scheduleLeaseExpiry', params: leaseOf }, { type: 'reportNodeStatus', params: ({ context }) => report(context, 'Ready') }] },
          { target: 'notReady', actions: ['confirmed', { type: 'scheduleLeaseExpiry', params: leaseOf }, { type: 'reportNodeStatus', params: ({ context }) => report(context, 'NotReady') }] },
        ],
        'NodeConditionsChanged.v1': { actions: 'conditionsChanged' },
        'NodeDecommissioned.v1': { target: 'decommissioned', actions: ['decommissioned', { type: 'closeNodeSession', params: sessionOf }] },
      },
    },
    ready: {
      on: {
        'NodeConditionsChanged.v1': [
          { guard: 'readyAfterChange', target: 'ready', actions: ['conditionsChanged', { type: 'reportNodeStatus', params: ({ context }) => report(context, 'Ready') }] },
          { target: 'notReady', actions: ['conditionsChanged', { type: 'reportNodeStatus', params: ({ context }) => report(context, 'NotReady') }] },
        ],
        'NodeWentOffline.v1': { target: 'offline', actions: ['wentOffline', { type: 'cancelLeaseExpiry', params: nameParams }, { type: 'reportNodeStatus', params: ({ context }) => report(context, 'Unknown') }] },
        'NodeDecommissioned.v1': { target: 'decommissioned', actions: ['decommissioned', { type: 'cancelLeaseExpiry', params: nameParams }, { type: 'closeNodeSession', params: sessionOf }] },
      },
    },
    notReady: {
      on: {
        'NodeConditionsChanged.v1': [
          { guard: 'readyAfterChange', target: 'ready', actions: ['conditionsChanged', { type: 'reportNodeStatus', params: ({ context }) => report(context, 'Ready') }] },
          { target: 'notReady', actions: ['conditionsChanged', { type: 'reportNodeStatus', params: ({ context }) => report(context, 'NotReady') }] },
        ],
        'NodeWentOffline.v1': { target: 'offline', actions: ['wentOffline', { type: 'cancelLeaseExpiry', params: nameParams }, { type: 'reportNodeStatus', params: ({ context }) => report(context, 'Unknown') }] },
        'NodeDecommissioned.v1': { target: 'decommissioned', actions: ['decommissioned', { type: 'cancelLeaseExpiry', params: nameParams }, { type: 'closeNodeSession', params: sessionOf }] },
      },
    },
    offline: {
      on: {
        // Conditions seen while the cloud cannot hear the node are kept; they decide where it returns to.
        'NodeConditionsChanged.v1': { actions: 'conditionsChanged' },
        'NodeCameOnline.v1': [
          { guard: 'readyNow', target: 'ready', actions: ['cameOnline', { type: 'scheduleLeaseExpiry', params: leaseOf }, { type: 'reportNodeStatus', params: ({ context }) => report(context, readinessOf(context)) }] },
          { target: 'notReady', actions: ['cameOnline', { type: 'scheduleLeaseExpiry', params: leaseOf }, { type: 'reportNodeStatus', params: ({ context }) => report(context, readinessOf(context)) }] },
        ],
        'NodeDecommissioned.v1': { target: 'decommissioned', actions: ['decommissioned', { type: 'closeNodeSession', params: sessionOf }] },
      },
    },
    decommissioned: {
      // The stream is keyed by name, so a node re-created under the same name starts over here.
      on: { 'NodeRegistered.v1': { target: 'registering', actions: 'registered' } },
    },
  },
});

function leaseOf({ context }: { context: NodeContext }): { name: string; leaseDurationSeconds: number } {
  return { name: nameOf(context), leaseDurationSeconds: context.node?.leaseDurationSeconds ?? 0 };
}

function nameParams({ context }: { context: NodeContext }): { name: string } {
  return { name: nameOf(context) };
}

function sessionOf({ context }: { context: NodeContext }): { name: string; code: 4410; reason: 'node deleted' } {
  return { name: nameOf(context), code: 4410, reason: 'node deleted' };
}
