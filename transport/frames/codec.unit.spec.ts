// The codec. Method: round trips by property for every frame kind; one table row per malformed
// case with the exact error (problem, path, close code, reason); what is tolerated (unknown keys,
// omitempty spellings) decodes to the frame without it; limits are probed at their edges.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../../kernel/index.js';
import {
  DEFAULT_FRAME_LIMITS,
  FRAME_BYTES_MAX_DEFAULT,
  FRAME_DEPTH_MAX,
  decodeFrame,
  encodeFrame,
  encodeFrameWithin,
  type FrameError,
  type UndecodableProblem,
} from './codec.js';
import { frameArbitraries, frameArbitrary } from './frame.arbitraries.testing.js';
import { downObjectFrame, keepaliveFrame, type Frame, type FrameKind } from './frame.js';

const limits = DEFAULT_FRAME_LIMITS;
type Wire = { header: Record<string, unknown>; route: Record<string, unknown>; content?: unknown; [key: string]: unknown };

const header = { msg_id: 'm-1', timestamp: 1_717_000_000_123 };
const nodeRoute = (source: string, operation: string) => ({ source, group: 'edgehive', operation, resource: 'null/node/edge-1' });
const base = {
  edgeHello: { header, route: nodeRoute('websocket', 'hello'), content: { protocolVersion: 1, nodeName: 'edge-1', clusterId: null, journalId: 'j-1', upFloor: 0, outboxHead: 2 } },
  cloudHello: { header, route: nodeRoute('cloudhub', 'hello'), content: { protocolVersion: 1, nodeName: 'edge-1', clusterId: 'c-1', journalId: 'j-1', upAcked: 4, sync: 'resume' } },
  synced: { header: { ...header, seq: 2 }, route: nodeRoute('cloudhub', 'synced'), content: null },
  keepalive: { header, route: nodeRoute('websocket', 'keepalive'), content: 'ping' },
  ack: { header: { ...header, ack: 3 }, route: nodeRoute('cloudhub', 'ack'), content: null },
  upEvent: { header: { ...header, seq: 5 }, route: { source: 'edged', group: 'resource', operation: 'update', resource: 'default/podstatus/web' }, content: { phase: 'Running' } },
  deviceEvent: {
    header: { ...header, seq: 6 },
    route: { source: 'twin', group: 'resource', operation: 'update', resource: 'device/default/thermo-1/twin/edge_updated' },
    content: { event_id: 'e-1', timestamp: 1, twin: {} },
  },
  downObject: {
    header: { ...header, resourceversion: '48213', seq: 1 },
    route: { source: 'edgecontroller', group: 'resource', operation: 'update', resource: 'default/configmap/app-cfg' },
    content: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-cfg', namespace: 'default', uid: 'u-1', resourceVersion: '48213' }, data: { a: '1' } },
  },
  downNode: {
    header: { ...header, resourceversion: '7', seq: 2 },
    route: { source: 'edgecontroller', group: 'resource', operation: 'update', resource: 'null/node/edge-1' },
    content: { metadata: { name: 'edge-1', uid: 'n-1' } },
  },
  downTombstone: {
    header: { ...header, resourceversion: '48300', seq: 3 },
    route: { source: 'edgecontroller', group: 'resource', operation: 'delete', resource: 'default/configmap/app-cfg' },
    content: { uid: 'u-1' },
  },
  query: { header: { ...header, sync: true }, route: { source: 'metamanager', group: 'resource', operation: 'query', resource: 'default/configmap/app-cfg' }, content: null },
  response: { header: { msg_id: 'm-1', parent_msg_id: 'm-0', timestamp: 1_717_000_000_123 }, route: { source: 'edgecontroller', group: 'resource', operation: 'response', resource: 'default/configmap/app-cfg' }, content: 'OK' },
  error: { header: { msg_id: 'm-1', parent_msg_id: 'm-0', timestamp: 1_717_000_000_123 }, route: { source: 'edgecontroller', group: 'resource', operation: 'error', resource: 'default/configmap/app-cfg' }, content: 'not found' },
  serviceBusQuery: {
    header: { ...header, sync: true },
    route: { source: 'router_servicebus', group: 'user', operation: 'query', resource: '8080:/api/v1/temp' },
    content: { header: { Accept: ['application/json'] }, body: '', method: 'GET', url: '/api/v1/temp?unit=c' },
  },
  serviceBusResponse: {
    header: { msg_id: 'm-1', parent_msg_id: 'm-0', timestamp: 1_717_000_000_123 },
    route: { source: 'servicebus', group: 'user', operation: 'response', resource: '8080:/api/v1/temp' },
    content: { status_code: 200, header: { 'Content-Type': ['application/json'] }, body: 'eyJ0IjoyMX0=' },
  },
  upload: {
    header: { ...header, type: 'EventBusUploaded.v1', seq: 7 },
    route: { source: 'eventbus', group: 'user', operation: 'upload', resource: '$hw/events/upload/temperature' },
    content: { resource: '$hw/events/upload/temperature', topic: '$hw/events/upload/temperature', payload: '21.5' },
  },
  eventBusPublish: {
    header: { ...header, sync: true },
    route: { source: 'router_eventbus', group: 'user', operation: 'query', resource: 'default/configmap/app-cfg' },
    content: { payload: 'on' },
  },
} satisfies Record<string, Wire>;
type Base = keyof typeof base;

