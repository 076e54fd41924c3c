// Maps the sync cores' messages to beehive frames and back: object keys to resource strings, the
// hello contents, up events with their route, and the cumulative ack. The codec validated the shape;
// this layer checks what only the stream knows (a down frame's type is a desired type, and so on).
import { err, invariant, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { Close, closeReason } from '../frames/frame.js';
import { desiredContentHash, desiredContentOf, downObjectProblem, encodeFrame, type FrameError } from '../frames/codec.js';
import {
  ackFrame,
  cloudHelloFrame,
  downObjectFrame,
  downTombstoneFrame,
  edgeHelloFrame,
  syncedFrame,
  upEventFrame,
  isId,
  isSeq,
  isTimestampMs,
  LABEL_CHARS_MAX,
  DESIRED_RESOURCE_TYPES,
  type DesiredResourceType,
  type Frame,
  type ObjectContent,
  type Stamp,
  type UpOperation,
  type UpSource,
} from '../frames/frame.js';
import { formatWireResource, isUploadTopic, parseUserResource, parseWireResource, type DeviceEventResource, type EventBusResource, type ObjectResource } from '../frames/resource.js';
import type { CloudHello, CloudToEdgeFrame, DownFrame, EdgeHello, EdgeToCloudFrame, ObjectKey, UpEvent, UpFrame } from '../sync/index.js';

/** Plural API resource names of the desired types, as object keys spell them (`configmaps/default/app`). */
const pluralOf: { readonly [T in DesiredResourceType]: string } = {
  pod: 'pods',
  configmap: 'configmaps',
  secret: 'secrets',
  service: 'services',
  endpoints: 'endpoints',
  node: 'nodes',
  device: 'devices',
  devicemodel: 'devicemodels',
};
const typeOfPlural = new Map(Object.entries(pluralOf).map(([type, plural]) => [plural, type as DesiredResourceType]));

/** The object key of a desired object: `<plural>/<namespace>/<name>`, empty namespace when cluster-scoped. */
export function objectKeyOf(type: DesiredResourceType, namespace: string | null, name: string): ObjectKey {
  return `${pluralOf[type]}/${namespace ?? ''}/${name}`;
}

/** The wire resource of an object key; undefined for a key no desired set may hold. */
export function resourceOfKey(key: ObjectKey): (ObjectResource & { readonly type: DesiredResourceType }) | undefined {
  const [plural = '', namespace = '', name = '', ...rest] = key.split('/');
  const type = typeOfPlural.get(plural);
  if (type === undefined || name === '' || rest.length > 0) return undefined;
  return { kind: 'object', namespace: namespace === '' ? null : namespace, type, name };
}

/** Where an up event goes on the wire: KubeEdge's source module, operation and resource. */
export interface UpRoute {
  readonly source: UpSource;
  /** `upload` exactly for an EventBus topic. */
  readonly operation: UpOperation | 'upload';
  readonly resource: ObjectResource | DeviceEventResource | EventBusResource;
}

/**
 * The default route of an up event: `data.resource` when the event names one (a wire resource
 * string such as `default/podstatus/web`, or an upload topic `$hw/events/upload/…`, which goes as
 * KubeEdge's EventBus sends it: source eventbus, operation upload, the topic as the resource), else
 * the node itself. The event type travels in the beehive header's `type`, which KubeEdge passes
 * through untouched.
 */
export function defaultUpRoute(nodeName: string): (event: UpEvent) => UpRoute {
  const node: ObjectResource = { kind: 'object', namespace: null, type: 'nodestatus', name: nodeName };
  return (event) => {
    const text = isJsonObject(event.data) && typeof event.data['resource'] === 'string' ? event.data['resource'] : undefined;
    if (text !== undefined && isUploadTopic(text)) {
      const topic = parseUserResource(text);
      if (topic.ok && topic.value.kind === 'eventBus') return { source: 'eventbus', operation: 'upload', resource: topic.value };
    }
    const named = text === undefined ? undefined : parseWireResource(text);
    if (named === undefined || !named.ok) return { source: 'edged', operation: 'update', resource: node };
    const resource = named.value;
    if (resource.kind === 'deviceEvent') return { source: 'twin', operation: 'update', resource };
    if (resource.kind !== 'object') return { source: 'edged', operation: 'update', resource: node };
    return { source: resource.type === 'device' ? 'twin' : 'edged', operation: 'update', resource };
  };
}

/** Route texts an UpFrameWriter keeps (one per source, operation and resource a node reports on). */
const UP_ROUTES_CACHED_MAX = 4096;

/**
 * Writes up frames as text the way encodeFrame(edgeFrameOf(…)) does, without building the frame
 * object each time: the route of each resource is checked through the builder once and kept as
 * JSON, and the data arrives already written as JSON (the outbox measured it). This is the
 * edge's hottest path; a spec holds it to the same text as the general encoder.
 */
export class UpFrameWriter {
  readonly #routes = new Map<string, string>();
  /** The last route written: consecutive events of one resource (the common case) skip the key and the lookup. */
  #last: { readonly route: UpRoute; readonly json: string } | undefined;

  constructor(
    private readonly nodeName: string,
    private readonly route: (event: UpEvent) => UpRoute,
  ) {}

  write(message: UpFrame, stamp: Stamp, dataJson: string): string {
    invariant(isSeq(message.seq), 'an up frame has a seq');
    invariant(isId(stamp.msgId) && isTimestampMs(stamp.timestampMs), 'the stamp is a valid msg_id and time');
    invariant(message.event.type !== '' && message.event.type.length <= LABEL_CHARS_MAX, 'the event type fits header.type');
    const where = this.route(message.event);
    const header = `{"msg_id":${JSON.stringify(stamp.msgId)},"timestamp":${stamp.timestampMs},"type":${JSON.stringify(message.event.type)},"seq":${message.seq}}`;
    return `{"header":${header},"route":${this.#routeJson(message, stamp, where)},"content":${dataJson}}`;
  }

  #routeJson(message: UpFrame, stamp: Stamp, where: UpRoute): string {
    const last = this.#last;
    // Compared by identity: a route function hands out the same object for the node's own resource.
    if (last !== undefined && last.route.resource === where.resource && last.route.source === where.source && last.route.operation === where.operation) return last.json;
    const key = `${where.source} ${where.operation} ${formatWireResource(where.resource)}`;
    let json = this.#routes.get(key);
    if (json === undefined) {
      // The builder checks the route once (a well-formed resource, device events are updates).
      const frame = edgeFrameOf(message, this.nodeName, stamp, () => where);
      json = JSON.stringify(frame.route);
      if (this.#routes.size >= UP_ROUTES_CACHED_MAX) this.#routes.clear();
      this.#routes.set(key, json);
    }
    this.#last = { route: where, json };
    return json;
  }
}

/** Why the edge would refuse a desired object, found once per (content, resourceVersion). */
export type DownRefusal = Extract<FrameError, { kind: 'FrameUndecodable' }>;

/**
 * Writes down frames as text the way encodeFrame(cloudFrameOf(…)) does, checking each desired
 * object once: its `"route":…,"content":…` body is built, decoded as the edge will decode it, and
 * kept on the content object (weakly, so it lives as long as the desired set holds it) with its
 * resourceVersion. A frame's text is then a fresh header and that body. The down planner measures
 * frames with `measure`, which keeps the text for `take`, so each frame is written once and sent
 * as measured. One writer serves every node of a hub: a body names no node.
 */
export class DownFrameWriter {
  readonly #bodies = new WeakMap<object, { readonly resourceVersion: string; readonly body: Result<string, DownRefusal> }>();
  readonly #texts = new WeakMap<DownFrame, string>();
  /** Refusals measured and not yet reported; the planner skips such a frame in the same plan. */
  readonly #refusals = new Map<string, DownRefusal>();

  /** Bytes of the frame on the wire; infinite when the edge would refuse its content (the planner then skips it as oversized). */
  measure(nodeName: string, frame: DownFrame, stamp: Stamp): number {
    const text = this.#write(nodeName, frame, stamp);
    if (!text.ok) {
      if (frame.kind === 'desired') this.#refusals.set(`${nodeName} ${frame.uid}`, text.error);
      return Number.POSITIVE_INFINITY;
    }
    this.#texts.set(frame, text.value);
    return Buffer.byteLength(text.value, 'utf8');
  }

  /** The text `measure` wrote for this very frame, else a fresh one; an error when the edge would refuse it. */
  take(nodeName: string, frame: DownFrame, stamp: Stamp): Result<string, DownRefusal> {
    const measured = this.#texts.get(frame);
    if (measured === undefined) return this.#write(nodeName, frame, stamp);
    this.#texts.delete(frame);
    return ok(measured);
  }

  /** Why the edge would refuse the object `uid` that a measure for `nodeName` found unsendable (once). */
  refusalOf(nodeName: string, uid: string): DownRefusal | undefined {
    const key = `${nodeName} ${uid}`;
    const refusal = this.#refusals.get(key);
    this.#refusals.delete(key);
    return refusal;
  }

  #write(nodeName: string, frame: DownFrame, stamp: Stamp): Result<string, DownRefusal> {
    if (frame.kind !== 'desired') return ok(encodeFrame(cloudFrameOf(frame, nodeName, stamp)));
    const body = this.#bodyOf(frame, stamp);
    if (!body.ok) return body;
    return ok(`{"header":${downObjectHeader(stamp, frame.resourceVersion, frame.seq)},${body.value}}`);
  }

  #bodyOf(frame: DesiredMessage, stamp: Stamp): Result<string, DownRefusal> {
    const content = frame.content;
    const cacheable = typeof content === 'object' && content !== null;
    const known = cacheable ? this.#bodies.get(content) : undefined;
    if (known !== undefined && known.resourceVersion === frame.resourceVersion) return known.body;
    const body = checkedBody(frame, stamp);
    if (cacheable) this.#bodies.set(content, { resourceVersion: frame.resourceVersion, body });
    return body;
  }
}

