// Resource strings as KubeEdge writes them (kubeedge-reference §1.3–1.4), parsed into typed values
// so nothing past the decoder splits on '/' again.
import { err, ok, type Result } from '../../kernel/index.js';

/** Third path segment of a resource string: the object type (kubeedge-reference §1.3). */
export const RESOURCE_TYPES = [
  'pod',
  'podlist',
  'podstatus',
  'podpatch',
  'configmap',
  'secret',
  'serviceaccounttoken',
  'serviceaccountaccess',
  'node',
  'nodestatus',
  'nodepatch',
  'lease',
  'event',
  'rule',
  'ruleendpoint',
  'rulestatus',
  'certificatesigningrequest',
  'persistentvolume',
  'persistentvolumeclaim',
  'volumeattachment',
  'service',
  'endpoints',
  'device',
  'devicemodel',
  'devicemapper',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * Types whose objects have no namespace; KubeEdge writes the literal `null` in the namespace
 * segment for them. Every other type is namespaced, so the segment `null` before a namespaced
 * type is a namespace that happens to be called "null": the type decides, never the text.
 */
export const CLUSTER_SCOPED_TYPES: ReadonlySet<ResourceType> = new Set<ResourceType>([
  'node',
  'nodestatus',
  'nodepatch',
  'persistentvolume',
  'certificatesigningrequest',
  'volumeattachment',
]);

/** The namespace segment KubeEdge writes for cluster-scoped objects. */
export const CLUSTER_SCOPE_SEGMENT = 'null';

/** The device events an edge reports (kubeedge-reference §1.4, §5.2): `device/<ns>/<name>/<event>`. */
export const DEVICE_EVENTS = ['twin/edge_updated', 'state/update'] as const;
export type DeviceEvent = (typeof DEVICE_EVENTS)[number];

/** The special resource an edge queries for the cluster CA (kubeedge-reference §1.3). */
export const CA_CERT_RESOURCE = 'k8s/ca.crt';

/** One object: `<ns>/<type>/<name>`, namespace `null` exactly when the type is cluster-scoped. */
export type ObjectResource = {
  readonly kind: 'object';
  readonly namespace: string | null;
  readonly type: ResourceType;
  readonly name: string;
};
/** All objects of a type: `<ns>/<type>`; allowed only in `query` and `response` (kubeedge-reference §1.4). */
export type ListResource = { readonly kind: 'list'; readonly namespace: string | null; readonly type: ResourceType };
/** A device report: `device/<ns>/<name>/twin/edge_updated` or `…/state/update`. */
export type DeviceEventResource = {
  readonly kind: 'deviceEvent';
  readonly namespace: string;
  readonly name: string;
  readonly event: DeviceEvent;
};
/** `k8s/ca.crt`, the cluster CA an edge asks for. */
export type CaCertResource = { readonly kind: 'caCert' };
/**
 * A service-bus target (kubeedge-reference §1.4, §6): `<port>:<path>`, the HTTP app listening on
 * the edge's 127.0.0.1:<port>, and the path asked of it, without the query string (that travels in
 * the request's content, so the resource stays within RESOURCE_CHARS_MAX).
 */
export type ServiceBusResource = { readonly kind: 'serviceBus'; readonly port: number; readonly path: string };

/**
 * An MQTT topic on the edge's EventBus (kubeedge-reference §1.4, §6): the resource of an upload an
 * edge app published on `$hw/events/upload/…` (edge → cloud, operation `upload`), and of a message
 * the cloud Router publishes on the edge's broker (cloud → edge). KubeEdge writes the bare topic; a
 * topic can look like any other resource string, so it is one only in group `user` (see
 * `parseUserResource`), never where `parseWireResource` reads.
 */
export type EventBusResource = { readonly kind: 'eventBus'; readonly topic: string };

/** A resource string as it appears on the wire and on the edge (no `node/<nodeID>/` prefix). */
export type WireResource = ObjectResource | ListResource | DeviceEventResource | CaCertResource | ServiceBusResource | EventBusResource;

/** Why a resource string was refused; `reason` is one short sentence without the input echoed in full. */
export type ResourceError = { readonly kind: 'ResourceMalformed'; readonly resource: string; readonly reason: string };

/** The cloud-internal form `node/<nodeID>/<wire resource>` split into its node and its wire part. */
export type InternalResource = { readonly nodeId: string; readonly wire: string; readonly resource: WireResource };

/** Longest resource string accepted: prefix, namespace (63), type, name (253) and device suffix fit well below. */
export const RESOURCE_CHARS_MAX = 512;

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const resourceTypes: ReadonlySet<string> = new Set(RESOURCE_TYPES);
const nodePrefix = 'node/';

/** True for a Kubernetes namespace name (DNS-1123 label, at most 63 characters). */
export const isNamespaceName = (s: string): boolean => s.length <= 63 && dnsLabel.test(s);
/** True for a Kubernetes object name (DNS-1123 subdomain, at most 253 characters). */
export const isObjectName = (s: string): boolean => s.length <= 253 && dnsSubdomain.test(s);
export const isResourceType = (s: string): s is ResourceType => resourceTypes.has(s);

/** A TCP port an edge app listens on: 1–65535, decimal without leading zeros. */
export const isServicePort = (n: number): boolean => Number.isSafeInteger(n) && n >= 1 && n <= 65_535;
/**
 * An absolute URL path as RFC 3986 writes it (unreserved, percent-encoded, sub-delims, `:`, `@`,
 * `/`): no query, no fragment, no spaces, nothing outside ASCII, so it is sent to the app verbatim.
 */
const servicePathPattern = /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;
/** True for the path part of a service-bus resource. */
export const isServicePath = (s: string): boolean => s.length <= RESOURCE_CHARS_MAX && servicePathPattern.test(s);
/** Digits, `:`, then the path; a namespace never holds a colon, so no other resource starts so. */
const serviceBusPattern = /^([0-9]+):(.*)$/s;
const portPattern = /^[1-9][0-9]{0,4}$/;

/** The topic tree an edge app publishes on to reach the cloud (kubeedge-reference §5.3). */
export const EVENT_BUS_UPLOAD_PREFIX = '$hw/events/upload/';

/** True for a topic under `$hw/events/upload/` (with at least one more character). */
export const isUploadTopic = (topic: string): boolean => topic.length > EVENT_BUS_UPLOAD_PREFIX.length && topic.startsWith(EVENT_BUS_UPLOAD_PREFIX);

/** MQTT topic names the bus publishes on, bounded to fit a resource string: no wildcards, NUL or other control characters, well-formed Unicode. */
const topicForbidden = /[+#\u0000-\u001f\u007f]/;
/** A lone surrogate would reach the broker as U+FFFD, a different topic. */
const loneSurrogate = /\p{Cs}/u;
/** True for an EventBus topic a resource may name. */
export const isEventBusTopic = (topic: string): boolean =>
  topic.length > 0 && topic.length <= RESOURCE_CHARS_MAX && !topicForbidden.test(topic) && !loneSurrogate.test(topic);

const malformed = (resource: string, reason: string): Result<never, ResourceError> =>
  err({ kind: 'ResourceMalformed', resource, reason });

/**
 * Parses a wire resource string (kubeedge-reference §1.4).
 *
 * ```ts
 * parseWireResource('null/node/edge-1'); // ok({ kind: 'object', namespace: null, type: 'node', name: 'edge-1' })
 * ```
 */
export function parseWireResource(resource: string): Result<WireResource, ResourceError> {
  if (resource.length > RESOURCE_CHARS_MAX) return malformed(resource, `longer than ${RESOURCE_CHARS_MAX} characters`);
  if (resource === CA_CERT_RESOURCE) return ok({ kind: 'caCert' });
  const serviceBus = serviceBusPattern.exec(resource);
  if (serviceBus !== null) return parseServiceBus(resource, serviceBus[1]!, serviceBus[2]!);
  const segments = resource.split('/');
  if (segments[0] === 'device' && segments.length === 5) return parseDeviceEvent(resource, segments);
  if (segments.length === 3) return parseScoped(resource, segments, 'object');
  if (segments.length === 2) return parseScoped(resource, segments, 'list');
  if (segments[0] === 'node' && segments.length >= 4) return malformed(resource, 'cloud-internal node/<nodeID>/ prefix is not allowed here');
  return malformed(resource, 'expected <ns>/<type>/<name>, <ns>/<type> or device/<ns>/<name>/<event>');
}

/**
 * Parses the resource of a group `user` frame: a service-bus target `<port>:<path>` or else an
 * EventBus topic (KubeEdge sends bare topics there).
 *
 * ```ts
 * parseUserResource('$hw/events/upload/temperature'); // ok({ kind: 'eventBus', topic: '$hw/events/upload/temperature' })
 * parseUserResource('8080:/api'); // ok({ kind: 'serviceBus', port: 8080, path: '/api' })
 * ```
 */
export function parseUserResource(resource: string): Result<ServiceBusResource | EventBusResource, ResourceError> {
  if (resource.length > RESOURCE_CHARS_MAX) return malformed(resource, `longer than ${RESOURCE_CHARS_MAX} characters`);
  const serviceBus = serviceBusPattern.exec(resource);
  if (serviceBus !== null) return parseServiceBus(resource, serviceBus[1]!, serviceBus[2]!) as Result<ServiceBusResource, ResourceError>;
  if (!isEventBusTopic(resource)) return malformed(resource, 'an EventBus topic is 1-512 characters without wildcards or control characters');
  return ok({ kind: 'eventBus', topic: resource });
}

function parseServiceBus(resource: string, portText: string, path: string): Result<WireResource, ResourceError> {
  const port = Number(portText);
  if (!portPattern.test(portText) || !isServicePort(port)) return malformed(resource, 'service port must be 1-65535 without leading zeros');
  if (!isServicePath(path)) return malformed(resource, 'service path must be an absolute URL path without query or fragment');
  return ok({ kind: 'serviceBus', port, path });
}

function parseScoped(resource: string, segments: readonly string[], kind: 'object' | 'list'): Result<WireResource, ResourceError> {
  const [namespaceSegment = '', type = '', name = ''] = segments;
  if (!isResourceType(type)) return malformed(resource, 'unknown resource type');
  let namespace: string | null;
  if (CLUSTER_SCOPED_TYPES.has(type)) {
    if (namespaceSegment !== CLUSTER_SCOPE_SEGMENT) return malformed(resource, `type ${type} is cluster-scoped: namespace must be null`);
    namespace = null;
  } else {
    if (!isNamespaceName(namespaceSegment)) return malformed(resource, 'namespace is not a DNS-1123 label');
    namespace = namespaceSegment;
  }
  if (kind === 'list') return ok({ kind, namespace, type });
  if (!isObjectName(name)) return malformed(resource, 'name is not a DNS-1123 subdomain');
  return ok({ kind, namespace, type, name });
}

function parseDeviceEvent(resource: string, segments: readonly string[]): Result<WireResource, ResourceError> {
  const [, namespace = '', name = '', first = '', second = ''] = segments;
  const event = `${first}/${second}`;
  if (!isDeviceEvent(event)) return malformed(resource, 'device event must be twin/edge_updated or state/update');
  if (!isNamespaceName(namespace)) return malformed(resource, 'device namespace is not a DNS-1123 label');
  if (!isObjectName(name)) return malformed(resource, 'device name is not a DNS-1123 subdomain');
  return ok({ kind: 'deviceEvent', namespace, name, event });
}

const isDeviceEvent = (s: string): s is DeviceEvent => (DEVICE_EVENTS as readonly string[]).includes(s);

/**
 * Writes a wire resource string; the inverse of `parseWireResource` for every value it returns.
 *
 * ```ts
 * formatWireResource({ kind: 'object', namespace: 'default', type: 'configmap', name: 'app-cfg' }); // 'default/configmap/app-cfg'
 * ```
 */
export function formatWireResource(resource: WireResource): string {
  switch (resource.kind) {
    case 'object':
      return `${resource.namespace ?? CLUSTER_SCOPE_SEGMENT}/${resource.type}/${resource.name}`;
    case 'list':
      return `${resource.namespace ?? CLUSTER_SCOPE_SEGMENT}/${resource.type}`;
    case 'deviceEvent':
      return `device/${resource.namespace}/${resource.name}/${resource.event}`;
    case 'caCert':
      return CA_CERT_RESOURCE;
    case 'serviceBus':
      return `${resource.port}:${resource.path}`;
    case 'eventBus':
      return resource.topic;
  }
}

/**
 * True when a resource value is what `parseWireResource` would return for its own formatting:
 * names are valid and the namespace is null exactly for cluster-scoped types. Builders assert it,
 * so a frame that was built always decodes.
 */
export function isWellFormedResource(resource: WireResource): boolean {
  if (resource.kind === 'eventBus') {
    const topic = parseUserResource(resource.topic);
    return topic.ok && topic.value.kind === 'eventBus';
  }
  const parsed = parseWireResource(formatWireResource(resource));
  if (!parsed.ok) return false;
  const p = parsed.value;
  switch (resource.kind) {
    case 'object':
      return p.kind === 'object' && p.namespace === resource.namespace && p.type === resource.type && p.name === resource.name;
    case 'list':
      return p.kind === 'list' && p.namespace === resource.namespace && p.type === resource.type;
    case 'deviceEvent':
      return p.kind === 'deviceEvent' && p.namespace === resource.namespace && p.name === resource.name && p.event === resource.event;
    case 'caCert':
      return p.kind === 'caCert';
    case 'serviceBus':
      return p.kind === 'serviceBus' && p.port === resource.port && p.path === resource.path;
  }
}

/**
 * Splits the cloud-internal form `node/<nodeID>/<wire>` into the node and the wire resource, as
 * CloudHub strips the prefix before sending (kubeedge-reference §1.4). The wire part must parse.
 *
 * ```ts
 * stripNodePrefix('node/edge-1/default/configmap/app-cfg'); // ok({ nodeId: 'edge-1', wire: 'default/configmap/app-cfg', resource: … })
 * ```
 */
export function stripNodePrefix(internal: string): Result<InternalResource, ResourceError> {
  if (internal.length > RESOURCE_CHARS_MAX) return malformed(internal, `longer than ${RESOURCE_CHARS_MAX} characters`);
  if (!internal.startsWith(nodePrefix)) return malformed(internal, 'cloud-internal resource must start with node/');
  const slash = internal.indexOf('/', nodePrefix.length);
  if (slash < 0) return malformed(internal, 'expected node/<nodeID>/<resource>');
  const nodeId = internal.slice(nodePrefix.length, slash);
  if (!isObjectName(nodeId)) return malformed(internal, 'node ID is not a DNS-1123 subdomain');
  const wire = internal.slice(slash + 1);
  const parsed = parseWireResource(wire);
  if (!parsed.ok) return malformed(internal, parsed.error.reason);
  return ok({ nodeId, wire, resource: parsed.value });
}

/**
 * Writes the cloud-internal form for a resource an edge sent, as CloudHub prepends `node/<nodeID>/`
 * from the connection (never from the frame, so an edge cannot speak for another node).
 */
export function prependNodePrefix(nodeId: string, wire: string): string {
  return `${nodePrefix}${nodeId}/${wire}`;
}
