// Frame builders and protocol constants. Method: each builder's output is compared whole with the
// beehive shape PROTOCOL.md and kubeedge-reference §1.1 describe; builders refuse (throw) what the
// decoder would refuse; close reasons are checked against the 123-byte websocket limit by property.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../../kernel/index.js';
import {
  CLOSE_REASON_BYTES_MAX,
  Close,
  GROUP_OPERATIONS,
  KUBEEDGE_OPERATIONS,
  MODULE_GROUPS,
  PROTOCOL_VERSION,
  ackFrame,
  closeReason,
  cloudHelloFrame,
  downObjectFrame,
  downTombstoneFrame,
  edgeHelloFrame,
  syncedFrame,
  errorFrame,
  isFullResync,
  keepaliveFrame,
  queryFrame,
  responseFrame,
  senderSide,
  upEventFrame,
  type CloudHelloContent,
  type EdgeHelloContent,
} from './frame.js';

const stamp = { msgId: 'm-1', timestampMs: 1_717_000_000_123 };
const node = { kind: 'object', namespace: null, type: 'node', name: 'edge-1' } as const;

describe('session frames', () => {
  it('the edge hello carries version, node, the cluster it recorded and its journal, from websocket in group edgehive', () => {
    const content: EdgeHelloContent = { protocolVersion: PROTOCOL_VERSION, nodeName: 'edge-1', clusterId: null, journalId: 'j-1', upFloor: 0, outboxHead: 0 };
    expect(edgeHelloFrame(stamp, content)).toEqual({
      kind: 'edgeHello',
      header: { msg_id: 'm-1', timestamp: 1_717_000_000_123 },
      route: { source: 'websocket', group: 'edgehive', operation: 'hello', resource: 'null/node/edge-1' },
      content,
      target: node,
    });
  });

  it('the cloud hello carries upAcked and the journal it recorded, from cloudhub', () => {
    const content: CloudHelloContent = { protocolVersion: 1, nodeName: 'edge-1', clusterId: 'c-1', journalId: 'j-1', upAcked: 41, sync: 'resume' };
    const frame = cloudHelloFrame(stamp, content);
    expect(frame.route).toEqual({ source: 'cloudhub', group: 'edgehive', operation: 'hello', resource: 'null/node/edge-1' });
    expect(frame.content).toEqual(content);
  });

  it('keepalive is "ping" from the sending side, and may piggyback an ack', () => {
    expect(keepaliveFrame(stamp, { from: 'cloud', nodeName: 'edge-1', ack: 7 })).toEqual({
      kind: 'keepalive',
      header: { msg_id: 'm-1', timestamp: 1_717_000_000_123, ack: 7 },
      route: { source: 'cloudhub', group: 'edgehive', operation: 'keepalive', resource: 'null/node/edge-1' },
      content: 'ping',
      target: node,
    });
    expect(keepaliveFrame(stamp, { from: 'edge', nodeName: 'edge-1' }).header).toEqual({ msg_id: 'm-1', timestamp: 1_717_000_000_123 });
  });

  it('the synced marker is sequenced, from cloudhub, with null content', () => {
    const frame = syncedFrame(stamp, { nodeName: 'edge-1', seq: 9 });
    expect(frame.header).toEqual({ msg_id: 'm-1', timestamp: 1_717_000_000_123, seq: 9 });
    expect(frame.route).toEqual({ source: 'cloudhub', group: 'edgehive', operation: 'synced', resource: 'null/node/edge-1' });
    expect(frame.content).toBeNull();
    expect(senderSide(frame)).toBe('cloud');
  });

  it('a lone ack has operation ack, the position in the header and null content', () => {
    const frame = ackFrame(stamp, { from: 'edge', nodeName: 'edge-1', ack: 0 });
    expect(frame.header.ack).toBe(0);
    expect(frame.route.operation).toBe('ack');
    expect(frame.route.source).toBe('websocket');
    expect(frame.content).toBeNull();
  });

  it('refuses what the decoder would refuse', () => {
    const hello: EdgeHelloContent = { protocolVersion: 1, nodeName: 'edge-1', clusterId: null, journalId: 'j-1', upFloor: 0, outboxHead: 0 };
    expect(() => edgeHelloFrame(stamp, { ...hello, nodeName: 'Edge_1' })).toThrow(InvariantViolation);
    expect(() => edgeHelloFrame(stamp, { ...hello, protocolVersion: 0 })).toThrow(InvariantViolation);
    expect(() => edgeHelloFrame(stamp, { ...hello, journalId: '' })).toThrow(InvariantViolation);
    expect(() => edgeHelloFrame({ msgId: 'has space', timestampMs: 1 }, hello)).toThrow(InvariantViolation);
    expect(() => edgeHelloFrame({ msgId: 'm', timestampMs: -1 }, hello)).toThrow(InvariantViolation);
    expect(() => edgeHelloFrame(stamp, { ...hello, upFloor: 2, outboxHead: 1 })).toThrow(InvariantViolation);
    expect(() => ackFrame(stamp, { from: 'edge', nodeName: 'edge-1', ack: -1 })).toThrow(InvariantViolation);
    expect(() => ackFrame(stamp, { from: 'edge', nodeName: 'edge-1', ack: 2 ** 53 })).toThrow(InvariantViolation);
  });
});

