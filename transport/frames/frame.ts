// The frames of the cloud–edge stream: KubeEdge's beehive message JSON (kubeedge-reference §1.1)
// with edgehive's `seq`/`ack` header fields, typed per frame kind, and the constants the protocol
// names (PROTOCOL.md, DESIGN.md, kubeedge-reference §1.2–1.5).
import { invariant, type JsonObject, type JsonValue } from '../../kernel/index.js';
import {
  formatWireResource,
  isObjectName,
  isWellFormedResource,
  type DeviceEventResource,
  type EventBusResource,
  type ObjectResource,
  type WireResource,
} from './resource.js';
import { stripManagedFields } from './desired-content.js';

/** The stream protocol this code speaks; a hello with another version is the session's to refuse. */
export const PROTOCOL_VERSION = 1;

/** KubeEdge's operations (kubeedge-reference §1.2), spelled as on the wire. */
export const KUBEEDGE_OPERATIONS = [
  'insert',
  'update',
  'patch',
  'delete',
  'query',
  'response',
  'error',
  'upload',
  'keepalive',
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'message',
  'get_result',
  'start',
  'stop',
  'connected',
  'disconnected',
  'get',
  'detail',
  'updated',
  'deleted',
  'delta',
  'document',
  'list',
  'unhold-upgrade',
  'createvolume',
  'deletevolume',
  'controllerpublishvolume',
  'controllerunpublishvolume',
  'applicationResponse',
] as const;
/** The operations edgehive adds for its own handshake, cumulative acks and the end-of-pass marker (PROTOCOL.md). */
export const EDGEHIVE_OPERATIONS = ['hello', 'ack', 'synced'] as const;
export type Operation = (typeof KUBEEDGE_OPERATIONS)[number] | (typeof EDGEHIVE_OPERATIONS)[number];

/** KubeEdge module names (kubeedge-reference §1.5); `route.source` names the sending module. */
export const Modules = {
  edgeHub: 'websocket',
  metaManager: 'metamanager',
  edged: 'edged',
  twin: 'twin',
  eventBus: 'eventbus',
  serviceBus: 'servicebus',
  edgeStream: 'edgestream',
  taskManager: 'taskmanager',
  cloudHub: 'cloudhub',
  edgeController: 'edgecontroller',
  deviceController: 'devicecontroller',
  syncController: 'synccontroller',
  dynamicController: 'dynamiccontroller',
  cloudStream: 'cloudStream',
  router: 'router',
  /** The Router's service-bus target: cloud calls of an HTTP app at the edge (kubeedge-reference §6). */
  routerServiceBus: 'router_servicebus',
  /** The Router's EventBus target: messages the cloud publishes on an edge's broker (kubeedge-reference §6). */
  routerEventBus: 'router_eventbus',
  policyController: 'policycontroller',
  nodeUpgradeJobController: 'nodeupgradejobcontroller',
} as const;
export type ModuleName = (typeof Modules)[keyof typeof Modules];

/** Group names: each module's own group (kubeedge-reference §1.5), the wire groups, and edgehive's. */
export const Groups = {
  hub: 'hub',
  meta: 'meta',
  edged: 'edged',
  twin: 'twin',
  bus: 'bus',
  edgeStream: 'edgestream',
  taskManager: 'taskmanager',
  cloudHub: 'cloudhub',
  edgeController: 'edgecontroller',
  deviceController: 'devicecontroller',
  syncController: 'synccontroller',
  dynamicController: 'dynamiccontroller',
  cloudStream: 'cloudStream',
  router: 'router',
  resource: 'resource',
  func: 'func',
  user: 'user',
  edgehive: 'edgehive',
} as const;

