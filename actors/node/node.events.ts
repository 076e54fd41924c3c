// Node events: the facts of an edge node's life (registration, conditions, connectivity), and how
// recorded ones are read back and checked.
import { err, isJsonObject, ok, type JsonValue, type Result } from '../../kernel/index.js';
import type { EventDecodeError } from '../host/actor-kind.js';

/** The node conditions an edge reports, as Kubernetes names them. */
export const nodeConditionTypes = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'] as const;
export type NodeConditionType = (typeof nodeConditionTypes)[number];
export const conditionStatuses = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof conditionStatuses)[number];

/** A Kubernetes node condition; `lastTransitionTime` moves only when `status` changes. */
export type NodeCondition = {
  readonly type: NodeConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
};

export const nodeAddressTypes = ['InternalIP', 'ExternalIP', 'Hostname'] as const;
export type NodeAddress = { readonly type: (typeof nodeAddressTypes)[number]; readonly address: string };

/** What a node registers with: Kubernetes quantities are strings (`"4"`, `"8Gi"`). */
export type NodeInfo = {
  readonly name: string;
  readonly capacity: { readonly [resource: string]: string };
  readonly allocatable: { readonly [resource: string]: string };
  readonly labels: { readonly [label: string]: string };
  readonly addresses: readonly NodeAddress[];
  readonly leaseDurationSeconds: number;
};

export type OfflineReason = 'LeaseExpired' | 'CloudLinkLost';
export type OnlineVia = 'LeaseRenewed' | 'CloudLinkRestored';

/** Everything that can happen to a node. Times are RFC 3339 strings, as Kubernetes writes them. */
export type NodeEvent =
  | { readonly type: 'NodeRegistered.v1'; readonly data: { readonly node: NodeInfo; readonly conditions: readonly NodeCondition[]; readonly at: string } }
  | { readonly type: 'NodeRegistrationConfirmed.v1'; readonly data: { readonly at: string } }
  | { readonly type: 'NodeConditionsChanged.v1'; readonly data: { readonly conditions: readonly NodeCondition[]; readonly at: string } }
  | { readonly type: 'NodeWentOffline.v1'; readonly data: { readonly reason: OfflineReason; readonly at: string } }
  | { readonly type: 'NodeCameOnline.v1'; readonly data: { readonly via: OnlineVia; readonly at: string } }
  | { readonly type: 'NodeDecommissioned.v1'; readonly data: { readonly at: string } };

export type NodeEventType = NodeEvent['type'];

// A check returns why a value is malformed, or undefined when it is fine.
type Check = (value: unknown, path: string) => string | undefined;

const isString: Check = (v, p) => (typeof v === 'string' ? undefined : `${p} must be a string`);
const isNumber: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? undefined : `${p} must be a finite number`);
const oneOf =
  (allowed: readonly string[]): Check =>
  (v, p) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `${p} must be one of ${allowed.join(', ')}`;
const arrayOf =
  (item: Check): Check =>
  (v, p) =>
    Array.isArray(v) ? v.map((x, i) => item(x, `${p}[${i}]`)).find((e) => e !== undefined) : `${p} must be an array`;
const mapOf =
  (item: Check): Check =>
  (v, p) =>
    isJsonObject(v) ? Object.entries(v).map(([k, x]) => item(x, `${p}.${k}`)).find((e) => e !== undefined) : `${p} must be an object`;
const shape =
  (fields: Readonly<Record<string, Check>>): Check =>
  (v, p) =>
    isJsonObject(v) ? Object.entries(fields).map(([k, check]) => check(v[k], `${p}.${k}`)).find((e) => e !== undefined) : `${p} must be an object`;

const condition = shape({ type: oneOf(nodeConditionTypes), status: oneOf(conditionStatuses), reason: isString, message: isString, lastTransitionTime: isString });
const nodeInfo = shape({
  name: isString,
  capacity: mapOf(isString),
  allocatable: mapOf(isString),
  labels: mapOf(isString),
  addresses: arrayOf(shape({ type: oneOf(nodeAddressTypes), address: isString })),
  leaseDurationSeconds: isNumber,
});

const dataChecks: Readonly<Record<NodeEventType, Check>> = {
  'NodeRegistered.v1': shape({ node: nodeInfo, conditions: arrayOf(condition), at: isString }),
  'NodeRegistrationConfirmed.v1': shape({ at: isString }),
  'NodeConditionsChanged.v1': shape({ conditions: arrayOf(condition), at: isString }),
  'NodeWentOffline.v1': shape({ reason: oneOf(['LeaseExpired', 'CloudLinkLost']), at: isString }),
  'NodeCameOnline.v1': shape({ via: oneOf(['LeaseRenewed', 'CloudLinkRestored']), at: isString }),
  'NodeDecommissioned.v1': shape({ at: isString }),
};

const isNodeEventType = (type: string): type is NodeEventType => Object.hasOwn(dataChecks, type);

/**
 * Reads a recorded node event back. Every node event is still at its first version, so there is
 * nothing to upcast yet; a `.v2` would add its upcaster here.
 */
export function decodeNodeEvent(type: string, data: JsonValue): Result<NodeEvent, EventDecodeError> {
  if (!isNodeEventType(type)) return err({ kind: 'UnknownEventType', type, detail: 'not a node event' });
  const problem = dataChecks[type](data, 'data');
  if (problem !== undefined) return err({ kind: 'MalformedEventData', type, detail: problem });
  // The checks above are exactly the event's type, so this narrowing is sound.
  return ok({ type, data } as NodeEvent);
}
