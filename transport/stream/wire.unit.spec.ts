// The mapping between the sync cores' messages and beehive frames, given/when/then: object keys
// and resource strings, the default up route, and that what one side writes the other reads back.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FRAME_LIMITS, FRAME_DEPTH_MAX, contentHash, decodeFrame, desiredContentOf, encodeFrame } from '../frames/codec.js';
import fc from 'fast-check';
import { DownFrameWriter, UpFrameWriter, atCloud, atEdge, cloudFrameOf, defaultUpRoute, edgeFrameOf, objectKeyOf, resourceOfKey, type UpRoute } from './wire.js';
import type { CloudToEdgeFrame, DownFrame, EdgeToCloudFrame, UpFrame } from '../sync/index.js';
import type { JsonValue } from '../../kernel/index.js';

const stamp = { msgId: 'm-1', timestampMs: 1 };
const route = defaultUpRoute('edge-1');
const overTheWire = (frame: ReturnType<typeof encodeFrame>) => {
  const decoded = decodeFrame(frame, DEFAULT_FRAME_LIMITS);
  if (!decoded.ok) throw new Error(decoded.error.reason);
  return decoded.value;
};

describe('object keys', () => {
  it('name namespaced and cluster-scoped objects and read back as their wire resource', () => {
    expect(objectKeyOf('configmap', 'default', 'app')).toBe('configmaps/default/app');
    expect(objectKeyOf('node', null, 'edge-1')).toBe('nodes//edge-1');
    expect(resourceOfKey('configmaps/default/app')).toEqual({ kind: 'object', namespace: 'default', type: 'configmap', name: 'app' });
    expect(resourceOfKey('nodes//edge-1')).toEqual({ kind: 'object', namespace: null, type: 'node', name: 'edge-1' });
    expect(resourceOfKey('leases/kube-node-lease/edge-1')).toBeUndefined();
    expect(resourceOfKey('configmaps/default/app/extra')).toBeUndefined();
  });
});

describe('the default up route', () => {
  it('goes to the resource an event names, as KubeEdge modules would send it, else to the node', () => {
    expect(route({ type: 'PodStatusReported.v1', data: { resource: 'default/podstatus/web' } })).toEqual({ source: 'edged', operation: 'update', resource: { kind: 'object', namespace: 'default', type: 'podstatus', name: 'web' } });
    expect(route({ type: 'TwinReported.v1', data: { resource: 'device/default/thermo/twin/edge_updated' } }).source).toBe('twin');
    expect(route({ type: 'X.v1', data: { resource: 'not a resource' } }).resource).toEqual({ kind: 'object', namespace: null, type: 'nodestatus', name: 'edge-1' });
    expect(route({ type: 'X.v1', data: 7 }).resource).toEqual({ kind: 'object', namespace: null, type: 'nodestatus', name: 'edge-1' });
  });

  it('sends an upload topic as KubeEdge\'s EventBus does (source eventbus, operation upload, the topic as resource), and any other topic to the node', () => {
    const topic = '$hw/events/upload/sensors/temperature';
    expect(route({ type: 'EventBusUploaded.v1', data: { resource: topic } })).toEqual({ source: 'eventbus', operation: 'upload', resource: { kind: 'eventBus', topic } });
    expect(route({ type: 'X.v1', data: { resource: '$hw/events/device/default/t/twin/update' } }).resource).toEqual({ kind: 'object', namespace: null, type: 'nodestatus', name: 'edge-1' });
    expect(route({ type: 'X.v1', data: { resource: '$hw/events/upload/#' } }).resource).toEqual({ kind: 'object', namespace: null, type: 'nodestatus', name: 'edge-1' });
  });

  it('an upload goes over the wire in group user and reads back at the cloud with its topic', () => {
    const topic = '$hw/events/upload/Température/ü';
    const message: EdgeToCloudFrame = { kind: 'up', seq: 9, event: { type: 'EventBusUploaded.v1', data: { resource: topic, topic, payload: 'x' } } };
    const frame = overTheWire(encodeFrame(edgeFrameOf(message, 'edge-1', stamp, route)));
    expect(frame.route).toMatchObject({ source: 'eventbus', group: 'user', operation: 'upload', resource: topic });
    const read = atCloud(frame);
    expect(read.ok && read.value.kind === 'sync' && read.value.up?.resource).toEqual({ kind: 'eventBus', topic });
  });
});