/** Which group each module belongs to (kubeedge-reference §1.5). */
export const MODULE_GROUPS: { readonly [M in ModuleName]: string } = {
  websocket: Groups.hub,
  metamanager: Groups.meta,
  edged: Groups.edged,
  twin: Groups.twin,
  eventbus: Groups.bus,
  servicebus: Groups.bus,
  edgestream: Groups.edgeStream,
  taskmanager: Groups.taskManager,
  cloudhub: Groups.cloudHub,
  edgecontroller: Groups.edgeController,
  devicecontroller: Groups.deviceController,
  synccontroller: Groups.syncController,
  dynamiccontroller: Groups.dynamicController,
  cloudStream: Groups.cloudStream,
  router: Groups.router,
  router_servicebus: Groups.user,
  router_eventbus: Groups.user,
  policycontroller: 'policycontroller',
  nodeupgradejobcontroller: 'nodeupgradejobcontroller',
};

const edgeModules: ReadonlySet<string> = new Set(['websocket', 'metamanager', 'edged', 'twin', 'eventbus', 'servicebus', 'edgestream', 'taskmanager']);
const cloudModules: ReadonlySet<string> = new Set(['cloudhub', 'edgecontroller', 'devicecontroller', 'synccontroller', 'dynamiccontroller', 'cloudStream', 'router', 'router_servicebus', 'router_eventbus', 'taskmanager', 'policycontroller', 'nodeupgradejobcontroller']);
export const isModuleName = (s: string): s is ModuleName => edgeModules.has(s) || cloudModules.has(s);

/**
 * The groups edgehive puts on the wire and the operations it accepts in each; anything else is
 * undecodable. Group `user` carries service-bus calls and EventBus messages only: KubeEdge names the
 * HTTP method in the operation, edgehive sends them as queries with the method in the content
 * (HTTPRequest.method), so they ride the stream's one request/response path; the Router's publishes
 * on an edge's broker are queries too, and an edge app's uploads are sequenced up events (`upload`).
 */
export const GROUP_OPERATIONS = {
  edgehive: ['hello', 'keepalive', 'ack', 'synced', 'query', 'response', 'error'],
  resource: ['insert', 'update', 'patch', 'delete', 'query', 'response', 'error'],
  user: ['query', 'response', 'error', 'upload'],
} as const;
export type WireGroup = keyof typeof GROUP_OPERATIONS;

/** Service-bus and EventBus resources travel in group `user` and group `user` carries nothing else. */
export const isGroupOfResource = (group: WireGroup, resource: WireResource): boolean =>
  (group === Groups.user) === (resource.kind === 'serviceBus' || resource.kind === 'eventBus');

/** The session's own module on each side: EdgeHub's name `websocket`, and `cloudhub`. */
export const SESSION_SOURCES = { edge: Modules.edgeHub, cloud: Modules.cloudHub } as const;
export type SessionSource = (typeof SESSION_SOURCES)[keyof typeof SESSION_SOURCES];
export type Side = keyof typeof SESSION_SOURCES;

/** Edge modules whose reports go up as sequenced events (they write to the outbox). */
export const UP_SOURCES = ['edged', 'metamanager', 'twin', 'eventbus', 'servicebus'] as const;
export type UpSource = (typeof UP_SOURCES)[number];
/** Cloud modules whose desired objects and tombstones go down as sequenced frames. */
export const DOWN_SOURCES = ['edgecontroller', 'devicecontroller', 'synccontroller'] as const;
export type DownSource = (typeof DOWN_SOURCES)[number];

/** Operations of sequenced up events; down is level-based, so it has no `patch`. */
export const UP_OPERATIONS = ['insert', 'update', 'patch', 'delete'] as const;
export type UpOperation = (typeof UP_OPERATIONS)[number];

/** The types a node's desired set can hold (PROTOCOL.md "Down"); no other type ever goes down. */
export const DESIRED_RESOURCE_TYPES = ['pod', 'configmap', 'secret', 'service', 'endpoints', 'node', 'device', 'devicemodel'] as const;
export type DesiredResourceType = (typeof DESIRED_RESOURCE_TYPES)[number];

/** The websocket close reason limit: a close frame's payload is 125 bytes, 2 of them the code. */
export const CLOSE_REASON_BYTES_MAX = 123;

