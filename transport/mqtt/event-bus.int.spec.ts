// The EventBus against the embedded broker over real sockets on 127.0.0.1. Method: a plain mqtt
// client plays the mapper or app; one publisher's messages arrive in order, so a final marker
// message shows that nothing else was (or will be) delivered before it. Connection loss is a
// broker restart on the same port, or a relay the test cuts.
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.js';
import { EventBus, type EventBusOptions } from './event-bus.js';
import { Cleanups, connectClient, startCuttableLink, startTestBus, until } from './mqtt.testing.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function broker(options: EmbeddedBrokerOptions = { port: 0 }): Promise<EmbeddedBroker> {
  const started = await startEmbeddedBroker(options);
  if (!started.ok) throw new Error(`broker did not start: ${started.error.message}`);
  cleanups.add(() => started.value.close());
  return started.value;
}

type BusOptions = Omit<EventBusOptions, 'log' | 'clientId' | 'nodeName'> & { readonly nodeName?: string };

async function connectedBus(options: BusOptions): Promise<ReturnType<typeof startTestBus>> {
  const started = startTestBus(EventBus.start, { nodeName: 'edge-1', ...options }, cleanups);
  await until('the bus to connect and subscribe', () => started.bus.connected);
  return started;
}

const thermo = { namespace: 'default', name: 'thermo-1' };
const TWIN_UPDATE = '$hw/events/device/default/thermo-1/twin/update';
const MARKER = '$hw/events/upload/marker';
const markerSeen = (messages: readonly { rawTopic: string }[]): boolean => messages.some((m) => m.rawTopic === MARKER);

