// fast-check generators of valid frames of every kind, built with the frame builders so they carry
// every optional field the decoder keeps (ack, resourceversion, header.type, route.destination).
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../kernel/index.js';
import {
  DESIRED_RESOURCE_TYPES,
  DOWN_SOURCES,
  Modules,
  UP_OPERATIONS,
  UP_SOURCES,
  ackFrame,
  cloudHelloFrame,
  downObjectFrame,
  downTombstoneFrame,
  edgeHelloFrame,
  syncedFrame,
  errorFrame,
  keepaliveFrame,
  queryFrame,
  responseFrame,
  upEventFrame,
  type DesiredResourceType,
  type Frame,
  type FrameKind,
  type ObjectContent,
  type QueryFrame,
  type Stamp,
} from './frame.js';
import {
  CLUSTER_SCOPED_TYPES,
  DEVICE_EVENTS,
  RESOURCE_TYPES,
  type DeviceEventResource,
  type EventBusResource,
  type ListResource,
  type ObjectResource,
  type ResourceType,
  type ServiceBusResource,
  type WireResource,
} from './resource.js';

/** True when a value holds the key the decoder refuses; generated content must not. */
export const hasProtoKey = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && (Object.keys(value).includes('__proto__') || Object.values(value).some(hasProtoKey));

/** JSON as it survives the wire: no -0, no undefined, no `__proto__` keys. */
export const wireJsonArbitrary = (maxDepth = 3): fc.Arbitrary<JsonValue> =>
  fc
    .jsonValue({ maxDepth })
    .map((v) => JSON.parse(JSON.stringify(v)) as JsonValue)
    .filter((v) => !hasProtoKey(v));

export const wireJsonObjectArbitrary = (maxDepth = 3): fc.Arbitrary<JsonObject> =>
  fc.dictionary(fc.string({ maxLength: 8 }), wireJsonArbitrary(maxDepth - 1), { maxKeys: 5 }).map((o) => JSON.parse(JSON.stringify(o)) as JsonObject).filter((o) => !hasProtoKey(o));

export const labelArbitrary = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/);
export const subdomainArbitrary = fc.array(labelArbitrary, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'));
export const idArbitrary = fc.oneof(fc.uuid(), fc.stringMatching(/^[!-~]{1,40}$/));
export const resourceVersionArbitrary = fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }).map(String);
export const seqArbitrary = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
export const positionArbitrary = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeNat());
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

export const stampArbitrary: fc.Arbitrary<Stamp> = fc.record({ msgId: idArbitrary, timestampMs: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.maxSafeNat()) });

const namespaceFor = (type: ResourceType): fc.Arbitrary<string | null> => (CLUSTER_SCOPED_TYPES.has(type) ? fc.constant(null) : labelArbitrary);

export const objectResourceOf = (types: readonly ResourceType[]): fc.Arbitrary<ObjectResource> =>
  fc
    .constantFrom(...types)
    .chain((type) => fc.record({ namespace: namespaceFor(type), name: subdomainArbitrary }).map(({ namespace, name }): ObjectResource => ({ kind: 'object', namespace, type, name })));

export const objectResourceArbitrary = objectResourceOf(RESOURCE_TYPES);
export const listResourceArbitrary: fc.Arbitrary<ListResource> = fc
  .constantFrom(...RESOURCE_TYPES)
  .chain((type) => namespaceFor(type).map((namespace): ListResource => ({ kind: 'list', namespace, type })));