/** A copy of a base message with one dotted path set to a value, or removed when the value is `undefined`. */
function edited(name: Base, path: string, value: unknown): string {
  const message = structuredClone(base[name]) as Record<string, unknown>;
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let at = message;
  for (const key of keys) at = at[key] as Record<string, unknown>;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return JSON.stringify(message);
}

const undecodable = (problem: UndecodableProblem, path: string, message: string): FrameError => ({
  kind: 'FrameUndecodable',
  closeCode: 1007,
  problem,
  path,
  reason: `${path === '' ? 'frame' : path} ${message}`,
});
const shape = (path: string, message: string): FrameError => undecodable('badShape', path, message);

describe('round trips', () => {
  it.each(Object.keys(frameArbitraries) as FrameKind[])('decode(encode(f)) is f for every %s frame', (kind) => {
    fc.assert(
      fc.property(frameArbitraries[kind], (frame) => {
        const text = encodeFrame(frame);
        expect(decodeFrame(text, limits)).toEqual({ ok: true, value: frame });
        expect(decodeFrame(Buffer.from(text, 'utf8'), limits)).toEqual({ ok: true, value: frame });
      }),
      { numRuns: 200 },
    );
  });

  it('encoding is stable: a decoded frame encodes to the text it came from', () => {
    fc.assert(
      fc.property(frameArbitrary, (frame) => {
        const text = encodeFrame(frame);
        const decoded = decodeFrame(text, limits);
        expect(decoded.ok && encodeFrame(decoded.value)).toBe(text);
      }),
    );
  });

  it('decodes each base message to its kind', () => {
    const kinds: Record<Base, FrameKind> = {
      edgeHello: 'edgeHello',
      cloudHello: 'cloudHello',
      keepalive: 'keepalive',
      ack: 'ack',
      synced: 'synced',
      upEvent: 'upEvent',
      deviceEvent: 'upEvent',
      downObject: 'downObject',
      downNode: 'downObject',
      downTombstone: 'downTombstone',
      query: 'query',
      response: 'response',
      error: 'error',
      serviceBusQuery: 'query',
      serviceBusResponse: 'response',
      upload: 'upEvent',
      eventBusPublish: 'query',
    };
    for (const name of Object.keys(base) as Base[]) {
      const decoded = decodeFrame(JSON.stringify(base[name]), limits);
      expect(decoded.ok && decoded.value.kind, name).toBe(kinds[name]);
      expect(decoded.ok && encodeFrame(decoded.value), name).toBe(JSON.stringify(base[name]));
    }
  });

  it('writes header and route keys in a fixed order, and neither kind nor target', () => {
    const frame = downObjectFrame(
      { msgId: 'm-1', timestampMs: 5 },
      { operation: 'insert', type: 'pod', object: { metadata: { name: 'web', namespace: 'default', uid: 'u', resourceVersion: '2' } }, seq: 9, ack: 1 },
    );
    expect(encodeFrame(frame)).toBe(
      '{"header":{"msg_id":"m-1","timestamp":5,"resourceversion":"2","seq":9,"ack":1},' +
        '"route":{"source":"edgecontroller","group":"resource","operation":"insert","resource":"default/pod/web"},' +
        '"content":{"metadata":{"name":"web","namespace":"default","uid":"u","resourceVersion":"2"}}}',
    );
  });

  it('refuses to encode a frame whose target and route.resource disagree (a bug, so it throws)', () => {
    const frame = keepaliveFrame({ msgId: 'm', timestampMs: 1 }, { from: 'edge', nodeName: 'edge-1' });
    const broken = { ...frame, target: { ...frame.target, name: 'edge-2' } } as Frame;
    expect(() => encodeFrame(broken)).toThrow(InvariantViolation);
  });
});