describe('inbound messages', () => {
  it('emits a mapper’s twin update with its parsed topic and JSON payload', async () => {
    const b = await broker();
    const { messages } = await connectedBus({ url: b.url });
    const mapper = await connectClient(b.url, cleanups);
    const update = { event_id: 'e1', timestamp: 1717000000456, twin: { temperature: { actual: { value: '23.5' } } } };
    await mapper.client.publishAsync(TWIN_UPDATE, JSON.stringify(update), { qos: 1 });
    await until('the update at the bus', () => messages.length === 1);
    expect(messages[0]).toEqual({ topic: { kind: 'twinUpdate', device: thermo }, rawTopic: TWIN_UPDATE, payload: { ok: true, value: update } });
  });

  it('emits twin get, state update and upload messages, each once', async () => {
    const b = await broker();
    const { messages } = await connectedBus({ url: b.url });
    const app = await connectClient(b.url, cleanups);
    await app.client.publishAsync('$hw/events/device/default/thermo-1/twin/get', '{"event_id":"g"}', { qos: 1 });
    await app.client.publishAsync('$hw/events/device/default/thermo-1/state/update', '{"state":"online"}', { qos: 0 });
    await app.client.publishAsync('$hw/events/upload/line-3', '[1,2]', { qos: 1 });
    await app.client.publishAsync(MARKER, '{}', { qos: 1 });
    await until('the marker', () => markerSeen(messages));
    expect(messages.map((m) => [m.topic.kind, m.payload])).toEqual([
      ['twinGet', { ok: true, value: { event_id: 'g' } }],
      ['stateUpdate', { ok: true, value: { state: 'online' } }],
      ['upload', { ok: true, value: [1, 2] }],
      ['upload', { ok: true, value: {} }],
    ]);
  });

  it('hears membership/get for its own node only', async () => {
    const b = await broker();
    const { messages } = await connectedBus({ url: b.url, nodeName: 'edge-1' });
    const mapper = await connectClient(b.url, cleanups);
    await mapper.client.publishAsync('$hw/events/node/edge-2/membership/get', '{"event_id":"other"}', { qos: 1 });
    await mapper.client.publishAsync('$hw/events/node/edge-1/membership/get', '{"event_id":"mine"}', { qos: 1 });
    await mapper.client.publishAsync(MARKER, '{}', { qos: 1 });
    await until('the marker', () => markerSeen(messages));
    expect(messages.filter((m) => m.topic.kind === 'membershipGet')).toEqual([
      { topic: { kind: 'membershipGet', node: 'edge-1' }, rawTopic: '$hw/events/node/edge-1/membership/get', payload: { ok: true, value: { event_id: 'mine' } } },
    ]);
  });

  it('drops topics its filters match but it does not serve (twin/delete), logging each topic shape once', async () => {
    const b = await broker();
    const { messages, log } = await connectedBus({ url: b.url });
    const mapper = await connectClient(b.url, cleanups);
    await mapper.client.publishAsync('$hw/events/device/default/thermo-1/twin/delete', '{}', { qos: 1 });
    await mapper.client.publishAsync('$hw/events/device/default/thermo-2/twin/delete', '{}', { qos: 1 });
    await mapper.client.publishAsync('$hw/events/device/default/thermo-1/twin/cloud_updated', '{}', { qos: 1 });
    await mapper.client.publishAsync('$hw/events/device///twin/update', '{}', { qos: 1 });
    await mapper.client.publishAsync(MARKER, '{}', { qos: 1 });
    await until('the marker', () => markerSeen(messages));
    expect(messages.map((m) => m.rawTopic)).toEqual([MARKER]);
    const dropped = log.lines.filter((line) => line.msg.includes('does not serve')).map((line) => (line.fields as { shape: string }).shape);
    expect(dropped).toEqual(['$hw/events/device/+/+/twin/delete', '$hw/events/device/+/+/twin/cloud_updated', '$hw/events/device/+/+/twin/update']);
  });

  it('answers PayloadTooLarge for a payload over its limit, checked on bytes, and keeps working', async () => {
    const b = await broker();
    const { messages } = await connectedBus({ url: b.url, payloadBytesMax: 100 });
    const mapper = await connectClient(b.url, cleanups);
    // 60 characters but 120 bytes: the limit counts bytes.
    await mapper.client.publishAsync(TWIN_UPDATE, JSON.stringify('é'.repeat(59)), { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, JSON.stringify('x'.repeat(98)), { qos: 1 });
    await until('two messages', () => messages.length === 2);
    expect(messages[0]?.payload).toEqual({
      ok: false,
      error: { kind: 'PayloadTooLarge', bytes: 120, bytesMax: 100, reason: expect.stringContaining('120 bytes') },
    });
    expect(messages[1]?.payload).toEqual({ ok: true, value: 'x'.repeat(98) });
  });

  it('answers PayloadMalformed for invalid JSON, invalid UTF-8 and an empty payload', async () => {
    const b = await broker();
    const { messages } = await connectedBus({ url: b.url });
    const mapper = await connectClient(b.url, cleanups);
    await mapper.client.publishAsync(TWIN_UPDATE, '{"twin":', { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, Buffer.from([0x22, 0xc3, 0x28, 0x22]), { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, Buffer.alloc(0), { qos: 1 });
    await until('three messages', () => messages.length === 3);
    expect(messages.map((m) => m.payload)).toEqual([
      { ok: false, error: { kind: 'PayloadMalformed', reason: expect.stringContaining('not JSON') } },
      { ok: false, error: { kind: 'PayloadMalformed', reason: 'the payload is not valid UTF-8' } },
      { ok: false, error: { kind: 'PayloadMalformed', reason: expect.stringContaining('not JSON') } },
    ]);
  });

  it('logs a listener that throws, still calls the other listeners and keeps receiving', async () => {
    const b = await broker();
    const { bus, messages, log } = await connectedBus({ url: b.url });
    bus.prependListener('message', () => {
      throw new Error('listener bug');
    });
    const mapper = await connectClient(b.url, cleanups);
    await mapper.client.publishAsync(TWIN_UPDATE, '1', { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, '2', { qos: 1 });
    await until('both messages at the other listener', () => messages.length === 2);
    expect(log.lines.filter((line) => line.msg === 'an EventBus listener threw')).toHaveLength(2);
    expect(bus.connected).toBe(true);
  });
});

describe('publishing', () => {
  it('publishes at QoS 1 and resolves ok once the broker acknowledged', async () => {
    const b = await broker();
    const { bus } = await connectedBus({ url: b.url });
    const app = await connectClient(b.url, cleanups);
    await app.client.subscribeAsync('$hw/events/device/+/+/twin/update/result', { qos: 1 });
    const result = await bus.publish('$hw/events/device/default/thermo-1/twin/update/result', '{"event_id":"e1"}');
    expect(result).toEqual({ ok: true, value: undefined });
    await until('the result at the app', () => app.received.length === 1);
    expect(app.received[0]?.payload.toString()).toBe('{"event_id":"e1"}');
  });

  it('refuses a topic the broker would close the connection for (wildcard, empty) as a value, and stays connected', async () => {
    const b = await broker();
    const { bus, messages, disconnects } = await connectedBus({ url: b.url });
    expect(await bus.publish('$hw/events/device/+/+/twin/update/result', '{}')).toEqual({ ok: false, error: expect.stringContaining('wildcard') });
    expect(await bus.publish('', '{}')).toMatchObject({ ok: false });
    expect(await bus.publish(MARKER, '{}')).toEqual({ ok: true, value: undefined });
    await until('its own marker back through $hw/events/upload/#', () => markerSeen(messages));
    expect(disconnects).toEqual([]);
  });

  it('keeps publishes made while the link is down and delivers them after it reconnects', async () => {
    const b = await broker();
    const link = await startCuttableLink(b.port);
    cleanups.add(() => link.close());
    const { bus, disconnects, connects } = await connectedBus({ url: link.url });
    const app = await connectClient(b.url, cleanups);
    await app.client.subscribeAsync('$hw/events/node/edge-1/membership/get/result', { qos: 1 });
    link.cut();
    await until('the bus to notice the cut', () => !bus.connected && disconnects.length === 1);
    const pending = [bus.publish('$hw/events/node/edge-1/membership/get/result', '"a"'), bus.publish('$hw/events/node/edge-1/membership/get/result', '"b"')];
    link.restore();
    await until('the bus to reconnect', () => connects() === 2);
    expect(await Promise.all(pending)).toEqual([
      { ok: true, value: undefined },
      { ok: true, value: undefined },
    ]);
    await until('both results at the app', () => app.received.length === 2);
    expect(app.received.map((m) => m.payload.toString())).toEqual(['"a"', '"b"']);
  });

  it('bounds what waits while disconnected: past publishQueuedMax, publish resolves err at once', async () => {
    const b = await broker();
    const link = await startCuttableLink(b.port);
    cleanups.add(() => link.close());
    const { bus } = await connectedBus({ url: link.url, publishQueuedMax: 2 });
    link.cut();
    await until('the bus to notice the cut', () => !bus.connected);
    const kept = [bus.publish(MARKER, '1'), bus.publish(MARKER, '2')];
    expect(await bus.publish(MARKER, '3')).toEqual({ ok: false, error: expect.stringContaining('publishQueuedMax 2') });
    link.restore();
    expect(await Promise.all(kept)).toEqual([
      { ok: true, value: undefined },
      { ok: true, value: undefined },
    ]);
  });

  it('resolves err for a publish after close, and for one still waiting when close is called', async () => {
    const b = await broker();
    const link = await startCuttableLink(b.port);
    cleanups.add(() => link.close());
    const { bus } = await connectedBus({ url: link.url });
    link.cut();
    await until('the bus to notice the cut', () => !bus.connected);
    const waiting = bus.publish(MARKER, '{}');
    await bus.close();
    expect(await waiting).toEqual({ ok: false, error: expect.stringContaining('closed') });
    expect(await bus.publish(MARKER, '{}')).toEqual({ ok: false, error: 'the event bus is closed' });
  });
});

describe('connection', () => {
  it('re-subscribes after the broker restarts on the same port, and messages flow again', async () => {
    const first = await startEmbeddedBroker({ port: 0 });
    if (!first.ok) throw new Error(first.error.message);
    const port = first.value.port;
    const { bus, messages, disconnects, connects } = await connectedBus({ url: first.value.url });
    await first.value.close();
    await until('the bus to see the broker go', () => !bus.connected && disconnects.length >= 1);
    const second = await broker({ port });
    await until('the bus to reconnect and subscribe again', () => connects() === 2, 15_000);
    const mapper = await connectClient(second.url, cleanups);
    await mapper.client.publishAsync(TWIN_UPDATE, '{"after":"restart"}', { qos: 1 });
    await until('the update after the restart', () => messages.length === 1);
    expect(messages[0]?.payload).toEqual({ ok: true, value: { after: 'restart' } });
  });

  it('with a wrong password emits disconnected with the broker’s reason and keeps retrying; right credentials in the url connect', async () => {
    const b = await broker({ port: 0, credentials: { username: 'edge', password: 'p@ss:word' } });
    const wrong = startTestBus(EventBus.start, { url: b.url, username: 'edge', password: 'nope', nodeName: 'edge-1' }, cleanups);
    await until('two refused attempts', () => wrong.disconnects.length >= 2, 15_000);
    expect(wrong.disconnects[0]).toMatch(/bad user ?name or password/i);
    expect(wrong.disconnects[1]).toMatch(/bad user ?name or password/i);
    expect(wrong.bus.connected).toBe(false);
    expect(wrong.connects()).toBe(0);
    const right = await connectedBus({ url: `mqtt://edge:${encodeURIComponent('p@ss:word')}@127.0.0.1:${b.port}`, nodeName: 'edge-2' });
    expect(right.bus.connected).toBe(true);
  });

  it('emits disconnected once, with "closed by the edge", when closed while connected', async () => {
    const b = await broker();
    const { bus, disconnects } = await connectedBus({ url: b.url });
    await bus.close();
    expect(bus.connected).toBe(false);
    expect(disconnects).toEqual(['closed by the edge']);
  });
});