/** Close codes the stream uses, each with its default reason (PROTOCOL.md, DESIGN.md). */
export const Close = {
  /** A frame that is not UTF-8, not JSON, or not a well-formed frame. */
  undecodable: { code: 1007, reason: 'undecodable frame' },
  /** A frame over `frameBytesMax`. */
  tooLarge: { code: 1009, reason: 'frame too large' },
  /** This cloud process could not renew the node's Lease in time; another one takes over. */
  serviceRestart: { code: 1012, reason: 'node lease not renewed; reconnect' },
  /** A connection or frames speaking for another node (mTLS CN, path, header or repeated violations). */
  forbidden: { code: 4403, reason: 'forbidden' },
  /** The Node was deleted: the edge is decommissioned and reconnects are refused. */
  nodeDeleted: { code: 4410, reason: 'node deleted' },
} as const;
export type CloseCode = (typeof Close)[keyof typeof Close]['code'];

/**
 * Makes any text a valid close reason: printable ASCII (others escaped as `\uXXXX`, so a peer's
 * bytes never reach a log or terminal raw) and at most 123 bytes, cut with `...`.
 */
export function closeReason(text: string): string {
  let ascii = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    ascii += code >= 0x20 && code <= 0x7e ? ch : `\\u${code.toString(16).padStart(4, '0')}`;
    if (ascii.length > CLOSE_REASON_BYTES_MAX) break;
  }
  return ascii.length <= CLOSE_REASON_BYTES_MAX ? ascii : `${ascii.slice(0, CLOSE_REASON_BYTES_MAX - 3)}...`;
}

/** Longest id (`msg_id`, uid, clusterId, journalId) accepted: UUIDs are 36, prefixed ids fit. */
export const ID_CHARS_MAX = 128;
/** Longest free-text header or route field (`header.type`, `route.destination`). */
export const LABEL_CHARS_MAX = 256;

const resourceVersionPattern = /^(0|[1-9][0-9]{0,19})$/;

/** An id: 1–128 printable ASCII characters without spaces. */
export const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= ID_CHARS_MAX && isPrintableAscii(v);

/** Every char in 0x21-0x7e; a loop, as the regular expression cost a tenth of the frame decoder (it runs on every msg_id). */
function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
/**
 * A resourceVersion: decimal, as KubeEdge compares them as unsigned integers and the edge orders
 * revisions of one uid by it (PROTOCOL.md "Down").
 */
export const isResourceVersion = (v: unknown): v is string => typeof v === 'string' && resourceVersionPattern.test(v);
/** A sequence position: 1 for the first sequenced frame, so 0 can mean "nothing yet". */
export const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
/** A cumulative ack or resume position: 0 when nothing is applied yet. */
export const isPosition = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** A beehive timestamp: milliseconds since the epoch. */
export const isTimestampMs = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
export const isProtocolVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/** The beehive header exactly as KubeEdge writes it, plus edgehive's `seq` and `ack`. */
export type BeehiveHeader = {
  readonly msg_id: string;
  readonly parent_msg_id?: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly resourceversion?: string;
  readonly sync?: boolean;
  /** Beehive context type; passed through, never interpreted. */
  readonly type?: string;
  /** Position in this direction's sequence, on sequenced frames only. */
  readonly seq?: number;
  /** Cumulative: everything up to here is durably applied. */
  readonly ack?: number;
};
/** The beehive route (the key is `route`, never `router`). */
export type BeehiveRoute = {
  readonly source: string;
  readonly destination?: string;
  readonly group: string;
  readonly operation: string;
  readonly resource: string;
};
/** One websocket text frame: a beehive message (kubeedge-reference §1.1). */
export type BeehiveMessage = { readonly header: BeehiveHeader; readonly route: BeehiveRoute; readonly content: JsonValue };