describe('isFullResync', () => {
  const edge: EdgeHelloContent = { protocolVersion: 1, nodeName: 'edge-1', clusterId: 'c-1', journalId: 'j-1', upFloor: 0, outboxHead: 3 };
  const cloud: CloudHelloContent = { protocolVersion: 1, nodeName: 'edge-1', clusterId: 'c-1', journalId: 'j-1', upAcked: 3, sync: 'resume' };
  it.each<[string, EdgeHelloContent, CloudHelloContent, boolean]>([
    ['both sides recorded each other', edge, cloud, false],
    ['the edge never met a cluster', { ...edge, clusterId: null }, cloud, true],
    ['the API server was replaced', edge, { ...cloud, clusterId: 'c-2' }, true],
    ['the cloud never recorded a journal', edge, { ...cloud, journalId: null }, true],
    ['the edge journal was re-created', { ...edge, journalId: 'j-2' }, cloud, true],
  ])('%s: %s', (_, e, c, expected) => expect(isFullResync(e, c)).toBe(expected));
});

describe('sequenced frames', () => {
  it('an up event carries its outbox seq and names the object', () => {
    const frame = upEventFrame(stamp, {
      source: 'edged',
      operation: 'update',
      resource: { kind: 'object', namespace: 'default', type: 'podstatus', name: 'web' },
      content: { phase: 'Running' },
      seq: 12,
      ack: 3,
    });
    expect(frame.header).toEqual({ msg_id: 'm-1', timestamp: 1_717_000_000_123, seq: 12, ack: 3 });
    expect(frame.route).toEqual({ source: 'edged', group: 'resource', operation: 'update', resource: 'default/podstatus/web' });
  });

  it('a device twin report is an update on device/<ns>/<name>/twin/edge_updated; another operation is a bug', () => {
    const resource = { kind: 'deviceEvent', namespace: 'default', name: 'thermo-1', event: 'twin/edge_updated' } as const;
    const frame = upEventFrame(stamp, { source: 'twin', operation: 'update', resource, content: { twin: {} }, seq: 1 });
    expect(frame.route.resource).toBe('device/default/thermo-1/twin/edge_updated');
    expect(() => upEventFrame(stamp, { source: 'twin', operation: 'insert', resource, content: null, seq: 1 })).toThrow(InvariantViolation);
    expect(() => upEventFrame(stamp, { source: 'twin', operation: 'update', resource, content: null, seq: 0 })).toThrow(InvariantViolation);
  });

  it('a desired object takes resource and resourceversion from its metadata and loses managedFields', () => {
    const object = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-cfg', namespace: 'default', uid: 'u-1', resourceVersion: '48213', managedFields: [{ manager: 'kubectl' }] },
      data: { a: '1' },
    };
    expect(downObjectFrame(stamp, { operation: 'update', type: 'configmap', object, seq: 1 })).toEqual({
      kind: 'downObject',
      header: { msg_id: 'm-1', timestamp: 1_717_000_000_123, seq: 1, resourceversion: '48213' },
      route: { source: 'edgecontroller', group: 'resource', operation: 'update', resource: 'default/configmap/app-cfg' },
      content: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-cfg', namespace: 'default', uid: 'u-1', resourceVersion: '48213' }, data: { a: '1' } },
      target: { kind: 'object', namespace: 'default', type: 'configmap', name: 'app-cfg' },
    });
    expect(object.metadata.managedFields).toHaveLength(1);
  });

  it('a cluster-scoped desired object goes to null/<type>/<name>', () => {
    const frame = downObjectFrame(stamp, { operation: 'update', type: 'node', object: { metadata: { name: 'edge-1', uid: 'n-1', resourceVersion: '9' } }, seq: 2 });
    expect(frame.route.resource).toBe('null/node/edge-1');
    expect(frame.target.namespace).toBeNull();
  });

  it('refuses a desired object without uid or decimal resourceVersion, or scoped unlike its type', () => {
    const metadata = { name: 'web', namespace: 'default', uid: 'u-1', resourceVersion: '5' };
    expect(() => downObjectFrame(stamp, { operation: 'insert', type: 'pod', object: { metadata: { ...metadata, uid: '' } }, seq: 1 })).toThrow(InvariantViolation);
    expect(() => downObjectFrame(stamp, { operation: 'insert', type: 'pod', object: { metadata: { ...metadata, resourceVersion: 'abc' } }, seq: 1 })).toThrow(InvariantViolation);
    expect(() => downObjectFrame(stamp, { operation: 'insert', type: 'pod', object: { metadata: { name: 'web', uid: 'u-1', resourceVersion: '5' } }, seq: 1 })).toThrow(InvariantViolation);
    expect(() => downObjectFrame(stamp, { operation: 'insert', type: 'node', object: { metadata }, seq: 1 })).toThrow(InvariantViolation);
  });

  it('a tombstone carries the uid in content and the deletion resourceVersion in the header', () => {
    const frame = downTombstoneFrame(stamp, {
      resource: { kind: 'object', namespace: 'default', type: 'secret', name: 'token' },
      uid: 'u-9',
      resourceVersion: '777',
      seq: 4,
      source: 'synccontroller',
    });
    expect(frame.header).toEqual({ msg_id: 'm-1', timestamp: 1_717_000_000_123, seq: 4, resourceversion: '777' });
    expect(frame.route).toEqual({ source: 'synccontroller', group: 'resource', operation: 'delete', resource: 'default/secret/token' });
    expect(frame.content).toEqual({ uid: 'u-9' });
  });
});