export const deviceEventResourceArbitrary: fc.Arbitrary<DeviceEventResource> = fc.record({
  kind: fc.constant('deviceEvent' as const),
  namespace: labelArbitrary,
  name: subdomainArbitrary,
  event: fc.constantFrom(...DEVICE_EVENTS),
});
/** `<port>:<path>`: paths of RFC 3986 path characters, percent escapes and all. */
export const serviceBusResourceArbitrary: fc.Arbitrary<ServiceBusResource> = fc.record({
  kind: fc.constant('serviceBus' as const),
  port: fc.integer({ min: 1, max: 65_535 }),
  path: fc.array(fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@]{0,12}$|^%[0-9A-F]{2}$/), { maxLength: 6 }).map((segments) => `/${segments.join('/')}`),
});
/** MQTT topic levels: printable text of any script, some of them empty or `$`-led, none with wildcards or control characters. */
const topicLevelArbitrary = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_.$-]{0,10}$/),
  fc.string({ unit: 'grapheme', maxLength: 6 }).filter((level) => !/[/+#\u0000-\u001f\u007f]/.test(level)),
);
/** Any topic the EventBus may publish on: it can read like any other resource string (`default/pod/web`). */
export const eventBusResourceArbitrary: fc.Arbitrary<EventBusResource> = fc
  .oneof(fc.array(topicLevelArbitrary, { minLength: 1, maxLength: 6 }).map((levels) => levels.join('/')), fc.constantFrom('default/pod/web', 'null/node/edge-1', 'k8s/ca.crt', 'device/default/t/state/update'))
  .filter((topic) => topic.length > 0)
  .map((topic) => ({ kind: 'eventBus' as const, topic }));
/** An edge app's upload topic: `$hw/events/upload/…`. */
export const uploadResourceArbitrary: fc.Arbitrary<EventBusResource> = fc
  .array(topicLevelArbitrary, { minLength: 1, maxLength: 5 })
  .map((levels) => `$hw/events/upload/${levels.join('/')}`)
  .filter((topic) => topic.length > '$hw/events/upload/'.length)
  .map((topic) => ({ kind: 'eventBus' as const, topic }));

/** Resources of groups resource and edgehive: everything but service-bus targets and EventBus topics. */
const resourceGroupResourceArbitrary: fc.Arbitrary<WireResource> = fc.oneof(
  objectResourceArbitrary,
  listResourceArbitrary,
  deviceEventResourceArbitrary,
  fc.constant({ kind: 'caCert' } as const),
);
/** Resources parseWireResource reads (EventBus topics are read in group user only). */
export const wireResourceArbitrary: fc.Arbitrary<WireResource> = fc.oneof(resourceGroupResourceArbitrary, serviceBusResourceArbitrary);

const desiredResourceArbitrary = objectResourceOf(DESIRED_RESOURCE_TYPES) as fc.Arbitrary<ObjectResource & { readonly type: DesiredResourceType }>;
const moduleArbitrary = fc.constantFrom(...Object.values(Modules));

/** Adds the pass-through fields a decoder keeps: `header.type` and `route.destination`. */
const withPassThrough = (frame: fc.Arbitrary<Frame>): fc.Arbitrary<Frame> =>
  fc
    .record({ frame, type: optional(fc.string({ minLength: 1, maxLength: 12 })), destination: optional(fc.constantFrom(...Object.values(Modules))) })
    .map(
      ({ frame: f, type, destination }) =>
        ({
          ...f,
          header: { ...f.header, ...(type === undefined ? {} : { type }) },
          route: { ...f.route, ...(destination === undefined ? {} : { destination }) },
        }) as Frame,
    );

const helloArbitrary = (side: 'edge' | 'cloud'): fc.Arbitrary<Frame> =>
  fc
    .record({
      stamp: stampArbitrary,
      protocolVersion: fc.integer({ min: 1, max: 3 }),
      nodeName: subdomainArbitrary,
      clusterId: fc.option(idArbitrary, { nil: null }),
      journalId: fc.option(idArbitrary, { nil: null }),
      someClusterId: idArbitrary,
      someJournalId: idArbitrary,
      upAcked: positionArbitrary,
      upFloor: positionArbitrary,
      aboveFloor: fc.integer({ min: 0, max: 1000 }),
      sync: fc.constantFrom('resume' as const, 'full' as const),
    })
    .map((h) =>
      side === 'edge'
        ? edgeHelloFrame(h.stamp, { protocolVersion: h.protocolVersion, nodeName: h.nodeName, clusterId: h.clusterId, journalId: h.someJournalId, upFloor: Math.min(h.upFloor, Number.MAX_SAFE_INTEGER - h.aboveFloor), outboxHead: Math.min(h.upFloor, Number.MAX_SAFE_INTEGER - h.aboveFloor) + h.aboveFloor })
        : cloudHelloFrame(h.stamp, { protocolVersion: h.protocolVersion, nodeName: h.nodeName, clusterId: h.someClusterId, journalId: h.journalId, upAcked: h.upAcked, sync: h.sync }),
    );

const sessionArbitrary = (kind: 'keepalive' | 'ack'): fc.Arbitrary<Frame> =>
  fc
    .record({ stamp: stampArbitrary, from: fc.constantFrom('edge' as const, 'cloud' as const), nodeName: subdomainArbitrary, ack: optional(positionArbitrary), anAck: positionArbitrary })
    .map((s) => (kind === 'keepalive' ? keepaliveFrame(s.stamp, { from: s.from, nodeName: s.nodeName, ...(s.ack === undefined ? {} : { ack: s.ack }) }) : ackFrame(s.stamp, { from: s.from, nodeName: s.nodeName, ack: s.anAck })));

const syncedArbitrary: fc.Arbitrary<Frame> = fc
  .record({ stamp: stampArbitrary, nodeName: subdomainArbitrary, seq: seqArbitrary, ack: optional(positionArbitrary) })
  .map((s) => syncedFrame(s.stamp, { nodeName: s.nodeName, seq: s.seq, ...(s.ack === undefined ? {} : { ack: s.ack }) }));

const upEventArbitrary: fc.Arbitrary<Frame> = fc
  .record({
    stamp: stampArbitrary,
    source: fc.constantFrom(...UP_SOURCES),
    resource: fc.oneof(objectResourceArbitrary, deviceEventResourceArbitrary, uploadResourceArbitrary),
    operation: fc.constantFrom(...UP_OPERATIONS),
    content: wireJsonArbitrary(),
    seq: seqArbitrary,
    ack: optional(positionArbitrary),
    resourceVersion: optional(resourceVersionArbitrary),
  })
  .map(({ stamp, ack, resourceVersion, ...e }) =>
    upEventFrame(stamp, {
      ...e,
      operation: e.resource.kind === 'eventBus' ? 'upload' : e.resource.kind === 'deviceEvent' ? 'update' : e.operation,
      ...(ack === undefined ? {} : { ack }),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    }),
  );

/** A Kubernetes-looking object for a resource, sometimes with status and managedFields (which the builder strips). */
export const objectFor = (resource: ObjectResource): fc.Arbitrary<ObjectContent> =>
  fc
    .record({
      uid: idArbitrary,
      resourceVersion: resourceVersionArbitrary,
      spec: wireJsonArbitrary(2),
      status: optional(wireJsonArbitrary(2)),
      labels: optional(fc.dictionary(labelArbitrary, fc.string({ maxLength: 8 }), { maxKeys: 3 })),
      managedFields: fc.boolean(),
    })
    .map(({ uid, resourceVersion, spec, status, labels, managedFields }) => ({
      apiVersion: 'v1',
      kind: resource.type,
      metadata: {
        name: resource.name,
        ...(resource.namespace === null ? {} : { namespace: resource.namespace }),
        uid,
        resourceVersion,
        ...(labels === undefined ? {} : { labels }),
        ...(managedFields ? { managedFields: [{ manager: 'kubectl', operation: 'Apply' }] } : {}),
      },
      spec,
      ...(status === undefined ? {} : { status }),
    }));

const downObjectArbitrary: fc.Arbitrary<Frame> = desiredResourceArbitrary.chain((resource) =>
  fc
    .record({
      stamp: stampArbitrary,
      source: fc.constantFrom(...DOWN_SOURCES),
      operation: fc.constantFrom('insert' as const, 'update' as const),
      object: objectFor(resource),
      seq: seqArbitrary,
      ack: optional(positionArbitrary),
    })
    .map(({ stamp, ack, ...d }) => downObjectFrame(stamp, { ...d, type: resource.type, ...(ack === undefined ? {} : { ack }) })),
);

const downTombstoneArbitrary: fc.Arbitrary<Frame> = fc
  .record({
    stamp: stampArbitrary,
    source: fc.constantFrom(...DOWN_SOURCES),
    resource: desiredResourceArbitrary,
    uid: idArbitrary,
    resourceVersion: resourceVersionArbitrary,
    seq: seqArbitrary,
    ack: optional(positionArbitrary),
  })
  .map(({ stamp, ack, ...t }) => downTombstoneFrame(stamp, { ...t, ...(ack === undefined ? {} : { ack }) }));

/** Queries of every group; a service-bus target travels in group user, as the builder requires. */
export const queryFrameArbitrary: fc.Arbitrary<QueryFrame> = fc
  .record({
    stamp: stampArbitrary,
    source: moduleArbitrary,
    target: fc.oneof(
      fc.record({ group: fc.constantFrom('resource' as const, 'edgehive' as const), resource: resourceGroupResourceArbitrary }),
      fc.record({ group: fc.constant('user' as const), resource: fc.oneof(serviceBusResourceArbitrary, eventBusResourceArbitrary) }),
    ),
    content: wireJsonArbitrary(),
    ack: optional(positionArbitrary),
  })
  .map(({ stamp, ack, target, ...q }) => queryFrame(stamp, { ...q, ...target, ...(ack === undefined ? {} : { ack }) }));

const replyArbitrary = (kind: 'response' | 'error'): fc.Arbitrary<Frame> =>
  fc
    .record({
      request: queryFrameArbitrary,
      stamp: stampArbitrary,
      source: moduleArbitrary,
      content: wireJsonArbitrary(),
      text: fc.string({ maxLength: 40 }),
      resourceVersion: optional(resourceVersionArbitrary),
      ack: optional(positionArbitrary),
    })
    .map(({ request, stamp, source, content, text, resourceVersion, ack }) => {
      const extra = { ...(resourceVersion === undefined ? {} : { resourceVersion }), ...(ack === undefined ? {} : { ack }) };
      return kind === 'response' ? responseFrame(stamp, request, { source, content, ...extra }) : errorFrame(stamp, request, { source, content: text, ...extra });
    });

/** One generator per frame kind, so specs can name the kind a counterexample has. */
export const frameArbitraries: { readonly [K in FrameKind]: fc.Arbitrary<Frame> } = {
  edgeHello: withPassThrough(helloArbitrary('edge')),
  cloudHello: withPassThrough(helloArbitrary('cloud')),
  keepalive: withPassThrough(sessionArbitrary('keepalive')),
  ack: withPassThrough(sessionArbitrary('ack')),
  synced: withPassThrough(syncedArbitrary),
  upEvent: withPassThrough(upEventArbitrary),
  downObject: withPassThrough(downObjectArbitrary),
  downTombstone: withPassThrough(downTombstoneArbitrary),
  query: withPassThrough(queryFrameArbitrary),
  response: withPassThrough(replyArbitrary('response')),
  error: withPassThrough(replyArbitrary('error')),
};

/** Any valid frame. */
export const frameArbitrary: fc.Arbitrary<Frame> = fc.oneof(...Object.values(frameArbitraries));