/** Header fields every frame may carry. Empty strings and `sync: false` are absent, as Go's omitempty writes them. */
type CommonHeader = { readonly msg_id: string; readonly timestamp: number; readonly resourceversion?: string; readonly type?: string };
export type HelloHeader = CommonHeader;
export type PlainHeader = CommonHeader & { readonly ack?: number };
export type AckHeader = CommonHeader & { readonly ack: number };
export type SequencedHeader = CommonHeader & { readonly seq: number; readonly ack?: number };
export type DownHeader = SequencedHeader & { readonly resourceversion: string };
export type QueryHeader = CommonHeader & { readonly sync: true; readonly ack?: number };
export type ReplyHeader = CommonHeader & { readonly parent_msg_id: string; readonly ack?: number };

type Route<S extends string, G extends string, O extends string> = {
  readonly source: S;
  readonly destination?: string;
  readonly group: G;
  readonly operation: O;
  readonly resource: string;
};

/** The node a session frame speaks for: `null/node/<nodeName>`. */
export type NodeResource = ObjectResource & { readonly namespace: null; readonly type: 'node' };

/**
 * The edge's hello. `clusterId` is the cluster the edge recorded (null before its first
 * handshake) and `journalId` its own journal's id. It carries no down position: down `seq` is per
 * connection and the cloud recomputes pending from its persisted `acked` map (PROTOCOL.md "Down").
 */
export type EdgeHelloContent = {
  readonly protocolVersion: number;
  readonly nodeName: string;
  readonly clusterId: string | null;
  readonly journalId: string;
  /** Outbox entries through here may be compacted: a cloud without a record resumes after it. */
  readonly upFloor: number;
  /** The last outbox seq committed. */
  readonly outboxHead: number;
};
/**
 * The cloud's hello, sent after the edge's. `clusterId` is the uid of namespace kube-system,
 * `journalId` the edge journal the cloud recorded for this node (null if none), and `upAcked` the
 * last up seq it applied: the edge resumes right after it (PROTOCOL.md "Up").
 */
export type CloudHelloContent = {
  readonly protocolVersion: number;
  readonly nodeName: string;
  readonly clusterId: string;
  readonly journalId: string | null;
  readonly upAcked: number;
  /** `full`: both sides dropped their ack records (clusterId or journalId changed); down starts over. */
  readonly sync: 'resume' | 'full';
};

/** Desired-object content: a Kubernetes object whose metadata names it and carries its uid. */
export type ObjectContent = JsonObject & { readonly metadata: JsonObject & { readonly uid: string; readonly name: string } };
/** A tombstone's content: the uid that is no longer desired; its deletion resourceVersion is in the header. */
export type TombstoneContent = { readonly uid: string };

export type EdgeHelloFrame = {
  readonly kind: 'edgeHello';
  readonly header: HelloHeader;
  readonly route: Route<'websocket', 'edgehive', 'hello'>;
  readonly content: EdgeHelloContent;
  readonly target: NodeResource;
};
export type CloudHelloFrame = {
  readonly kind: 'cloudHello';
  readonly header: HelloHeader;
  readonly route: Route<'cloudhub', 'edgehive', 'hello'>;
  readonly content: CloudHelloContent;
  readonly target: NodeResource;
};
/** Liveness, both ways (content `"ping"` as KubeEdge's heartbeat); may piggyback an ack. */
export type KeepaliveFrame = {
  readonly kind: 'keepalive';
  readonly header: PlainHeader;
  readonly route: Route<SessionSource, 'edgehive', 'keepalive'>;
  readonly content: 'ping';
  readonly target: NodeResource;
};
/**
 * The end of a down pass (cloud → edge, sequenced): everything desired at this point was sent on
 * this connection or acknowledged before it. After a full resync the edge removes what the pass did
 * not confirm when it applies this marker.
 */
