// The node decider: which node events a command produces in a given state, or why it is refused.
import type { SnapshotFrom } from 'xstate';
import { assertNever, err, invariant, ok, type Decision } from '../../kernel/index.js';
import {
  conditionStatuses,
  nodeConditionTypes,
  type ConditionStatus,
  type NodeAddress,
  type NodeCondition,
  type NodeConditionType,
  type NodeEvent,
  type NodeInfo,
  type OfflineReason,
} from './node.events.js';
import type { nodeMachine } from './node.machine.js';

/** A condition as the edge observes it; the decider stamps `lastTransitionTime`. */
export type ConditionReport = { readonly type: NodeConditionType; readonly status: ConditionStatus; readonly reason: string; readonly message: string };

/** The label KubeEdge puts on every edge node; registration adds it when missing. */
export const edgeRoleLabel = 'node-role.kubernetes.io/edge';
/** KubeEdge's default `leaseDurationSeconds`. */
export const leaseDurationSecondsDefault = 40;
export const leaseDurationSecondsMax = 3600;

/**
 * What can be asked of a node. Time (`at`, RFC 3339) comes from the host's clock, so deciding is
 * pure. `ExpireLease` is the host's lease timer firing; it carries the last renewal the host saw
 * (renewals are not journaled).
 */
export type NodeCommand =
  | {
      readonly type: 'RegisterNode';
      readonly data: {
        readonly name: string;
        readonly capacity: { readonly [resource: string]: string };
        readonly allocatable: { readonly [resource: string]: string };
        readonly labels: { readonly [label: string]: string };
        readonly addresses: readonly NodeAddress[];
        readonly leaseDurationSeconds?: number;
        /** The node's first conditions; types not given start healthy (an edge that registers is up). */
        readonly conditions?: readonly ConditionReport[];
        readonly at: string;
      };
    }
  | { readonly type: 'ConfirmRegistration'; readonly data: { readonly at: string } }
  | { readonly type: 'ReportConditions'; readonly data: { readonly conditions: readonly ConditionReport[]; readonly at: string } }
  | { readonly type: 'RenewLease'; readonly data: { readonly at: string } }
  | { readonly type: 'ExpireLease'; readonly data: { readonly at: string; readonly lastRenewedAt: string | null } }
  | { readonly type: 'MarkOffline'; readonly data: { readonly at: string } }
  | { readonly type: 'MarkOnline'; readonly data: { readonly at: string } }
  | { readonly type: 'DecommissionNode'; readonly data: { readonly at: string } };

export type NodeRejection =
  | { readonly kind: 'NotRegistered' }
  | { readonly kind: 'AlreadyRegistered'; readonly name: string }
  | { readonly kind: 'InvalidNodeName'; readonly name: string }
  | { readonly kind: 'InvalidLeaseDuration'; readonly leaseDurationSeconds: number }
  | { readonly kind: 'InvalidCondition'; readonly detail: string }
  | { readonly kind: 'InvalidTime'; readonly at: string };

type Registered = { readonly node: NodeInfo; readonly conditions: readonly NodeCondition[] };

/** The node as the decider sees it: a union on `status` (STYLE R4). */
export type NodeState =
  | { readonly status: 'absent' }
  | ({ readonly status: 'registering'; readonly registeredAt: string } & Registered)
  | ({ readonly status: 'ready' | 'notReady'; readonly lastSeenAt: string } & Registered)
  | ({ readonly status: 'offline'; readonly lastSeenAt: string; readonly offline: { readonly reason: OfflineReason; readonly since: string } } & Registered)
  | { readonly status: 'decommissioned'; readonly name: string; readonly decommissionedAt: string };

export type NodeStatus = NodeState['status'];