type DesiredMessage = Extract<DownFrame, { kind: 'desired' }>;

/** The header of a down object frame, keys in encodeFrame's order (no ack: down objects carry none). */
function downObjectHeader(stamp: Stamp, resourceVersion: string, seq: number): string {
  return `{"msg_id":${JSON.stringify(stamp.msgId)},"timestamp":${stamp.timestampMs},"resourceversion":${JSON.stringify(resourceVersion)},"seq":${seq}}`;
}

/** The route and content of a desired object as JSON, once the rules of the edge's decoder accept the frame they make. */
function checkedBody(frame: DesiredMessage, stamp: Stamp): Result<string, DownRefusal> {
  let built: Frame;
  try {
    built = cloudFrameOf(frame, 'checked', stamp);
  } catch (error) {
    // A builder invariant (no uid, a resourceVersion that is not decimal): the object cannot be a frame.
    const reason = closeReason(`content ${(error as Error).message}`);
    return err({ kind: 'FrameUndecodable', closeCode: Close.undecodable.code, reason, problem: 'badShape', path: 'content' });
  }
  invariant(built.kind === 'downObject', 'a desired message makes a down object frame');
  const problem = downObjectProblem(built);
  if (problem !== undefined) return err(problem);
  return ok(`"route":${JSON.stringify(built.route)},"content":${JSON.stringify(built.content)}`);
}