export type SyncedFrame = {
  readonly kind: 'synced';
  readonly header: SequencedHeader;
  readonly route: Route<'cloudhub', 'edgehive', 'synced'>;
  readonly content: null;
  readonly target: NodeResource;
};
/** A cumulative ack sent alone, when no other frame is going out to carry it. */
export type AckFrame = {
  readonly kind: 'ack';
  readonly header: AckHeader;
  readonly route: Route<SessionSource, 'edgehive', 'ack'>;
  readonly content: null;
  readonly target: NodeResource;
};
/**
 * An edge event from the outbox (edge → cloud), `seq` its gap-free outbox position: a report on an
 * object or device (group `resource`), or an edge app's EventBus upload (group `user`, `upload`).
 */
export type UpEventFrame = {
  readonly kind: 'upEvent';
  readonly header: SequencedHeader;
  readonly route: Route<UpSource, 'resource' | 'user', UpOperation | 'upload'>;
  readonly content: JsonValue;
  readonly target: ObjectResource | DeviceEventResource | EventBusResource;
};
/** A desired object (cloud → edge), `resourceversion` its revision, `seq` per connection. */
export type DownObjectFrame = {
  readonly kind: 'downObject';
  readonly header: DownHeader;
  readonly route: Route<DownSource, 'resource', 'insert' | 'update'>;
  readonly content: ObjectContent;
  readonly target: ObjectResource & { readonly type: DesiredResourceType };
};
/** An acked object that is no longer desired (cloud → edge): uid and deletion resourceVersion. */
export type DownTombstoneFrame = {
  readonly kind: 'downTombstone';
  readonly header: DownHeader;
  readonly route: Route<DownSource, 'resource', 'delete'>;
  readonly content: TombstoneContent;
  readonly target: ObjectResource & { readonly type: DesiredResourceType };
};
/** A request (`sync: true`), not sequenced; the caller retries after a reconnect. */
export type QueryFrame = {
  readonly kind: 'query';
  readonly header: QueryHeader;
  readonly route: Route<ModuleName, WireGroup, 'query'>;
  readonly content: JsonValue;
  readonly target: WireResource;
};
/** The answer to a query, `parent_msg_id` naming it. */
export type ResponseFrame = {
  readonly kind: 'response';
  readonly header: ReplyHeader;
  readonly route: Route<ModuleName, WireGroup, 'response'>;
  readonly content: JsonValue;
  readonly target: WireResource;
};
/** A query that failed, `content` the error text (KubeEdge's error construction). */
export type ErrorFrame = {
  readonly kind: 'error';
  readonly header: ReplyHeader;
  readonly route: Route<ModuleName, WireGroup, 'error'>;
  readonly content: string;
  readonly target: WireResource;
};

/**
 * Every frame edgehive sends or accepts. `kind` and `target` (the parsed `route.resource`) are
 * derived on decode and never written: the wire carries only `header`, `route` and `content`.
 */
export type Frame =
  | EdgeHelloFrame
  | CloudHelloFrame
  | KeepaliveFrame
  | AckFrame
  | SyncedFrame
  | UpEventFrame
  | DownObjectFrame
  | DownTombstoneFrame
  | QueryFrame
  | ResponseFrame
  | ErrorFrame;
export type FrameKind = Frame['kind'];
export type SequencedFrame = UpEventFrame | DownObjectFrame | DownTombstoneFrame | SyncedFrame;

export const isSequenced = (frame: Frame): frame is SequencedFrame =>
  frame.kind === 'upEvent' || frame.kind === 'downObject' || frame.kind === 'downTombstone' || frame.kind === 'synced';

/** The side that may send a frame, so a session can refuse a frame travelling the wrong way. */
export function senderSide(frame: Frame): Side | 'either' {
  switch (frame.kind) {
    case 'edgeHello':
    case 'upEvent':
      return 'edge';
    case 'cloudHello':
    case 'synced':
    case 'downObject':
    case 'downTombstone':
      return 'cloud';
    case 'keepalive':
    case 'ack':
      return frame.route.source === SESSION_SOURCES.edge ? 'edge' : 'cloud';
    case 'query':
    case 'response':
    case 'error':
      return sideOfModule(frame.route.source);
  }
}