/** Projects the machine snapshot: its state value is the status, its context the data. */
export function nodeStateOf(snapshot: SnapshotFrom<typeof nodeMachine>): NodeState {
  const status = snapshot.value;
  const c = snapshot.context;
  switch (status) {
    case 'absent':
      return { status };
    case 'decommissioned':
      invariant(c.node !== null && c.decommissionedAt !== null, 'a decommissioned node was registered once');
      return { status, name: c.node.name, decommissionedAt: c.decommissionedAt };
    case 'registering':
      invariant(c.node !== null && c.registeredAt !== null, 'a registering node has its info');
      return { status, node: c.node, conditions: c.conditions, registeredAt: c.registeredAt };
    case 'ready':
    case 'notReady':
      invariant(c.node !== null && c.lastSeenAt !== null, 'a confirmed node has been seen');
      return { status, node: c.node, conditions: c.conditions, lastSeenAt: c.lastSeenAt };
    case 'offline':
      invariant(c.node !== null && c.lastSeenAt !== null && c.offline !== null, 'an offline node was online once');
      return { status, node: c.node, conditions: c.conditions, lastSeenAt: c.lastSeenAt, offline: c.offline };
    default:
      return assertNever(status);
  }
}

type NodeDecision = Decision<NodeEvent, NodeRejection>;
const notRegistered: NodeDecision = err({ kind: 'NotRegistered' });

/** Decides a node command. Pure: the same command in the same state always decides the same. */
export function decideNode(command: NodeCommand, state: NodeState): NodeDecision {
  if (Number.isNaN(Date.parse(command.data.at))) return err({ kind: 'InvalidTime', at: command.data.at });
  switch (command.type) {
    case 'RegisterNode':
      return register(command.data, state);
    case 'ConfirmRegistration':
      if (state.status === 'registering') return ok([{ type: 'NodeRegistrationConfirmed.v1', data: { at: command.data.at } }]);
      return isLive(state) ? ok([]) : notRegistered;
    case 'ReportConditions':
      return isLive(state) ? reportConditions(command.data.conditions, command.data.at, state) : notRegistered;
    case 'RenewLease':
      // A renewal of a node the cloud can hear changes nothing worth journaling.
      if (state.status === 'offline') return ok([{ type: 'NodeCameOnline.v1', data: { via: 'LeaseRenewed', at: command.data.at } }]);
      return isLive(state) ? ok([]) : notRegistered;
    case 'ExpireLease':
      return expireLease(command.data, state);
    case 'MarkOffline':
      if (state.status === 'ready' || state.status === 'notReady') return ok([{ type: 'NodeWentOffline.v1', data: { reason: 'CloudLinkLost', at: command.data.at } }]);
      return isLive(state) ? ok([]) : notRegistered;
    case 'MarkOnline':
      if (state.status === 'offline') return ok([{ type: 'NodeCameOnline.v1', data: { via: 'CloudLinkRestored', at: command.data.at } }]);
      return isLive(state) ? ok([]) : notRegistered;
    case 'DecommissionNode':
      if (state.status === 'decommissioned') return ok([]);
      return isLive(state) ? ok([{ type: 'NodeDecommissioned.v1', data: { at: command.data.at } }]) : notRegistered;
    default:
      return assertNever(command);
  }
}

const isLive = (state: NodeState): state is Extract<NodeState, Registered> => state.status !== 'absent' && state.status !== 'decommissioned';

// DNS-1123 subdomain, as Kubernetes requires of node names.
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function register(data: Extract<NodeCommand, { type: 'RegisterNode' }>['data'], state: NodeState): NodeDecision {
  if (data.name.length > 253 || !dns1123Subdomain.test(data.name)) return err({ kind: 'InvalidNodeName', name: data.name });
  const leaseDurationSeconds = data.leaseDurationSeconds ?? leaseDurationSecondsDefault;
  if (!Number.isInteger(leaseDurationSeconds) || leaseDurationSeconds < 1 || leaseDurationSeconds > leaseDurationSecondsMax) {
    return err({ kind: 'InvalidLeaseDuration', leaseDurationSeconds });
  }
  const reported = checkConditions(data.conditions ?? []);
  if (!reported.ok) return reported;
  const node: NodeInfo = {
    name: data.name,
    capacity: data.capacity,
    allocatable: data.allocatable,
    labels: { ...data.labels, [edgeRoleLabel]: data.labels[edgeRoleLabel] ?? '' },
    addresses: data.addresses,
    leaseDurationSeconds,
  };
  if (isLive(state)) return sameJson(state.node, node) ? ok([]) : err({ kind: 'AlreadyRegistered', name: state.node.name });
  const conditions = healthyConditions(data.at).map((c) => {
    const given = reported.value.find((r) => r.type === c.type);
    return given === undefined ? c : { ...given, lastTransitionTime: data.at };
  });
  return ok([{ type: 'NodeRegistered.v1', data: { node, conditions, at: data.at } }]);
}