describe('round trips through the codec', () => {
  it('edge messages read back at the cloud as what was sent, the event type in header.type', () => {
    const messages: EdgeToCloudFrame[] = [
      { kind: 'hello', role: 'edge', protocolVersion: 1, nodeName: 'edge-1', clusterId: null, journalId: 'j-1', upFloor: 2, outboxHead: 9 },
      { kind: 'up', seq: 3, event: { type: 'PodStatusReported.v1', data: { resource: 'default/podstatus/web', phase: 'Running' } } },
      { kind: 'ack', upTo: 12 },
    ];
    for (const message of messages) {
      const frame = overTheWire(encodeFrame(edgeFrameOf(message, 'edge-1', stamp, route)));
      const read = atCloud(frame);
      expect(read.ok && read.value.kind === 'sync' && read.value.message).toEqual(message);
    }
  });

  it('cloud messages read back at the edge, desired content hashed the same on both sides', () => {
    const content = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default', uid: 'u-1' }, data: { a: '1' } };
    const messages: CloudToEdgeFrame[] = [
      { kind: 'hello', role: 'cloud', protocolVersion: 1, nodeName: 'edge-1', clusterId: 'c-1', journalId: 'j-1', upAcked: 4, sync: 'full' },
      { kind: 'tombstone', seq: 2, uid: 'u-0', key: 'configmaps/default/old', resourceVersion: '41' },
      { kind: 'synced', seq: 3 },
      { kind: 'ack', upTo: 5 },
    ];
    for (const message of messages) {
      const read = atEdge(overTheWire(encodeFrame(cloudFrameOf(message, 'edge-1', stamp))));
      expect(read.ok && read.value.kind === 'sync' && read.value.message).toEqual(message);
    }
    const desired = atEdge(overTheWire(encodeFrame(cloudFrameOf({ kind: 'desired', seq: 1, uid: 'u-1', key: 'configmaps/default/app', resourceVersion: '42', contentHash: 'ignored-by-the-wire', content }, 'edge-1', stamp))));
    expect(desired.ok && desired.value.kind === 'sync' && desired.value.message).toMatchObject({ kind: 'desired', seq: 1, uid: 'u-1', key: 'configmaps/default/app', resourceVersion: '42', content });
    // The edge hashes what it received as the cloud hashes its desired content (resourceVersion travels in the header only).
    expect(desired.ok && desired.value.kind === 'sync' && desired.value.message.kind === 'desired' && desired.value.message.contentHash).toBe(contentHash(desiredContentOf(content)));
  });

  it('refuses frames travelling the wrong way', () => {
    const hello = overTheWire(encodeFrame(edgeFrameOf({ kind: 'hello', role: 'edge', protocolVersion: 1, nodeName: 'edge-1', clusterId: null, journalId: 'j', upFloor: 0, outboxHead: 0 }, 'edge-1', stamp, route)));
    expect(atEdge(hello)).toEqual({ ok: false, error: { kind: 'WrongDirection', reason: 'a edgeHello frame does not travel this way' } });
    const synced = overTheWire(encodeFrame(cloudFrameOf({ kind: 'synced', seq: 1 }, 'edge-1', stamp)));
    expect(atCloud(synced).ok).toBe(false);
  });
});

describe('UpFrameWriter', () => {
  it('writes exactly the text the general encoder writes, for any up event', () => {
    const writer = new UpFrameWriter('edge-1', route);
    const resources = fc.constantFrom(undefined, 'default/podstatus/web', 'kube-node-lease/lease/edge-1', 'device/default/thermo/twin/edge_updated', 'ns-2/pod/x');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.string({ minLength: 1, maxLength: 40 }), resources, fc.jsonValue(), fc.uuid(), fc.nat(), (seq, type, resource, value, msgId, timestampMs) => {
        const data = resource === undefined ? { value } : { resource, value };
        const message: UpFrame = { kind: 'up', seq, event: { type, data: data as never } };
        const at = { msgId, timestampMs };
        expect(writer.write(message, at, JSON.stringify(data))).toBe(encodeFrame(edgeFrameOf(message, 'edge-1', at, route)));
      }),
    );
  });
});

describe('UpFrameWriter, given one resource object routed two ways', () => {
  it('writes each event with its own source and operation, not the route it wrote last', () => {
    const resource = { kind: 'object', namespace: 'default', type: 'podstatus', name: 'web' } as const;
    const routes: readonly UpRoute[] = [
      { source: 'edged', operation: 'update', resource },
      { source: 'metamanager', operation: 'patch', resource },
      { source: 'edged', operation: 'update', resource },
    ];
    let next = 0;
    const writer = new UpFrameWriter('edge-1', () => routes[next]!);
    for (const [i, where] of routes.entries()) {
      next = i;
      const message: UpFrame = { kind: 'up', seq: i + 1, event: { type: 'PodStatusReported.v1', data: { n: i } } };
      expect(writer.write(message, stamp, JSON.stringify({ n: i }))).toBe(encodeFrame(edgeFrameOf(message, 'edge-1', stamp, () => where)));
    }
  });
});