/** An up event as the cloud receives it: the event, and the resource and operation it acts on. */
export interface ReceivedUp {
  readonly seq: number;
  readonly event: UpEvent;
  readonly resource: ObjectResource | DeviceEventResource | EventBusResource;
  readonly operation: string;
  readonly msgId: string;
}

/** The sync message a frame carries, or what else it is; a frame the stream does not take is a refusal with a reason. */
export type InboundAtCloud =
  | { readonly kind: 'sync'; readonly message: EdgeToCloudFrame; readonly up?: ReceivedUp }
  | { readonly kind: 'keepalive'; readonly ack?: number }
  | { readonly kind: 'other'; readonly frame: Frame };

export type InboundAtEdge =
  | { readonly kind: 'sync'; readonly message: CloudToEdgeFrame; readonly ack?: number }
  | { readonly kind: 'keepalive'; readonly ack?: number }
  | { readonly kind: 'other'; readonly frame: Frame };

/** Why a frame cannot go to the sync cores; the stream closes with 1002 and this reason. */
export type WireRefusal = { readonly kind: 'WrongDirection' | 'NotDesired'; readonly reason: string };

/** The frame for a message the edge sends. */
export function edgeFrameOf(message: EdgeToCloudFrame, nodeName: string, stamp: Stamp, route: (event: UpEvent) => UpRoute): Frame {
  switch (message.kind) {
    case 'hello': {
      const { protocolVersion, clusterId, journalId, upFloor, outboxHead } = message;
      return edgeHelloFrame(stamp, { protocolVersion, nodeName, clusterId, journalId, upFloor, outboxHead });
    }
    case 'up': {
      const where = route(message.event);
      return upEventFrame(stamp, { source: where.source, operation: where.operation, resource: where.resource, content: message.event.data, seq: message.seq, type: message.event.type });
    }
    case 'ack':
      return ackFrame(stamp, { from: 'edge', nodeName, ack: message.upTo });
  }
}