describe('request and response', () => {
  const query = queryFrame(stamp, {
    source: 'metamanager',
    group: 'resource',
    resource: { kind: 'object', namespace: 'default', type: 'configmap', name: 'app-cfg' },
    content: null,
  });

  it('a query is sync and unsequenced', () => {
    expect(query.header).toEqual({ msg_id: 'm-1', timestamp: 1_717_000_000_123, sync: true });
    expect(query.route.operation).toBe('query');
  });

  it('a response and an error name the query as parent and keep its group and resource', () => {
    const response = responseFrame({ msgId: 'm-2', timestampMs: 2 }, query, { source: 'edgecontroller', content: { data: {} }, resourceVersion: '3' });
    expect(response.header).toEqual({ msg_id: 'm-2', timestamp: 2, parent_msg_id: 'm-1', resourceversion: '3' });
    expect(response.route).toEqual({ source: 'edgecontroller', group: 'resource', operation: 'response', resource: 'default/configmap/app-cfg' });
    const error = errorFrame({ msgId: 'm-3', timestampMs: 3 }, query, { source: 'edgecontroller', content: 'configmaps "app-cfg" not found' });
    expect(error.header.parent_msg_id).toBe('m-1');
    expect(error.route.operation).toBe('error');
    expect(error.content).toBe('configmaps "app-cfg" not found');
  });

  it('a service-bus call is a query from router_servicebus in group user on <port>:<path>, answered in the same group by servicebus', () => {
    const call = queryFrame(stamp, { source: 'router_servicebus', group: 'user', resource: { kind: 'serviceBus', port: 8080, path: '/api/v1/temp' }, content: { method: 'GET', url: '/api/v1/temp', header: {}, body: '' } });
    expect(call.route).toEqual({ source: 'router_servicebus', group: 'user', operation: 'query', resource: '8080:/api/v1/temp' });
    expect(senderSide(call)).toBe('cloud');
    const answer = responseFrame({ msgId: 'm-2', timestampMs: 2 }, call, { source: 'servicebus', content: { status_code: 200, header: {}, body: '' } });
    expect(answer.route).toEqual({ source: 'servicebus', group: 'user', operation: 'response', resource: '8080:/api/v1/temp' });
    expect(senderSide(answer)).toBe('edge');
  });

  it('refuses a service-bus target outside group user and anything else inside it', () => {
    const target = { kind: 'serviceBus', port: 8080, path: '/temp' } as const;
    expect(() => queryFrame(stamp, { source: 'router_servicebus', group: 'resource', resource: target, content: null })).toThrow(InvariantViolation);
    expect(() => queryFrame(stamp, { source: 'router_servicebus', group: 'user', resource: node, content: null })).toThrow(InvariantViolation);
    expect(() => queryFrame(stamp, { source: 'router_servicebus', group: 'user', resource: { ...target, port: 0 }, content: null })).toThrow(InvariantViolation);
  });
});