describe('DownFrameWriter', () => {
  const desiredOf = (seq: number, resourceVersion: string, content: JsonValue): DownFrame => ({ kind: 'desired', seq, uid: 'u-1', key: 'configmaps/default/app', resourceVersion, contentHash: contentHash(content as never), content });
  const contentWith = (data: JsonValue): JsonValue => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default', uid: 'u-1' }, data });

  it('writes exactly the text the general encoder writes and measures its bytes, for any content and revision', () => {
    const writer = new DownFrameWriter();
    fc.assert(
      // Contents the edge accepts: a `__proto__` key is refused by the edge's decoder, so the writer
      // rightly measures such a content as unsendable (the spec below on refused contents, and the codec fuzz).
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.nat().map(String), fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')), fc.uuid(), fc.nat(), (seq, resourceVersion, data, msgId, timestampMs) => {
        const at = { msgId, timestampMs };
        const frame = desiredOf(seq, resourceVersion, contentWith(data as JsonValue));
        const expected = encodeFrame(cloudFrameOf(frame, 'edge-1', at));
        expect(writer.measure('edge-1', frame, at)).toBe(Buffer.byteLength(expected, 'utf8'));
        expect(writer.take('edge-1', frame, at)).toEqual({ ok: true, value: expected });
      }),
    );
  });

  it('given a content written at one revision, when it is sent again at another, then the frame carries the new one', () => {
    const writer = new DownFrameWriter();
    const content = contentWith({ a: '1' });
    expect(writer.take('edge-1', desiredOf(1, '7', content), stamp)).toEqual({ ok: true, value: encodeFrame(cloudFrameOf(desiredOf(1, '7', content), 'edge-1', stamp)) });
    const again = desiredOf(2, '8', content);
    expect(writer.take('edge-1', again, stamp)).toEqual({ ok: true, value: encodeFrame(cloudFrameOf(again, 'edge-1', stamp)) });
  });

  it('writes tombstones and the synced marker as the encoder does', () => {
    const writer = new DownFrameWriter();
    for (const frame of [{ kind: 'tombstone', seq: 3, uid: 'u-0', key: 'configmaps/default/old', resourceVersion: '41' }, { kind: 'synced', seq: 4 }] as const) {
      expect(writer.measure('edge-1', frame, stamp)).toBe(Buffer.byteLength(encodeFrame(cloudFrameOf(frame, 'edge-1', stamp)), 'utf8'));
      expect(writer.take('edge-1', frame, stamp)).toEqual({ ok: true, value: encodeFrame(cloudFrameOf(frame, 'edge-1', stamp)) });
    }
  });

  it('measures a content the edge would refuse as unsendable, says why once, and never writes it', () => {
    const writer = new DownFrameWriter();
    const poisoned = desiredOf(1, '7', contentWith(JSON.parse('{"__proto__":"x"}') as JsonValue));
    expect(writer.measure('edge-1', poisoned, stamp)).toBe(Number.POSITIVE_INFINITY);
    expect(writer.refusalOf('edge-1', 'u-1')).toMatchObject({ kind: 'FrameUndecodable', problem: 'forbiddenKey', path: 'content.data' });
    expect(writer.refusalOf('edge-1', 'u-1')).toBeUndefined();
    expect(writer.take('edge-1', poisoned, stamp)).toMatchObject({ ok: false, error: { problem: 'forbiddenKey' } });
    let deep: JsonValue = 'leaf';
    for (let i = 0; i < FRAME_DEPTH_MAX; i++) deep = [deep];
    expect(writer.measure('edge-1', desiredOf(2, '8', contentWith(deep)), stamp)).toBe(Number.POSITIVE_INFINITY);
    expect(writer.refusalOf('edge-1', 'u-1')).toMatchObject({ problem: 'tooDeep' });
    const nameless = desiredOf(3, '9', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' } });
    expect(writer.measure('edge-1', nameless, stamp)).toBe(Number.POSITIVE_INFINITY);
    expect(writer.refusalOf('edge-1', 'u-1')).toMatchObject({ problem: 'badShape' });
  });
});