/** The frame for a message the cloud sends. */
export function cloudFrameOf(message: CloudToEdgeFrame, nodeName: string, stamp: Stamp): Frame {
  switch (message.kind) {
    case 'hello': {
      const { protocolVersion, clusterId, journalId, upAcked, sync } = message;
      return cloudHelloFrame(stamp, { protocolVersion, nodeName, clusterId, journalId, upAcked, sync });
    }
    case 'ack':
      return ackFrame(stamp, { from: 'cloud', nodeName, ack: message.upTo });
    case 'synced':
      return syncedFrame(stamp, { nodeName, seq: message.seq });
    case 'desired': {
      const resource = resourceOfKey(message.key);
      if (resource === undefined) throw new Error(`desired key ${message.key} names no desired resource type`);
      const object = withRevision(message.content, message.resourceVersion);
      return downObjectFrame(stamp, { operation: 'update', type: resource.type, object, seq: message.seq });
    }
    case 'tombstone': {
      const resource = resourceOfKey(message.key);
      if (resource === undefined) throw new Error(`tombstone key ${message.key} names no desired resource type`);
      return downTombstoneFrame(stamp, { resource, uid: message.uid, resourceVersion: message.resourceVersion, seq: message.seq });
    }
  }
}

/** Desired content has no resourceVersion (PROTOCOL.md); the frame's metadata carries it again. */
function withRevision(content: JsonValue, resourceVersion: string): ObjectContent {
  const object = content as JsonObject;
  const metadata = object['metadata'] as JsonObject;
  return { ...object, metadata: { ...metadata, resourceVersion } } as unknown as ObjectContent;
}