const sideOfModule = (m: ModuleName): Side | 'either' => {
  if (edgeModules.has(m) && cloudModules.has(m)) return 'either';
  return edgeModules.has(m) ? 'edge' : 'cloud';
};

/**
 * True when the handshake ends in a full resync: the cloud is not the cluster the edge recorded,
 * or the edge journal is not the one the cloud recorded (PROTOCOL.md "Connection"). Both sides
 * hold both hellos after the exchange, so they reach the same answer.
 */
export const isFullResync = (edge: EdgeHelloContent, cloud: CloudHelloContent): boolean =>
  edge.clusterId !== cloud.clusterId || cloud.journalId !== edge.journalId;

/** What every builder needs: a fresh id and the time, supplied by the caller (STYLE R3, R8). */
export type Stamp = { readonly msgId: string; readonly timestampMs: number };

const commonHeader = (stamp: Stamp, ack?: number): PlainHeader => {
  invariant(isId(stamp.msgId), 'msg_id is 1-128 printable ASCII characters');
  invariant(isTimestampMs(stamp.timestampMs), 'timestamp is a non-negative integer of milliseconds');
  invariant(ack === undefined || isPosition(ack), 'ack is a non-negative safe integer');
  return { msg_id: stamp.msgId, timestamp: stamp.timestampMs, ...(ack === undefined ? {} : { ack }) };
};

const nodeTarget = (nodeName: string): NodeResource => {
  invariant(isObjectName(nodeName), 'a node name is a DNS-1123 subdomain');
  return { kind: 'object', namespace: null, type: 'node', name: nodeName };
};

/** Checks a builder's resource the way the decoder will, so a built frame always decodes. */
/** Resource strings already checked: a node sends the same few over and over (bounded, reset when full). */
const wellFormed = new Set<string>();
const WELL_FORMED_CACHED_MAX = 10_000;

const checkedResource = (resource: WireResource): string => {
  const text = formatWireResource(resource);
  // A topic may read like another resource string; it is checked under a key of its own.
  const key = resource.kind === 'eventBus' ? `topic ${text}` : text;
  if (wellFormed.has(key)) return text;
  invariant(isWellFormedResource(resource), `resource ${text} is well-formed and scoped as its type`);
  if (wellFormed.size >= WELL_FORMED_CACHED_MAX) wellFormed.clear();
  wellFormed.add(key);
  return text;
};

export function edgeHelloFrame(stamp: Stamp, content: EdgeHelloContent): EdgeHelloFrame {
  invariant(isProtocolVersion(content.protocolVersion), 'protocol version is a positive integer');
  invariant(content.clusterId === null || isId(content.clusterId), 'clusterId is an id or null');
  invariant(isId(content.journalId), 'journalId is an id');
  invariant(isPosition(content.upFloor) && isPosition(content.outboxHead), 'outbox positions are non-negative safe integers');
  invariant(content.upFloor <= content.outboxHead, 'the outbox floor is at most its head');
  const target = nodeTarget(content.nodeName);
  return {
    kind: 'edgeHello',
    header: commonHeader(stamp),
    route: { source: 'websocket', group: 'edgehive', operation: 'hello', resource: formatWireResource(target) },
    content,
    target,
  };
}

export function cloudHelloFrame(stamp: Stamp, content: CloudHelloContent): CloudHelloFrame {
  invariant(isProtocolVersion(content.protocolVersion), 'protocol version is a positive integer');
  invariant(isId(content.clusterId), 'clusterId is an id');
  invariant(content.journalId === null || isId(content.journalId), 'journalId is an id or null');
  invariant(isPosition(content.upAcked), 'upAcked is a non-negative safe integer');
  invariant(content.sync === 'resume' || content.sync === 'full', 'sync mode is resume or full');
  const target = nodeTarget(content.nodeName);
  return {
    kind: 'cloudHello',
    header: commonHeader(stamp),
    route: { source: 'cloudhub', group: 'edgehive', operation: 'hello', resource: formatWireResource(target) },
    content,
    target,
  };
}

