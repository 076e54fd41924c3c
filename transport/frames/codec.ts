// The stream's one encoder and one decoder (STYLE R11): every inbound frame is checked for size,
// UTF-8, JSON, nesting, forbidden keys and shape before anything else sees it, and every refusal is
// a value carrying the close code and a reason short enough for a websocket close frame.
import { err, invariant, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import {
  Close,
  DESIRED_RESOURCE_TYPES,
  DOWN_SOURCES,
  GROUP_OPERATIONS,
  LABEL_CHARS_MAX,
  SESSION_SOURCES,
  UP_SOURCES,
  closeReason,
  isId,
  isModuleName,
  isPosition,
  isProtocolVersion,
  isResourceVersion,
  isSeq,
  isTimestampMs,
  isGroupOfResource,
  type BeehiveHeader,
  type BeehiveMessage,
  type BeehiveRoute,
  type Frame,
  type FrameKind,
  type ModuleName,
  type WireGroup,
} from './frame.js';
import { formatWireResource, parseUserResource, parseWireResource, type WireResource } from './resource.js';

export { contentHash, desiredContentHash, desiredContentOf, canonicalJson, stripManagedFields } from './desired-content.js';

/** Default `frameBytesMax` (PROTOCOL.md): at least twice the API's largest object (1.5 MiB in etcd). */
export const FRAME_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/**
 * Deepest nesting accepted, counting the frame object as 1. Pod specs nest about 10 deep; the bound
 * keeps every later recursive walk (hashing, merging, storing) far from the stack limit.
 */
export const FRAME_DEPTH_MAX = 100;

export type FrameLimits = { readonly frameBytesMax: number };
export const DEFAULT_FRAME_LIMITS: FrameLimits = { frameBytesMax: FRAME_BYTES_MAX_DEFAULT };

/** Why a frame is undecodable; every one closes with 1007. */
export type UndecodableProblem = 'notUtf8' | 'notJson' | 'tooDeep' | 'forbiddenKey' | 'badNumber' | 'badShape' | 'badResource';

/** A refused frame: what the receiver closes with. `reason` is printable ASCII of at most 123 bytes. */
export type FrameError =
  | {
      readonly kind: 'FrameTooLarge';
      readonly closeCode: typeof Close.tooLarge.code;
      readonly reason: string;
      readonly bytes: number;
      readonly frameBytesMax: number;
    }
  | {
      readonly kind: 'FrameUndecodable';
      readonly closeCode: typeof Close.undecodable.code;
      readonly reason: string;
      readonly problem: UndecodableProblem;
      /** Where in the frame, e.g. `header.seq` or `content.metadata.uid`; empty for the frame as a whole. */
      readonly path: string;
    };

type Problem = { readonly problem: UndecodableProblem; readonly path: string; readonly message: string };
type Checked<T> = Result<T, Problem>;
type Raw = { readonly [key: string]: unknown };

/** The one key refused anywhere: assigning it changes a prototype, and no Kubernetes field is named so. */
export const FORBIDDEN_KEY = '__proto__';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Writes a frame as one JSON text: `header`, `route`, `content`, known keys only, in a fixed order.
 * `kind` and `target` are derived on decode and not written.
 */
export function encodeFrame(frame: Frame): string {
  invariant(formatWireResource(frame.target) === frame.route.resource, 'route.resource is the frame target written out');
  const message: BeehiveMessage = { header: wireHeader(frame.header), route: wireRoute(frame.route), content: frame.content };
  return JSON.stringify(message);
}

/**
 * Encodes and then checks the text exactly as the receiver will. A sender uses it to skip an object
 * the peer would refuse (too large, too deep, a `__proto__` key) with a Warning Event instead of
 * sending it and being closed on every reconnect (PROTOCOL.md "Frame").
 */
export function encodeFrameWithin(frame: Frame, limits: FrameLimits): Result<string, FrameError> {
  const text = encodeFrame(frame);
  const decoded = decodeFrame(text, limits);
  return decoded.ok ? ok(text) : decoded;
}

/** The header with known keys only, in a fixed order; built field by field (this runs for every frame sent). */
function wireHeader(h: BeehiveHeader): BeehiveHeader {
  // Keys in wire order: msg_id, parent_msg_id, timestamp, resourceversion, sync, type, seq, ack.
  const w: { -readonly [K in keyof BeehiveHeader]?: BeehiveHeader[K] } = { msg_id: h.msg_id };
  if (h.parent_msg_id !== undefined) w.parent_msg_id = h.parent_msg_id;
  w.timestamp = h.timestamp;
  if (h.resourceversion !== undefined) w.resourceversion = h.resourceversion;
  if (h.sync !== undefined) w.sync = h.sync;
  if (h.type !== undefined) w.type = h.type;
  if (h.seq !== undefined) w.seq = h.seq;
  if (h.ack !== undefined) w.ack = h.ack;
  return w as BeehiveHeader;
}

const wireRoute = (r: BeehiveRoute): BeehiveRoute => ({
  source: r.source,
  ...(r.destination === undefined ? {} : { destination: r.destination }),
  group: r.group,
  operation: r.operation,
  resource: r.resource,
});

/**
 * Decodes one inbound frame completely, in this order: size (before any parsing), UTF-8, JSON,
 * nesting depth, forbidden keys and number range, then shape. Unknown keys in `header`, `route`,
 * the hello content and the tombstone content are tolerated and dropped, as KubeEdge's Go decoder
 * ignores them: a newer peer may add a field without breaking an older one (`protocolVersion`
 * gates incompatible changes). Empty strings, `null` and `sync: false` in optional header and
 * route fields mean absent, as Go's omitempty writes them. Never throws.
 *
 * `knownBytes`: the text's UTF-8 length when the caller has it (a websocket message's buffer), so a
 * string is not measured again.
 *
 * ```ts
 * const decoded = decodeFrame(data, { frameBytesMax: FRAME_BYTES_MAX_DEFAULT });
 * if (!decoded.ok) socket.close(decoded.error.closeCode, decoded.error.reason);
 * ```
 */
export function decodeFrame(text: string | Buffer, limits: FrameLimits, knownBytes?: number): Result<Frame, FrameError> {
  const bytes = knownBytes ?? (typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : text.length);
  if (bytes > limits.frameBytesMax) {
    const reason = closeReason(`${Close.tooLarge.reason}: ${bytes} bytes, limit ${limits.frameBytesMax}`);
    return err({ kind: 'FrameTooLarge', closeCode: Close.tooLarge.code, reason, bytes, frameBytesMax: limits.frameBytesMax });
  }
  const checked = decodeChecked(text);
  if (checked.ok) return checked;
  const { problem, path, message } = checked.error;
  const reason = closeReason(`${path === '' ? 'frame' : path} ${message}`);
  return err({ kind: 'FrameUndecodable', closeCode: Close.undecodable.code, reason, problem, path });
}

function decodeChecked(text: string | Buffer): Checked<Frame> {
  let json: string;
  try {
    json = typeof text === 'string' ? text : utf8.decode(text);
  } catch {
    return problem('notUtf8', '', 'is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return problem('notJson', '', 'is not valid JSON');
  }
  const tree = findTreeProblem(parsed, 1, []);
  if (tree !== undefined) return err(tree);
  return decodeMessage(parsed);
}

/**
 * Checks a value that will travel as a frame's `content` against the decoder's rules for values
 * (nesting depth, the forbidden key, numbers in range) without encoding it, so a sender can refuse
 * it up front. Undefined when the peer would accept it.
 */
export function contentProblem(content: unknown): Extract<FrameError, { kind: 'FrameUndecodable' }> | undefined {
  // The message is depth 1, content depth 2, as the decoder counts.
  const found = findTreeProblem(content, 2, ['content']);
  if (found === undefined) return undefined;
  return { kind: 'FrameUndecodable', closeCode: Close.undecodable.code, reason: closeReason(`${found.path} ${found.message}`), problem: found.problem, path: found.path };
}

const problem = (kind: UndecodableProblem, path: string, message: string): Checked<never> => err({ problem: kind, path, message });
const shape = (path: string, message: string): Checked<never> => problem('badShape', path, message);

/** Walks the parsed value once, depth-first, stopping at the first problem; recursion is bounded by FRAME_DEPTH_MAX. */
function findTreeProblem(value: unknown, depth: number, at: (string | number)[]): Problem | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : { problem: 'badNumber', path: formatPath(at), message: 'is a number out of range' };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > FRAME_DEPTH_MAX) return { problem: 'tooDeep', path: formatPath(at), message: `nests deeper than ${FRAME_DEPTH_MAX}` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findChildProblem(value[i], depth, at, i);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  // for-in, not Object.keys: no array per object. JSON.parse and the senders' plain objects have no
  // enumerable inherited keys, and an own `__proto__` key is enumerated like any other.
  for (const key in value) {
    if (key === FORBIDDEN_KEY) return { problem: 'forbiddenKey', path: formatPath(at), message: `has the forbidden key ${FORBIDDEN_KEY}` };
    const child = (value as Raw)[key];
    // Strings, booleans and null are always acceptable: no descent (and no path push) for them.
    if (typeof child !== 'object' && typeof child !== 'number') continue;
    const found = findChildProblem(child, depth, at, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function findChildProblem(child: unknown, depth: number, at: (string | number)[], key: string | number): Problem | undefined {
  at.push(key);
  const found = findTreeProblem(child, depth + 1, at);
  at.pop();
  return found;
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PATH_KEY_CHARS_MAX = 32;

/** `a.b[3]["odd key"]`, each key cut to 32 characters so a path stays short whatever the peer sent. */
function formatPath(at: readonly (string | number)[]): string {
  let path = '';
  for (const key of at) {
    if (typeof key === 'number') path += `[${key}]`;
    else if (identifier.test(key) && key.length <= PATH_KEY_CHARS_MAX) path += path === '' ? key : `.${key}`;
    else path += `[${quote(key)}]`;
  }
  return path;
}

/** A peer's string, quoted and cut, for a reason text (closeReason escapes what is not ASCII). */
const quote = (s: string): string => JSON.stringify(s.length <= PATH_KEY_CHARS_MAX ? s : `${s.slice(0, PATH_KEY_CHARS_MAX)}...`);

const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Reads only own properties, so `constructor`, `toString` and friends never answer for a missing key. */
const own = (o: Raw, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);
/** Optional fields: absent, null and "" are all "not set", as Go's omitempty and json.Unmarshal treat them. */
const unset = (v: unknown): boolean => v === undefined || v === null || v === '';

function decodeMessage(parsed: unknown): Checked<Frame> {
  if (!isRecord(parsed)) return shape('', 'must be a JSON object');
  const rawHeader = own(parsed, 'header');
  if (!isRecord(rawHeader)) return shape('header', 'must be an object');
  const rawRoute = own(parsed, 'route');
  if (!isRecord(rawRoute)) return shape('route', 'must be an object');
  if (!Object.hasOwn(parsed, 'content')) return shape('content', 'is required');
  const header = readHeader(rawHeader);
  if (!header.ok) return header;
  const route = readRoute(rawRoute);
  if (!route.ok) return route;
  const kind = classify(route.value.route);
  if (!kind.ok) return kind;
  const headerRules = checkHeaderRules(kind.value, header.value);
  if (!headerRules.ok) return headerRules;
  return decodeKind(kind.value, header.value, route.value, own(parsed, 'content') as JsonValue);
}

function readHeader(raw: Raw): Checked<BeehiveHeader> {
  const msgId = own(raw, 'msg_id');
  if (!isId(msgId)) return shape('header.msg_id', 'must be 1-128 printable ASCII characters');
  const timestamp = own(raw, 'timestamp');
  if (!isTimestampMs(timestamp)) return shape('header.timestamp', 'must be a non-negative integer of milliseconds');
  const parent = own(raw, 'parent_msg_id');
  if (!unset(parent) && !isId(parent)) return shape('header.parent_msg_id', 'must be 1-128 printable ASCII characters');
  const rv = own(raw, 'resourceversion');
  if (!unset(rv) && !isResourceVersion(rv)) return shape('header.resourceversion', 'must be a decimal resourceVersion');
  const sync = own(raw, 'sync');
  if (!unset(sync) && typeof sync !== 'boolean') return shape('header.sync', 'must be a boolean');
  const type = own(raw, 'type');
  if (!unset(type) && !isLabel(type)) return shape('header.type', `must be a string of at most ${LABEL_CHARS_MAX} characters`);
  const seq = own(raw, 'seq');
  if (!unset(seq) && !isSeq(seq)) return shape('header.seq', 'must be a safe integer >= 1');
  const ack = own(raw, 'ack');
  if (!unset(ack) && !isPosition(ack)) return shape('header.ack', 'must be a safe integer >= 0');
  // Built field by field in wire order (this runs for every frame received).
  const header: { -readonly [K in keyof BeehiveHeader]?: BeehiveHeader[K] } = { msg_id: msgId };
  if (isId(parent)) header.parent_msg_id = parent;
  header.timestamp = timestamp;
  if (isResourceVersion(rv)) header.resourceversion = rv;
  if (sync === true) header.sync = sync;
  if (isLabel(type) && type !== '') header.type = type;
  if (isSeq(seq)) header.seq = seq;
  if (isPosition(ack)) header.ack = ack;
  return ok(header as BeehiveHeader);
}

const isLabel = (v: unknown): v is string => typeof v === 'string' && v.length <= LABEL_CHARS_MAX;

type ReadRoute = { readonly route: BeehiveRoute & { readonly source: ModuleName; readonly group: WireGroup }; readonly target: WireResource };

function readRoute(raw: Raw): Checked<ReadRoute> {
  const source = own(raw, 'source');
  if (typeof source !== 'string') return shape('route.source', 'must be a string');
  if (!isModuleName(source)) return shape('route.source', `${quote(source)} is not a known module`);
  const destination = own(raw, 'destination');
  if (!unset(destination) && !isLabel(destination)) return shape('route.destination', `must be a string of at most ${LABEL_CHARS_MAX} characters`);
  const group = own(raw, 'group');
  if (typeof group !== 'string') return shape('route.group', 'must be a string');
  if (!Object.hasOwn(GROUP_OPERATIONS, group)) return shape('route.group', `${quote(group)} is not a group edgehive accepts`);
  const wireGroup = group as WireGroup;
  const operation = own(raw, 'operation');
  if (typeof operation !== 'string') return shape('route.operation', 'must be a string');
  if (!(GROUP_OPERATIONS[wireGroup] as readonly string[]).includes(operation)) {
    return shape('route.operation', `${quote(operation)} is not an operation of group ${wireGroup}`);
  }
  const resource = own(raw, 'resource');
  if (typeof resource !== 'string') return shape('route.resource', 'must be a string');
  const target = parsedResource(resource, wireGroup);
  if (!target.ok) return problem('badResource', 'route.resource', target.error.reason);
  const route: ReadRoute['route'] =
    isLabel(destination) && destination !== '' ? { source, destination, group: wireGroup, operation, resource } : { source, group: wireGroup, operation, resource };
  return ok({ route, target: target.value });
}

/** Resource strings parsed lately, per reading (group user, or the rest): a node's frames name the same few resources over and over. */
const parsedResources = { user: new Map<string, ReturnType<typeof parseWireResource>>(), other: new Map<string, ReturnType<typeof parseWireResource>>() };
const PARSED_RESOURCES_MAX = 4096;

/**
 * parseWireResource, or parseUserResource in group user (where KubeEdge writes bare EventBus
 * topics), remembered (its results are immutable, so they are shared).
 */
function parsedResource(resource: string, group: WireGroup): ReturnType<typeof parseWireResource> {
  const cache = group === 'user' ? parsedResources.user : parsedResources.other;
  let parsed = cache.get(resource);
  if (parsed === undefined) {
    parsed = group === 'user' ? parseUserResource(resource) : parseWireResource(resource);
    if (cache.size >= PARSED_RESOURCES_MAX) cache.clear();
    cache.set(resource, parsed);
  }
  return parsed;
}

const upSources: readonly string[] = UP_SOURCES;
const downSources: readonly string[] = DOWN_SOURCES;
const sessionSources: readonly string[] = [SESSION_SOURCES.edge, SESSION_SOURCES.cloud];

/** Names the frame kind from group, operation and source; the source tells up from down, as in KubeEdge. */
function classify(route: ReadRoute['route']): Checked<FrameKind> {
  const { group, operation, source } = route;
  if (operation === 'query' || operation === 'response' || operation === 'error') return ok(operation as 'query' | 'response' | 'error');
  if (group === 'edgehive') {
    if (!sessionSources.includes(source)) return shape('route.source', `${operation} frames come from ${SESSION_SOURCES.edge} or ${SESSION_SOURCES.cloud}`);
    if (operation === 'hello') return ok(source === SESSION_SOURCES.edge ? 'edgeHello' : 'cloudHello');
    if (operation === 'synced') return source === SESSION_SOURCES.cloud ? ok('synced') : shape('route.source', `synced frames come from ${SESSION_SOURCES.cloud}`);
    return ok(operation === 'ack' ? 'ack' : 'keepalive');
  }
  if (upSources.includes(source)) return ok('upEvent');
  if (!downSources.includes(source)) return shape('route.source', `${quote(source)} sends no sequenced frames`);
  if (operation === 'patch') return shape('route.operation', 'down frames are insert, update or delete');
  return ok(operation === 'delete' ? 'downTombstone' : 'downObject');
}

type Rule = 'required' | 'optional' | 'forbidden';
type HeaderRules = { readonly seq: Rule; readonly ack: Rule; readonly parent_msg_id: Rule; readonly sync: Rule; readonly resourceversion: Rule };

const plain = { seq: 'forbidden', ack: 'optional', parent_msg_id: 'forbidden', sync: 'forbidden', resourceversion: 'optional' } as const;

/** Which header fields each kind must, may and must not carry; `sync` here means `sync: true`. */
const HEADER_RULES: { readonly [K in FrameKind]: HeaderRules } = {
  edgeHello: { ...plain, ack: 'forbidden' },
  cloudHello: { ...plain, ack: 'forbidden' },
  keepalive: plain,
  ack: { ...plain, ack: 'required' },
  synced: { ...plain, seq: 'required' },
  upEvent: { ...plain, seq: 'required' },
  downObject: { ...plain, seq: 'required', resourceversion: 'required' },
  downTombstone: { ...plain, seq: 'required', resourceversion: 'required' },
  query: { ...plain, sync: 'required' },
  response: { ...plain, parent_msg_id: 'required' },
  error: { ...plain, parent_msg_id: 'required' },
};

function checkHeaderRules(kind: FrameKind, header: BeehiveHeader): Checked<true> {
  const rules = HEADER_RULES[kind];
  for (const field of ['seq', 'ack', 'parent_msg_id', 'sync', 'resourceversion'] as const) {
    const present = Object.hasOwn(header, field);
    if (rules[field] === 'required' && !present) return shape(`header.${field}`, field === 'sync' ? `must be true on ${kind} frames` : `is required on ${kind} frames`);
    if (rules[field] === 'forbidden' && present) return shape(`header.${field}`, field === 'sync' ? `must not be true on ${kind} frames` : `is not allowed on ${kind} frames`);
  }
  return ok(true);
}

function decodeKind(kind: FrameKind, header: BeehiveHeader, read: ReadRoute, content: JsonValue): Checked<Frame> {
  const { route, target } = read;
  switch (kind) {
    case 'edgeHello':
    case 'cloudHello':
    case 'keepalive':
    case 'ack':
    case 'synced':
      return decodeSessionFrame(kind, header, route, target, content);
    case 'upEvent':
      if (target.kind !== 'object' && target.kind !== 'deviceEvent' && target.kind !== 'eventBus') return problem('badResource', 'route.resource', 'an up event names one object, device or EventBus topic');
      if (target.kind === 'deviceEvent' && route.operation !== 'update') return shape('route.operation', 'device events are updates');
      if ((target.kind === 'eventBus') !== (route.operation === 'upload')) return shape('route.operation', 'EventBus topics go up as uploads, and only they');
      return ok({ kind, header, route, content, target } as Frame);
    case 'downObject':
    case 'downTombstone':
      return decodeDownFrame(kind, header, route, target, content);
    case 'query':
    case 'response':
    case 'error':
      if (!isGroupOfResource(route.group, target)) return problem('badResource', 'route.resource', 'service-bus and EventBus resources travel in group user, and only they');
      return decodeReply(kind, header, route, target, content);
  }
}

function decodeReply(kind: 'query' | 'response' | 'error', header: BeehiveHeader, route: BeehiveRoute, target: WireResource, content: JsonValue): Checked<Frame> {
  switch (kind) {
    case 'query':
    case 'response':
      return ok({ kind, header, route, content, target } as Frame);
    case 'error':
      if (typeof content !== 'string') return shape('content', 'of an error frame must be the error text');
      return ok({ kind, header, route, content, target } as Frame);
  }
}

function decodeSessionFrame(kind: 'edgeHello' | 'cloudHello' | 'keepalive' | 'ack' | 'synced', header: BeehiveHeader, route: BeehiveRoute, target: WireResource, content: JsonValue): Checked<Frame> {
  if (target.kind !== 'object' || target.type !== 'node') return problem('badResource', 'route.resource', `of ${kind} frames must be null/node/<nodeName>`);
  if (kind === 'keepalive') return content === 'ping' ? ok({ kind, header, route, content, target } as Frame) : shape('content', 'of a keepalive must be "ping"');
  if (kind === 'synced') return content === null ? ok({ kind, header, route, content, target } as Frame) : shape('content', 'of a synced frame must be null');
  if (kind === 'ack') return content === null ? ok({ kind, header, route, content, target } as Frame) : shape('content', 'of an ack frame must be null');
  const hello = readHello(kind, content, target.name);
  if (!hello.ok) return hello;
  return ok({ kind, header, route, content: hello.value, target } as Frame);
}

function readHello(kind: 'edgeHello' | 'cloudHello', content: JsonValue, nodeName: string): Checked<JsonObject> {
  if (!isRecord(content)) return shape('content', 'of a hello must be an object');
  const protocolVersion = own(content, 'protocolVersion');
  if (!isProtocolVersion(protocolVersion)) return shape('content.protocolVersion', 'must be a positive integer');
  if (own(content, 'nodeName') !== nodeName) return shape('content.nodeName', 'must equal the node named in route.resource');
  const clusterId = own(content, 'clusterId');
  const journalId = own(content, 'journalId');
  if (kind === 'edgeHello') {
    if (clusterId !== null && !isId(clusterId)) return shape('content.clusterId', 'must be an id or null');
    if (!isId(journalId)) return shape('content.journalId', 'must be an id');
    const upFloor = own(content, 'upFloor');
    const outboxHead = own(content, 'outboxHead');
    if (!isPosition(upFloor)) return shape('content.upFloor', 'must be a safe integer >= 0');
    if (!isPosition(outboxHead) || outboxHead < upFloor) return shape('content.outboxHead', 'must be a safe integer >= content.upFloor');
    return ok({ protocolVersion, nodeName, clusterId, journalId, upFloor, outboxHead });
  }
  if (!isId(clusterId)) return shape('content.clusterId', 'must be an id');
  if (journalId !== null && !isId(journalId)) return shape('content.journalId', 'must be an id or null');
  const upAcked = own(content, 'upAcked');
  if (!isPosition(upAcked)) return shape('content.upAcked', 'must be a safe integer >= 0');
  const sync = own(content, 'sync');
  if (sync !== 'resume' && sync !== 'full') return shape('content.sync', 'must be "resume" or "full"');
  return ok({ protocolVersion, nodeName, clusterId, journalId, upAcked, sync });
}

const desiredTypes: readonly string[] = DESIRED_RESOURCE_TYPES;

function decodeDownFrame(kind: 'downObject' | 'downTombstone', header: BeehiveHeader, route: BeehiveRoute, target: WireResource, content: JsonValue): Checked<Frame> {
  if (target.kind !== 'object') return problem('badResource', 'route.resource', 'a down frame names one object');
  if (!desiredTypes.includes(target.type)) return problem('badResource', 'route.resource', `type ${target.type} is never in a desired set`);
  if (!isRecord(content)) return shape('content', `of a ${kind} frame must be an object`);
  if (kind === 'downTombstone') {
    const uid = own(content, 'uid');
    return isId(uid) ? ok({ kind, header, route, content: { uid }, target } as Frame) : shape('content.uid', 'must be an id');
  }
  const object = checkDownObject(header, target, content);
  return object.ok ? ok({ kind, header, route, content, target } as Frame) : object;
}

/** The rules a down object's content meets beyond the value rules: it names the frame's object, at the header's revision. */
function checkDownObject(header: BeehiveHeader, target: Extract<WireResource, { kind: 'object' }>, content: Raw): Checked<true> {
  const metadata = own(content, 'metadata');
  if (!isRecord(metadata)) return shape('content.metadata', 'must be an object');
  if (!isId(own(metadata, 'uid'))) return shape('content.metadata.uid', 'must be an id');
  if (own(metadata, 'name') !== target.name) return shape('content.metadata.name', 'must equal the name in route.resource');
  const namespace = own(metadata, 'namespace');
  const namespaceMatches = target.namespace === null ? unset(namespace) : namespace === target.namespace;
  if (!namespaceMatches) return shape('content.metadata.namespace', 'must equal the namespace in route.resource');
  const rv = own(metadata, 'resourceVersion');
  if (!unset(rv) && rv !== header.resourceversion) return shape('content.metadata.resourceVersion', 'must equal header.resourceversion');
  return ok(true);
}

/**
 * Whether the edge's decoder would refuse a down object frame that the builders made, without
 * encoding and decoding it: the value rules over its content (as contentProblem) and the down
 * object rules. The header and route come from the builders, which check them. Undefined when the
 * edge would accept it; the cloud checks each desired object once this way before sending it.
 */
export function downObjectProblem(frame: Extract<Frame, { kind: 'downObject' }>): Extract<FrameError, { kind: 'FrameUndecodable' }> | undefined {
  const values = contentProblem(frame.content);
  if (values !== undefined) return values;
  const object = checkDownObject(frame.header, frame.target, frame.content as unknown as Raw);
  if (object.ok) return undefined;
  const { problem: kind, path, message } = object.error;
  return { kind: 'FrameUndecodable', closeCode: Close.undecodable.code, reason: closeReason(`${path} ${message}`), problem: kind, path };
}