/** The conditions of an edge that is up: KubeEdge's edged reports these reasons. */
const healthyConditions = (at: string): NodeCondition[] => [
  { type: 'Ready', status: 'True', reason: 'EdgeReady', message: 'edge is posting ready status', lastTransitionTime: at },
  { type: 'MemoryPressure', status: 'False', reason: 'EdgeHasSufficientMemory', message: 'edge has sufficient memory available', lastTransitionTime: at },
  { type: 'DiskPressure', status: 'False', reason: 'EdgeHasNoDiskPressure', message: 'edge has no disk pressure', lastTransitionTime: at },
  { type: 'PIDPressure', status: 'False', reason: 'EdgeHasSufficientPID', message: 'edge has sufficient PID available', lastTransitionTime: at },
  { type: 'NetworkUnavailable', status: 'False', reason: 'EdgeNetworkReady', message: 'edge network is ready', lastTransitionTime: at },
];

function checkConditions(conditions: readonly ConditionReport[]): { ok: true; value: readonly ConditionReport[] } | { ok: false; error: NodeRejection } {
  for (const [i, c] of conditions.entries()) {
    if (!nodeConditionTypes.includes(c.type)) return err({ kind: 'InvalidCondition', detail: `unknown condition type ${JSON.stringify(c.type)}` });
    if (!conditionStatuses.includes(c.status)) return err({ kind: 'InvalidCondition', detail: `${c.type} has status ${JSON.stringify(c.status)}` });
    if (conditions.findIndex((x) => x.type === c.type) !== i) return err({ kind: 'InvalidCondition', detail: `${c.type} reported twice` });
  }
  return ok(conditions);
}

/** Only conditions whose status, reason or message changed are recorded (heartbeats are not). */
function reportConditions(conditions: readonly ConditionReport[], at: string, state: Extract<NodeState, Registered>): NodeDecision {
  const checked = checkConditions(conditions);
  if (!checked.ok) return checked;
  const changed = checked.value.flatMap((c): NodeCondition[] => {
    const before = state.conditions.find((x) => x.type === c.type);
    if (before !== undefined && before.status === c.status && before.reason === c.reason && before.message === c.message) return [];
    const lastTransitionTime = before !== undefined && before.status === c.status ? before.lastTransitionTime : at;
    return [{ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime }];
  });
  return changed.length === 0 ? ok([]) : ok([{ type: 'NodeConditionsChanged.v1', data: { conditions: changed, at } }]);
}

/**
 * The host's lease timer fired. The lease has expired only if no renewal came within the lease
 * duration, counting from the later of the last renewal the host saw and the last journaled sign
 * of life; a timer that fired late for an already renewed lease decides nothing.
 */
function expireLease(data: { readonly at: string; readonly lastRenewedAt: string | null }, state: NodeState): NodeDecision {
  if (state.status !== 'ready' && state.status !== 'notReady') return ok([]);
  const renewed = data.lastRenewedAt === null ? Number.NEGATIVE_INFINITY : Date.parse(data.lastRenewedAt);
  if (Number.isNaN(renewed)) return err({ kind: 'InvalidTime', at: String(data.lastRenewedAt) });
  const lastSign = Math.max(renewed, Date.parse(state.lastSeenAt));
  if (Date.parse(data.at) - lastSign < state.node.leaseDurationSeconds * 1000) return ok([]);
  return ok([{ type: 'NodeWentOffline.v1', data: { reason: 'LeaseExpired', at: data.at } }]);
}

/** Structural equality of JSON data, ignoring key order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
