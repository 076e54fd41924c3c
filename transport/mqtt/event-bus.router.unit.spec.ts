// The Router's EventBus messages, pure. Method: examples of each payload class (UTF-8 text, binary,
// at and over the limit) through the edge's upload event and back through the cloud's reading; a
// property that any bytes survive the round trip; the edge responder against a recording publish.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ok } from '../../kernel/index.js';
import { queryFrame } from '../frames/frame.js';
import { defaultUpRoute } from '../stream/wire.js';
import { EVENT_BUS_UPLOADED, decodePayload, encodePayload, eventBusPublishRequest, eventBusResponder, readUpload, uploadEventOf } from './event-bus.router.js';

const TOPIC = '$hw/events/upload/line-3/counter';
const stamp = { msgId: 'q-1', timestampMs: 1 };

describe('an upload, from the edge to the cloud', () => {
  it('goes up as EventBusUploaded.v1 naming its topic as the resource, the payload as text when it is UTF-8', () => {
    const event = uploadEventOf(TOPIC, Buffer.from('{"count":7}'));
    expect(event).toEqual(ok({ type: EVENT_BUS_UPLOADED, data: { resource: TOPIC, topic: TOPIC, payload: '{"count":7}' } }));
    expect(event.ok && defaultUpRoute('edge-1')(event.value)).toEqual({ source: 'eventbus', operation: 'upload', resource: { kind: 'eventBus', topic: TOPIC } });
  });

  it('carries bytes that are not UTF-8 as base64 with the flag, and the cloud reads the same bytes back', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28]);
    const event = uploadEventOf(TOPIC, bytes);
    expect(event.ok && event.value.data).toMatchObject({ payload: '/wDDKA==', payloadEncoding: 'base64' });
    expect(event.ok && readUpload(event.value.data)).toEqual(ok({ topic: TOPIC, payload: bytes }));
  });

  it('any bytes within the limit survive the round trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const event = uploadEventOf(TOPIC, bytes);
        expect(event.ok && readUpload(event.value.data)).toEqual(ok({ topic: TOPIC, payload: Buffer.from(bytes) }));
      }),
    );
  });

  it('refuses a payload over the limit, a topic outside $hw/events/upload/ or too long for a resource', () => {
    expect(uploadEventOf(TOPIC, Buffer.alloc(11), 10)).toEqual({ ok: false, error: 'the payload of 11 bytes exceeds the limit of 10 bytes' });
    expect(uploadEventOf(TOPIC, Buffer.alloc(10), 10).ok).toBe(true);
    expect(uploadEventOf('$hw/events/device/default/t/twin/update', Buffer.alloc(1)).ok).toBe(false);
    expect(uploadEventOf(`$hw/events/upload/${'x'.repeat(512)}`, Buffer.alloc(1)).ok).toBe(false);
  });

  it('the cloud refuses a malformed upload: no topic, bad base64, an unknown encoding, over the limit', () => {
    expect(readUpload({ payload: 'x' }).ok).toBe(false);
    expect(readUpload({ topic: TOPIC, payload: '%%%=', payloadEncoding: 'base64' })).toEqual({ ok: false, error: 'the payload is not base64' });
    expect(readUpload({ topic: TOPIC, payload: 'x', payloadEncoding: 'hex' })).toEqual({ ok: false, error: 'payloadEncoding is base64 or absent' });
    expect(readUpload({ topic: TOPIC, payload: 'xyz' }, 2)).toEqual({ ok: false, error: 'the payload of 3 bytes exceeds the limit of 2 bytes' });
    expect(decodePayload(encodePayload(Buffer.from('é')) as never, 2)).toEqual(ok(Buffer.from('é')));
  });
});

describe('a Router publish, from the cloud to an edge', () => {
  const published: Array<[string, string]> = [];
  const respond = eventBusResponder(
    (topic, payload) => {
      published.push([topic, payload.toString('utf8')]);
      return Promise.resolve(ok(undefined));
    },
    (query) => Promise.resolve({ ok: false, error: `other: ${query.route.resource}` }),
  );

  it('is a router_eventbus query in group user naming the topic, which the edge publishes and answers', async () => {
    const request = eventBusPublishRequest('lights/kitchen', Buffer.from('on'));
    expect(request).toEqual(ok({ source: 'router_eventbus', group: 'user', resource: { kind: 'eventBus', topic: 'lights/kitchen' }, content: { payload: 'on' } }));
    if (!request.ok) return;
    expect(await respond(queryFrame(stamp, request.value))).toEqual(ok({ published: true }));
    expect(published).toEqual([['lights/kitchen', 'on']]);
  });

  it('hands every other query to the next responder, and refuses a topic no broker takes before it is sent', async () => {
    const other = queryFrame(stamp, { source: 'router_servicebus', group: 'user', resource: { kind: 'serviceBus', port: 8080, path: '/a' }, content: null });
    expect(await respond(other)).toEqual({ ok: false, error: 'other: 8080:/a' });
    expect(eventBusPublishRequest('lights/+', Buffer.from('on')).ok).toBe(false);
    expect(eventBusPublishRequest('lights', Buffer.alloc(3), 2).ok).toBe(false);
  });

  it('answers an error naming the topic when the broker does not take the message', async () => {
    const failing = eventBusResponder(() => Promise.resolve({ ok: false, error: 'the event bus is closed' }), () => Promise.resolve(ok(null)));
    const request = eventBusPublishRequest('lights/kitchen', Buffer.from('on'));
    if (!request.ok) throw new Error('unreachable');
    expect(await failing(queryFrame(stamp, request.value))).toEqual({ ok: false, error: 'not published on lights/kitchen: the event bus is closed' });
  });
});