describe('malformed frames are refused with 1007 and an exact reason', () => {
  it.each<[string, string | Buffer, FrameError]>([
    ['truncated JSON', '{"header":', undecodable('notJson', '', 'is not valid JSON')],
    ['empty text', '', undecodable('notJson', '', 'is not valid JSON')],
    ['a byte order mark', `\ufeff${JSON.stringify(base.keepalive)}`, undecodable('notJson', '', 'is not valid JSON')],
    ['invalid UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), undecodable('notUtf8', '', 'is not valid UTF-8')],
    ['an array', '[]', shape('', 'must be a JSON object')],
    ['null', 'null', shape('', 'must be a JSON object')],
    ['a string', '"ping"', shape('', 'must be a JSON object')],
    ['no header', edited('keepalive', 'header', undefined), shape('header', 'must be an object')],
    ['an array header', edited('keepalive', 'header', []), shape('header', 'must be an object')],
    ['no route', edited('keepalive', 'route', undefined), shape('route', 'must be an object')],
    ['Go-style router instead of route', JSON.stringify({ header, router: base.keepalive.route, content: 'ping' }), shape('route', 'must be an object')],
    ['no content', edited('keepalive', 'content', undefined), shape('content', 'is required')],
    ['no msg_id', edited('keepalive', 'header.msg_id', undefined), shape('header.msg_id', 'must be 1-128 printable ASCII characters')],
    ['a numeric msg_id', edited('keepalive', 'header.msg_id', 7), shape('header.msg_id', 'must be 1-128 printable ASCII characters')],
    ['an empty msg_id', edited('keepalive', 'header.msg_id', ''), shape('header.msg_id', 'must be 1-128 printable ASCII characters')],
    ['a msg_id with a space', edited('keepalive', 'header.msg_id', 'a b'), shape('header.msg_id', 'must be 1-128 printable ASCII characters')],
    ['a 129-character msg_id', edited('keepalive', 'header.msg_id', 'm'.repeat(129)), shape('header.msg_id', 'must be 1-128 printable ASCII characters')],
    ['no timestamp', edited('keepalive', 'header.timestamp', undefined), shape('header.timestamp', 'must be a non-negative integer of milliseconds')],
    ['a negative timestamp', edited('keepalive', 'header.timestamp', -1), shape('header.timestamp', 'must be a non-negative integer of milliseconds')],
    ['a fractional timestamp', edited('keepalive', 'header.timestamp', 1.5), shape('header.timestamp', 'must be a non-negative integer of milliseconds')],
    ['a string timestamp', edited('keepalive', 'header.timestamp', '1717000000123'), shape('header.timestamp', 'must be a non-negative integer of milliseconds')],
    ['an unsafe timestamp', edited('keepalive', 'header.timestamp', 2 ** 53), shape('header.timestamp', 'must be a non-negative integer of milliseconds')],
    ['a numeric parent_msg_id', edited('response', 'header.parent_msg_id', 5), shape('header.parent_msg_id', 'must be 1-128 printable ASCII characters')],
    ['a non-decimal resourceversion', edited('downObject', 'header.resourceversion', 'abc'), shape('header.resourceversion', 'must be a decimal resourceVersion')],
    ['a zero-padded resourceversion', edited('downObject', 'header.resourceversion', '048213'), shape('header.resourceversion', 'must be a decimal resourceVersion')],
    ['a numeric resourceversion', edited('downObject', 'header.resourceversion', 48213), shape('header.resourceversion', 'must be a decimal resourceVersion')],
    ['a string sync', edited('query', 'header.sync', 'true'), shape('header.sync', 'must be a boolean')],
    ['a numeric type', edited('keepalive', 'header.type', 1), shape('header.type', 'must be a string of at most 256 characters')],
    ['seq 0', edited('upEvent', 'header.seq', 0), shape('header.seq', 'must be a safe integer >= 1')],
    ['a negative seq', edited('upEvent', 'header.seq', -5), shape('header.seq', 'must be a safe integer >= 1')],
    ['a fractional seq', edited('upEvent', 'header.seq', 1.5), shape('header.seq', 'must be a safe integer >= 1')],
    ['a string seq', edited('upEvent', 'header.seq', '5'), shape('header.seq', 'must be a safe integer >= 1')],
    ['an unsafe seq', edited('upEvent', 'header.seq', 2 ** 53), shape('header.seq', 'must be a safe integer >= 1')],
    ['a negative ack', edited('ack', 'header.ack', -1), shape('header.ack', 'must be a safe integer >= 0')],
    ['a numeric source', edited('upEvent', 'route.source', 1), shape('route.source', 'must be a string')],
    ['an unknown source', edited('upEvent', 'route.source', 'nobody'), shape('route.source', '"nobody" is not a known module')],
    ['a numeric destination', edited('upEvent', 'route.destination', 1), shape('route.destination', 'must be a string of at most 256 characters')],
    ['no group', edited('upEvent', 'route.group', undefined), shape('route.group', 'must be a string')],
    ['group bus', edited('upEvent', 'route.group', 'bus'), shape('route.group', '"bus" is not a group edgehive accepts')],
    ['an update in group user', edited('upEvent', 'route.group', 'user'), shape('route.operation', '"update" is not an operation of group user')],
    ['a service-bus target in group resource', edited('serviceBusQuery', 'route.group', 'resource'), undecodable('badResource', 'route.resource', 'service-bus and EventBus resources travel in group user, and only they')],
    ['a topic with a wildcard in group user', edited('eventBusPublish', 'route.resource', 'lights/+/set'), undecodable('badResource', 'route.resource', 'an EventBus topic is 1-512 characters without wildcards or control characters')],
    ['an upload topic in group resource', edited('upload', 'route.group', 'resource'), shape('route.operation', '"upload" is not an operation of group resource')],
    ['an upload sent as an update', edited('upload', 'route.operation', 'update'), shape('route.operation', '"update" is not an operation of group user')],
    ['a service-bus target uploaded', edited('upload', 'route.resource', '8080:/temp'), undecodable('badResource', 'route.resource', 'an up event names one object, device or EventBus topic')],
    ['an EventBus topic reported as a pod', edited('upEvent', 'route.group', 'user'), shape('route.operation', '"update" is not an operation of group user')],
    ['an upload without seq', edited('upload', 'header.seq', undefined), shape('header.seq', 'is required on upEvent frames')],
    ['a service-bus target with a query string', edited('serviceBusQuery', 'route.resource', '8080:/temp?unit=c'), undecodable('badResource', 'route.resource', 'service path must be an absolute URL path without query or fragment')],
    ['a service-bus target on port 0', edited('serviceBusResponse', 'route.resource', '0:/temp'), undecodable('badResource', 'route.resource', 'service port must be 1-65535 without leading zeros')],
    ['group toString', edited('upEvent', 'route.group', 'toString'), shape('route.group', '"toString" is not a group edgehive accepts')],
    ['no operation', edited('upEvent', 'route.operation', undefined), shape('route.operation', 'must be a string')],
    ['hello in group resource', edited('upEvent', 'route.operation', 'hello'), shape('route.operation', '"hello" is not an operation of group resource')],
    ['upload in group resource', edited('upEvent', 'route.operation', 'upload'), shape('route.operation', '"upload" is not an operation of group resource')],
    ['update in group edgehive', edited('keepalive', 'route.operation', 'update'), shape('route.operation', '"update" is not an operation of group edgehive')],
    ['a numeric resource', edited('upEvent', 'route.resource', 1), shape('route.resource', 'must be a string')],
    ['an unknown resource type', edited('upEvent', 'route.resource', 'default/widget/x'), undecodable('badResource', 'route.resource', 'unknown resource type')],
    ['the cloud-internal form', edited('upEvent', 'route.resource', 'node/edge-1/default/pod/web'), undecodable('badResource', 'route.resource', 'cloud-internal node/<nodeID>/ prefix is not allowed here')],
    ['a hello from edged', edited('edgeHello', 'route.source', 'edged'), shape('route.source', 'hello frames come from websocket or cloudhub')],
    ['a keepalive from metamanager', edited('keepalive', 'route.source', 'metamanager'), shape('route.source', 'keepalive frames come from websocket or cloudhub')],
    ['an update from cloudhub', edited('upEvent', 'route.source', 'cloudhub'), shape('route.source', '"cloudhub" sends no sequenced frames')],
    ['a patch going down', edited('downObject', 'route.operation', 'patch'), shape('route.operation', 'down frames are insert, update or delete')],
    ['an up event without seq', edited('upEvent', 'header.seq', undefined), shape('header.seq', 'is required on upEvent frames')],
    ['a keepalive with seq', edited('keepalive', 'header.seq', 1), shape('header.seq', 'is not allowed on keepalive frames')],
    ['a hello with ack', edited('edgeHello', 'header.ack', 1), shape('header.ack', 'is not allowed on edgeHello frames')],
    ['an ack without ack', edited('ack', 'header.ack', undefined), shape('header.ack', 'is required on ack frames')],
    ['a query without sync', edited('query', 'header.sync', undefined), shape('header.sync', 'must be true on query frames')],
    ['a sync update', edited('upEvent', 'header.sync', true), shape('header.sync', 'must not be true on upEvent frames')],
    ['a response without parent', edited('response', 'header.parent_msg_id', undefined), shape('header.parent_msg_id', 'is required on response frames')],
    ['an up event with a parent', edited('upEvent', 'header.parent_msg_id', 'm-0'), shape('header.parent_msg_id', 'is not allowed on upEvent frames')],
    ['a desired object without resourceversion', edited('downObject', 'header.resourceversion', undefined), shape('header.resourceversion', 'is required on downObject frames')],
    ['a tombstone without resourceversion', edited('downTombstone', 'header.resourceversion', ''), shape('header.resourceversion', 'is required on downTombstone frames')],
    ['a keepalive saying pong', edited('keepalive', 'content', 'pong'), shape('content', 'of a keepalive must be "ping"')],
    ['an ack saying OK', edited('ack', 'content', 'OK'), shape('content', 'of an ack frame must be null')],
    ['a hello for a pod', edited('edgeHello', 'route.resource', 'default/pod/edge-1'), undecodable('badResource', 'route.resource', 'of edgeHello frames must be null/node/<nodeName>')],
    ['a hello with text content', edited('edgeHello', 'content', 'hello'), shape('content', 'of a hello must be an object')],
    ['protocol version 0', edited('edgeHello', 'content.protocolVersion', 0), shape('content.protocolVersion', 'must be a positive integer')],
    ['a hello for another node', edited('edgeHello', 'content.nodeName', 'edge-2'), shape('content.nodeName', 'must equal the node named in route.resource')],
    ['an edge hello with an empty clusterId', edited('edgeHello', 'content.clusterId', ''), shape('content.clusterId', 'must be an id or null')],
    ['an edge hello without journalId', edited('edgeHello', 'content.journalId', null), shape('content.journalId', 'must be an id')],
    ['a cloud hello without clusterId', edited('cloudHello', 'content.clusterId', null), shape('content.clusterId', 'must be an id')],
    ['a cloud hello with a numeric journalId', edited('cloudHello', 'content.journalId', 3), shape('content.journalId', 'must be an id or null')],
    ['a cloud hello without upAcked', edited('cloudHello', 'content.upAcked', undefined), shape('content.upAcked', 'must be a safe integer >= 0')],
    ['an up event for a list', edited('upEvent', 'route.resource', 'default/pod'), undecodable('badResource', 'route.resource', 'an up event names one object, device or EventBus topic')],
    ['a device event inserted', edited('deviceEvent', 'route.operation', 'insert'), shape('route.operation', 'device events are updates')],
    ['a lease going down', edited('downObject', 'route.resource', 'default/lease/app-cfg'), undecodable('badResource', 'route.resource', 'type lease is never in a desired set')],
    ['a list going down', edited('downObject', 'route.resource', 'default/configmap'), undecodable('badResource', 'route.resource', 'a down frame names one object')],
    ['a desired object as text', edited('downObject', 'content', '{}'), shape('content', 'of a downObject frame must be an object')],
    ['a desired object without metadata', edited('downObject', 'content.metadata', undefined), shape('content.metadata', 'must be an object')],
    ['a desired object without uid', edited('downObject', 'content.metadata.uid', undefined), shape('content.metadata.uid', 'must be an id')],
    ['a desired object named otherwise', edited('downObject', 'content.metadata.name', 'other'), shape('content.metadata.name', 'must equal the name in route.resource')],
    ['a desired object in another namespace', edited('downObject', 'content.metadata.namespace', 'prod'), shape('content.metadata.namespace', 'must equal the namespace in route.resource')],
    ['a namespaced desired object without namespace', edited('downObject', 'content.metadata.namespace', undefined), shape('content.metadata.namespace', 'must equal the namespace in route.resource')],
    ['a node with a namespace', edited('downNode', 'content.metadata.namespace', 'default'), shape('content.metadata.namespace', 'must equal the namespace in route.resource')],
    ['a desired object at another revision', edited('downObject', 'content.metadata.resourceVersion', '1'), shape('content.metadata.resourceVersion', 'must equal header.resourceversion')],
    ['a tombstone without uid', edited('downTombstone', 'content.uid', undefined), shape('content.uid', 'must be an id')],
    ['a tombstone as an array', edited('downTombstone', 'content', ['u-1']), shape('content', 'of a downTombstone frame must be an object')],
    ['an error with an object', edited('error', 'content', { message: 'x' }), shape('content', 'of an error frame must be the error text')],
    ['a number out of range in content', '{"header":{"msg_id":"m","timestamp":1,"seq":1},"route":{"source":"edged","group":"resource","operation":"update","resource":"default/pod/web"},"content":{"x":[1e400]}}', undecodable('badNumber', 'content.x[0]', 'is a number out of range')],
    ['a number out of range in the header', '{"header":{"msg_id":"m","timestamp":1e400},"route":{},"content":null}', undecodable('badNumber', 'header.timestamp', 'is a number out of range')],
    ['__proto__ in content', edited('upEvent', 'content', JSON.parse('{"spec":{"__proto__":{"polluted":true}}}')), undecodable('forbiddenKey', 'content.spec', 'has the forbidden key __proto__')],
    ['__proto__ in the header', '{"header":{"__proto__":{"msg_id":"m"},"timestamp":1},"route":{},"content":null}', undecodable('forbiddenKey', 'header', 'has the forbidden key __proto__')],
    ['__proto__ at the top', '{"__proto__":{"header":{}}}', undecodable('forbiddenKey', '', 'has the forbidden key __proto__')],
    ['__proto__ under an odd key', edited('upEvent', 'content', JSON.parse('{"a b":[{"__proto__":1}]}')), undecodable('forbiddenKey', 'content["a b"][0]', 'has the forbidden key __proto__')],
  ])('%s', (_, text, error) => {
    expect(decodeFrame(text, limits)).toEqual({ ok: false, error });
  });

  it('prototype keys never answer for missing fields', () => {
    // `constructor` and `toString` exist on every object's prototype; own-property reads ignore them.
    expect(decodeFrame(edited('upEvent', 'route.group', 'constructor'), limits)).toEqual({ ok: false, error: shape('route.group', '"constructor" is not a group edgehive accepts') });
    expect(decodeFrame(edited('upEvent', 'route.source', 'hasOwnProperty'), limits)).toEqual({ ok: false, error: shape('route.source', '"hasOwnProperty" is not a known module') });
  });

  it('a polluted Object.prototype does not supply missing fields', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto['seq'] = 1;
    proto['msg_id'] = 'from-the-prototype';
    try {
      expect(decodeFrame(edited('upEvent', 'header.seq', undefined), limits)).toEqual({ ok: false, error: shape('header.seq', 'is required on upEvent frames') });
      expect(decodeFrame(edited('upEvent', 'header.msg_id', undefined), limits)).toEqual({ ok: false, error: shape('header.msg_id', 'must be 1-128 printable ASCII characters') });
    } finally {
      delete proto['seq'];
      delete proto['msg_id'];
    }
  });

  it('escapes and cuts peer text in reasons', () => {
    const decoded = decodeFrame(edited('upEvent', 'route.source', `é${'x'.repeat(200)}`), limits);
    expect(decoded).toEqual({ ok: false, error: shape('route.source', `"\\u00e9${'x'.repeat(31)}..." is not a known module`) });
  });
});