export function keepaliveFrame(stamp: Stamp, of: { readonly from: Side; readonly nodeName: string; readonly ack?: number }): KeepaliveFrame {
  const target = nodeTarget(of.nodeName);
  const route = { source: SESSION_SOURCES[of.from], group: 'edgehive', operation: 'keepalive', resource: formatWireResource(target) } as const;
  return { kind: 'keepalive', header: commonHeader(stamp, of.ack), route, content: 'ping', target };
}

export function ackFrame(stamp: Stamp, of: { readonly from: Side; readonly nodeName: string; readonly ack: number }): AckFrame {
  const target = nodeTarget(of.nodeName);
  const route = { source: SESSION_SOURCES[of.from], group: 'edgehive', operation: 'ack', resource: formatWireResource(target) } as const;
  return { kind: 'ack', header: { ...commonHeader(stamp), ack: checkedAck(of.ack) }, route, content: null, target };
}

/** The synced marker ending a down pass (cloud → edge), sequenced like the objects before it. */
export function syncedFrame(stamp: Stamp, of: { readonly nodeName: string; readonly seq: number; readonly ack?: number }): SyncedFrame {
  const target = nodeTarget(of.nodeName);
  const route = { source: 'cloudhub', group: 'edgehive', operation: 'synced', resource: formatWireResource(target) } as const;
  return { kind: 'synced', header: sequencedHeader(stamp, of.seq, of.ack), route, content: null, target };
}

const checkedAck = (ack: number): number => {
  invariant(isPosition(ack), 'ack is a non-negative safe integer');
  return ack;
};

const sequencedHeader = (stamp: Stamp, seq: number, ack?: number): SequencedHeader => {
  invariant(isSeq(seq), 'seq is a safe integer >= 1');
  return { ...commonHeader(stamp, ack), seq };
};

export type UpEventInput = {
  readonly source: UpSource;
  /** `upload` exactly when the resource is an EventBus topic. */
  readonly operation: UpOperation | 'upload';
  readonly resource: ObjectResource | DeviceEventResource | EventBusResource;
  readonly content: JsonValue;
  readonly seq: number;
  readonly ack?: number;
  readonly resourceVersion?: string;
  /** Beehive's context type: edgehive puts the event's versioned type here. */
  readonly type?: string;
};

export function upEventFrame(stamp: Stamp, input: UpEventInput): UpEventFrame {
  invariant(input.resource.kind !== 'deviceEvent' || input.operation === 'update', 'device events are updates');
  invariant((input.resource.kind === 'eventBus') === (input.operation === 'upload'), 'EventBus topics go up as uploads, and only they');
  invariant(input.resourceVersion === undefined || isResourceVersion(input.resourceVersion), 'resourceVersion is decimal');
  const header: { -readonly [K in keyof SequencedHeader]: SequencedHeader[K] } = sequencedHeader(stamp, input.seq, input.ack);
  if (input.resourceVersion !== undefined) header.resourceversion = input.resourceVersion;
  if (input.type !== undefined) header.type = input.type;
  return {
    kind: 'upEvent',
    header,
    route: { source: input.source, group: input.resource.kind === 'eventBus' ? 'user' : 'resource', operation: input.operation, resource: checkedResource(input.resource) },
    content: input.content,
    target: input.resource,
  };
}

export type DownObjectInput = {
  readonly source?: DownSource;
  readonly operation: 'insert' | 'update';
  readonly type: DesiredResourceType;
  /** The object as the API serves it; managedFields are stripped here, as PROTOCOL.md requires. */
  readonly object: ObjectContent;
  readonly seq: number;
  readonly ack?: number;
};