/** What a decoded frame means to the cloud's side of a session. */
export function atCloud(frame: Frame): Result<InboundAtCloud, WireRefusal> {
  switch (frame.kind) {
    case 'edgeHello': {
      const c = frame.content;
      const hello: EdgeHello = { kind: 'hello', role: 'edge', protocolVersion: c.protocolVersion, nodeName: c.nodeName, clusterId: c.clusterId, journalId: c.journalId, upFloor: c.upFloor, outboxHead: c.outboxHead };
      return ok({ kind: 'sync', message: hello });
    }
    case 'upEvent': {
      const event: UpEvent = { type: frame.header.type ?? `${frame.route.source}.${frame.route.operation}`, data: frame.content };
      const up: ReceivedUp = { seq: frame.header.seq, event, resource: frame.target, operation: frame.route.operation, msgId: frame.header.msg_id };
      return ok({ kind: 'sync', message: { kind: 'up', seq: frame.header.seq, event }, up });
    }
    case 'ack':
      return frame.route.source === 'websocket' ? ok({ kind: 'sync', message: { kind: 'ack', upTo: frame.header.ack } }) : wrongWay(frame.kind);
    case 'keepalive':
      return frame.route.source === 'websocket' ? ok({ kind: 'keepalive', ...ackOf(frame.header.ack) }) : wrongWay(frame.kind);
    case 'cloudHello':
    case 'downObject':
    case 'downTombstone':
    case 'synced':
      return wrongWay(frame.kind);
    case 'query':
    case 'response':
    case 'error':
      return ok({ kind: 'other', frame });
  }
}

/** What a decoded frame means to the edge's side of a session. */
export function atEdge(frame: Frame): Result<InboundAtEdge, WireRefusal> {
  switch (frame.kind) {
    case 'cloudHello': {
      const c = frame.content;
      if (c.journalId === null) return err({ kind: 'WrongDirection', reason: 'a cloud hello names the journal it follows' });
      const hello: CloudHello = { kind: 'hello', role: 'cloud', protocolVersion: c.protocolVersion, nodeName: c.nodeName, clusterId: c.clusterId, journalId: c.journalId, upAcked: c.upAcked, sync: c.sync };
      return ok({ kind: 'sync', message: hello });
    }
    case 'downObject': {
      if (!isDesiredType(frame.target.type)) return err({ kind: 'NotDesired', reason: `type ${frame.target.type} is never desired` });
      const content = desiredContentOf(frame.content);
      const key = objectKeyOf(frame.target.type, frame.target.namespace, frame.target.name);
      const message: DownFrame = { kind: 'desired', seq: frame.header.seq, uid: frame.content.metadata.uid, key, resourceVersion: frame.header.resourceversion, contentHash: desiredContentHash(content), content };
      return ok({ kind: 'sync', message, ...ackOf(frame.header.ack) });
    }
    case 'downTombstone': {
      const key = objectKeyOf(frame.target.type, frame.target.namespace, frame.target.name);
      const message: DownFrame = { kind: 'tombstone', seq: frame.header.seq, uid: frame.content.uid, key, resourceVersion: frame.header.resourceversion };
      return ok({ kind: 'sync', message, ...ackOf(frame.header.ack) });
    }
    case 'synced':
      return ok({ kind: 'sync', message: { kind: 'synced', seq: frame.header.seq }, ...ackOf(frame.header.ack) });
    case 'ack':
      return frame.route.source === 'cloudhub' ? ok({ kind: 'sync', message: { kind: 'ack', upTo: frame.header.ack } }) : wrongWay(frame.kind);
    case 'keepalive':
      return frame.route.source === 'cloudhub' ? ok({ kind: 'keepalive', ...ackOf(frame.header.ack) }) : wrongWay(frame.kind);
    case 'edgeHello':
    case 'upEvent':
      return wrongWay(frame.kind);
    case 'query':
    case 'response':
    case 'error':
      return ok({ kind: 'other', frame });
  }
}

const desiredTypes: ReadonlySet<string> = new Set(DESIRED_RESOURCE_TYPES);
const isDesiredType = (type: string): type is DesiredResourceType => desiredTypes.has(type);

const ackOf = (ack: number | undefined): { readonly ack?: number } => (ack === undefined ? {} : { ack });

const wrongWay = (kind: string): Result<never, WireRefusal> => err({ kind: 'WrongDirection', reason: `a ${kind} frame does not travel this way` });