describe('what is tolerated', () => {
  const decodedBase = (name: Base): Frame => {
    const decoded = decodeFrame(JSON.stringify(base[name]), limits);
    if (!decoded.ok) throw new Error(decoded.error.reason);
    return decoded.value;
  };

  it('unknown keys at the top, in header, route, hello and tombstone content are dropped, as KubeEdge ignores them', () => {
    const extra = (name: Base, path: string) => JSON.parse(edited(name, path, { future: [1, 2] })) as unknown;
    for (const [name, path] of [
      ['keepalive', 'extension'],
      ['keepalive', 'header.trace'],
      ['keepalive', 'route.priority'],
      ['edgeHello', 'content.features'],
      ['cloudHello', 'content.leaseHolder'],
      ['downTombstone', 'content.name'],
    ] as const) {
      expect(decodeFrame(JSON.stringify(extra(name, path)), limits), `${name} ${path}`).toEqual({ ok: true, value: decodedBase(name) });
    }
  });

  it('unknown keys in object content are the object\'s own and are kept', () => {
    const decoded = decodeFrame(edited('downObject', 'content.spec', { newField: 1 }), limits);
    expect(decoded.ok && decoded.value.content).toEqual({ ...base.downObject.content, spec: { newField: 1 } });
  });

  it('empty strings, null and sync false in optional fields mean absent, as Go omitempty writes them', () => {
    const upEvent = decodedBase('upEvent');
    for (const [path, value] of [
      ['header.parent_msg_id', ''],
      ['header.parent_msg_id', null],
      ['header.resourceversion', ''],
      ['header.sync', false],
      ['header.type', ''],
      ['header.ack', null],
      ['route.destination', ''],
    ] as const) {
      expect(decodeFrame(edited('upEvent', path, value), limits), `${path}=${JSON.stringify(value)}`).toEqual({ ok: true, value: upEvent });
    }
  });

  it('a cluster-scoped object may spell its empty namespace "", and any object may omit metadata.resourceVersion', () => {
    expect(decodeFrame(edited('downNode', 'content.metadata.namespace', ''), limits).ok).toBe(true);
    expect(decodeFrame(edited('downObject', 'content.metadata.resourceVersion', undefined), limits).ok).toBe(true);
  });

  it('constructor and prototype are ordinary keys in content: kept as data, prototypes untouched', () => {
    const content = JSON.parse('{"data":{"constructor":{"prototype":{"polluted":"yes"}},"prototype":"x"}}') as unknown;
    const decoded = decodeFrame(edited('upEvent', 'content', content), limits);
    expect(decoded.ok && decoded.value.content).toEqual(content);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(Object.prototype)).toBeNull();
  });

  it('a hello from a newer protocol version still decodes, so the session can refuse it with a clear reason', () => {
    const decoded = decodeFrame(edited('edgeHello', 'content.protocolVersion', 9), limits);
    expect(decoded.ok && decoded.value.kind === 'edgeHello' && decoded.value.content.protocolVersion).toBe(9);
  });
});