/** Builds a desired-object frame; resource and resourceversion come from the object's metadata. */
export function downObjectFrame(stamp: Stamp, input: DownObjectInput): DownObjectFrame {
  const { metadata } = input.object;
  const namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : null;
  const resourceVersion = metadata['resourceVersion'];
  invariant(isResourceVersion(resourceVersion), 'a desired object has a decimal metadata.resourceVersion');
  invariant(isId(metadata.uid), 'a desired object has a metadata.uid');
  const target = { kind: 'object', namespace, type: input.type, name: metadata.name } as const;
  return {
    kind: 'downObject',
    header: { ...sequencedHeader(stamp, input.seq, input.ack), resourceversion: resourceVersion },
    route: { source: input.source ?? 'edgecontroller', group: 'resource', operation: input.operation, resource: checkedResource(target) },
    content: stripManagedFields(input.object),
    target,
  };
}

export type DownTombstoneInput = {
  readonly source?: DownSource;
  readonly resource: ObjectResource & { readonly type: DesiredResourceType };
  readonly uid: string;
  /** The resourceVersion at which the object left the desired set (its deletion, or the change that unbound it). */
  readonly resourceVersion: string;
  readonly seq: number;
  readonly ack?: number;
};

export function downTombstoneFrame(stamp: Stamp, input: DownTombstoneInput): DownTombstoneFrame {
  invariant(isId(input.uid), 'a tombstone names a uid');
  invariant(isResourceVersion(input.resourceVersion), 'a tombstone carries a decimal resourceVersion');
  return {
    kind: 'downTombstone',
    header: { ...sequencedHeader(stamp, input.seq, input.ack), resourceversion: input.resourceVersion },
    route: { source: input.source ?? 'edgecontroller', group: 'resource', operation: 'delete', resource: checkedResource(input.resource) },
    content: { uid: input.uid },
    target: input.resource,
  };
}

export type QueryInput = {
  readonly source: ModuleName;
  readonly group: WireGroup;
  readonly resource: WireResource;
  readonly content: JsonValue;
  readonly ack?: number;
};

export function queryFrame(stamp: Stamp, input: QueryInput): QueryFrame {
  invariant(isGroupOfResource(input.group, input.resource), 'service-bus and EventBus resources travel in group user, and only they');
  return {
    kind: 'query',
    header: { ...commonHeader(stamp, input.ack), sync: true },
    route: { source: input.source, group: input.group, operation: 'query', resource: checkedResource(input.resource) },
    content: input.content,
    target: input.resource,
  };
}

export type ReplyInput<C extends JsonValue> = {
  /** The answering module. */
  readonly source: ModuleName;
  readonly content: C;
  readonly resourceVersion?: string;
  readonly ack?: number;
};

const replyHeader = (stamp: Stamp, request: QueryFrame, input: ReplyInput<JsonValue>): ReplyHeader => {
  invariant(input.resourceVersion === undefined || isResourceVersion(input.resourceVersion), 'resourceVersion is decimal');
  return {
    ...commonHeader(stamp, input.ack),
    parent_msg_id: request.header.msg_id,
    ...(input.resourceVersion === undefined ? {} : { resourceversion: input.resourceVersion }),
  };
};

/** Answers a query: same group and resource, `parent_msg_id` = the query's id (KubeEdge's NewRespByMessage). */
export function responseFrame(stamp: Stamp, request: QueryFrame, input: ReplyInput<JsonValue>): ResponseFrame {
  return {
    kind: 'response',
    header: replyHeader(stamp, request, input),
    route: { source: input.source, group: request.route.group, operation: 'response', resource: request.route.resource },
    content: input.content,
    target: request.target,
  };
}

/** Refuses a query with an error text, addressed like a response. */
export function errorFrame(stamp: Stamp, request: QueryFrame, input: ReplyInput<string>): ErrorFrame {
  return {
    kind: 'error',
    header: replyHeader(stamp, request, input),
    route: { source: input.source, group: request.route.group, operation: 'error', resource: request.route.resource },
    content: input.content,
    target: request.target,
  };
}