describe('senderSide', () => {
  it('names the side that may send each frame', () => {
    const hello = { protocolVersion: 1, nodeName: 'edge-1' };
    expect(senderSide(edgeHelloFrame(stamp, { ...hello, clusterId: null, journalId: 'j', upFloor: 0, outboxHead: 0 }))).toBe('edge');
    expect(senderSide(cloudHelloFrame(stamp, { ...hello, clusterId: 'c', journalId: null, upAcked: 0, sync: 'full' }))).toBe('cloud');
    expect(senderSide(keepaliveFrame(stamp, { from: 'edge', nodeName: 'edge-1' }))).toBe('edge');
    expect(senderSide(ackFrame(stamp, { from: 'cloud', nodeName: 'edge-1', ack: 1 }))).toBe('cloud');
    const resource = { kind: 'caCert' } as const;
    expect(senderSide(queryFrame(stamp, { source: 'metamanager', group: 'resource', resource, content: null }))).toBe('edge');
    expect(senderSide(queryFrame(stamp, { source: 'cloudhub', group: 'edgehive', resource, content: null }))).toBe('cloud');
    expect(senderSide(queryFrame(stamp, { source: 'taskmanager', group: 'resource', resource, content: null }))).toBe('either');
  });
});

describe('constants', () => {
  it('close codes are the ones PROTOCOL.md and DESIGN.md name, each with a reason that fits a close frame', () => {
    expect(Object.values(Close).map((c) => c.code)).toEqual([1007, 1009, 1012, 4403, 4410]);
    expect(Close.nodeDeleted.reason).toBe('node deleted');
    for (const { reason } of Object.values(Close)) expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(CLOSE_REASON_BYTES_MAX);
  });

  it('module groups follow kubeedge-reference §1.5', () => {
    expect(MODULE_GROUPS.websocket).toBe('hub');
    expect(MODULE_GROUPS.metamanager).toBe('meta');
    expect(MODULE_GROUPS.eventbus).toBe('bus');
    expect(MODULE_GROUPS.servicebus).toBe('bus');
    expect(MODULE_GROUPS.cloudStream).toBe('cloudStream');
    expect(MODULE_GROUPS.router_servicebus).toBe('user');
    expect(MODULE_GROUPS.router_eventbus).toBe('user');
  });

  it('every operation edgehive accepts in group resource is a KubeEdge operation', () => {
    const kubeedge: readonly string[] = KUBEEDGE_OPERATIONS;
    expect(GROUP_OPERATIONS.resource.filter((op) => !kubeedge.includes(op))).toEqual([]);
    expect(GROUP_OPERATIONS.edgehive.filter((op) => !kubeedge.includes(op))).toEqual(['hello', 'ack', 'synced']);
    expect(GROUP_OPERATIONS.user).toEqual(['query', 'response', 'error', 'upload']);
  });
});

describe('closeReason', () => {
  it('keeps short printable text as it is', () => expect(closeReason('node deleted')).toBe('node deleted'));

  it('escapes what is not printable ASCII', () => expect(closeReason('bad "é"\n')).toBe('bad "\\u00e9"\\u000a'));

  it('cuts long text to 123 bytes ending in ...', () => {
    const reason = closeReason('x'.repeat(500));
    expect(reason).toHaveLength(CLOSE_REASON_BYTES_MAX);
    expect(reason.endsWith('...')).toBe(true);
  });

  it('always gives printable ASCII of at most 123 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const reason = closeReason(text);
        expect(Buffer.byteLength(reason, 'utf8')).toBeLessThanOrEqual(CLOSE_REASON_BYTES_MAX);
        expect(reason).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
  });
});