describe('limits', () => {
  it('frameBytesMax defaults to 4 MiB', () => {
    expect(FRAME_BYTES_MAX_DEFAULT).toBe(4 * 1024 * 1024);
    expect(DEFAULT_FRAME_LIMITS).toEqual({ frameBytesMax: FRAME_BYTES_MAX_DEFAULT });
  });

  it('counts UTF-8 bytes, not characters: a frame of exactly the limit passes, one byte more is 1009', () => {
    const text = edited('upEvent', 'content', 'é'.repeat(100));
    const bytes = Buffer.byteLength(text, 'utf8');
    expect(text.length).toBeLessThan(bytes);
    expect(decodeFrame(text, { frameBytesMax: bytes }).ok).toBe(true);
    const expected: FrameError = { kind: 'FrameTooLarge', closeCode: 1009, reason: `frame too large: ${bytes} bytes, limit ${bytes - 1}`, bytes, frameBytesMax: bytes - 1 };
    expect(decodeFrame(text, { frameBytesMax: bytes - 1 })).toEqual({ ok: false, error: expected });
    expect(decodeFrame(Buffer.from(text, 'utf8'), { frameBytesMax: bytes - 1 })).toEqual({ ok: false, error: expected });
  });

  it('checks size before anything else: an oversized frame is 1009 even when it is not JSON', () => {
    const decoded = decodeFrame(Buffer.alloc(11, 0xff), { frameBytesMax: 10 });
    expect(!decoded.ok && decoded.error.closeCode).toBe(1009);
  });

  it(`accepts nesting of exactly ${FRAME_DEPTH_MAX} and refuses one more`, () => {
    // The frame object is level 1, so content may be FRAME_DEPTH_MAX - 1 nested arrays (levels 2 to 100).
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    const frame = (levels: number) => edited('upEvent', 'content', null).replace('"content":null', `"content":${nested(levels)}`);
    expect(decodeFrame(frame(FRAME_DEPTH_MAX - 1), limits).ok).toBe(true);
    const decoded = decodeFrame(frame(FRAME_DEPTH_MAX), limits);
    expect(decoded.ok).toBe(false);
    if (decoded.ok || decoded.error.kind !== 'FrameUndecodable') throw new Error('expected an undecodable frame');
    expect(decoded.error.problem).toBe('tooDeep');
    expect(decoded.error.path).toBe(`content${'[0]'.repeat(FRAME_DEPTH_MAX - 1)}`);
    expect(decoded.error.reason.length).toBeLessThanOrEqual(123);
  });

  it('survives a frame that is nothing but nesting', () => {
    const decoded = decodeFrame(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`, limits);
    expect(!decoded.ok && decoded.error.kind === 'FrameUndecodable' && decoded.error.problem).toBe('tooDeep');
  });
});

describe('encodeFrameWithin', () => {
  const object = (data: Record<string, unknown>) =>
    downObjectFrame({ msgId: 'm', timestampMs: 1 }, { operation: 'update', type: 'configmap', object: JSON.parse(JSON.stringify({ metadata: { name: 'big', namespace: 'default', uid: 'u', resourceVersion: '1' }, data })), seq: 1 });

  it('gives the encoded text when the peer would accept it', () => {
    const frame = object({ a: '1' });
    expect(encodeFrameWithin(frame, limits)).toEqual({ ok: true, value: encodeFrame(frame) });
  });

  it('gives the error the peer would close with, so the sender can skip the object instead', () => {
    const tooBig = encodeFrameWithin(object({ a: 'x'.repeat(2000) }), { frameBytesMax: 1000 });
    expect(!tooBig.ok && tooBig.error.closeCode).toBe(1009);
    const proto = encodeFrameWithin(object(JSON.parse('{"__proto__":"x"}') as Record<string, unknown>), limits);
    expect(!proto.ok && proto.error.reason).toBe('content.data has the forbidden key __proto__');
  });
});

