// The embedded broker over real sockets on 127.0.0.1. Method: start it on a free port, drive it
// with real mqtt clients (publisher and subscriber), and check what is delivered, who is let in,
// and that the port is taken and freed as the broker says.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.js';
import { Cleanups, connectClient, until } from './mqtt.testing.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function broker(options: EmbeddedBrokerOptions = { port: 0 }): Promise<EmbeddedBroker> {
  const started = await startEmbeddedBroker(options);
  if (!started.ok) throw new Error(`broker did not start: ${started.error.message}`);
  cleanups.add(() => started.value.close());
  return started.value;
}

const TWIN_UPDATE = '$hw/events/device/default/thermo-1/twin/update';

describe('delivery', () => {
  it('listens on 127.0.0.1 at the port it reports and carries a twin update from a mapper to a subscriber', async () => {
    const b = await broker();
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    expect(b.port).toBeGreaterThan(0);
    const sub = await connectClient(b.url, cleanups);
    await sub.client.subscribeAsync('$hw/events/device/+/+/twin/+', { qos: 1 });
    const mapper = await connectClient(b.url, cleanups);
    await mapper.client.publishAsync(TWIN_UPDATE, '{"twin":{}}', { qos: 1 });
    await until('the twin update at the subscriber', () => sub.received.length === 1);
    expect(sub.received[0]?.topic).toBe(TWIN_UPDATE);
    expect(sub.received[0]?.payload.toString()).toBe('{"twin":{}}');
  });

  it('acknowledges an oversized payload but delivers it to nobody, and the same publisher’s next message still arrives', async () => {
    const b = await broker({ port: 0, payloadBytesMax: 1_000 });
    const sub = await connectClient(b.url, cleanups);
    await sub.client.subscribeAsync('$hw/events/device/+/+/twin/+', { qos: 1 });
    const mapper = await connectClient(b.url, cleanups);
    let mapperClosed = false;
    mapper.client.on('close', () => (mapperClosed = true));
    // Both resolve: the QoS flow completes for the oversized one, so the client never resends it.
    await mapper.client.publishAsync(TWIN_UPDATE, 'x'.repeat(1_001), { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, 'y'.repeat(1_000), { qos: 1 });
    await mapper.client.publishAsync(TWIN_UPDATE, 'z'.repeat(2_000_000), { qos: 0 });
    await mapper.client.publishAsync(TWIN_UPDATE, 'last', { qos: 0 });
    // One publisher's messages arrive in order, so the oversized ones would have come before these.
    await until('the two messages within the limit', () => sub.received.length >= 2);
    expect(sub.received.map((m) => m.payload.toString())).toEqual(['y'.repeat(1_000), 'last']);
    expect(mapperClosed).toBe(false);
  });

  it('defaults the payload limit to four times the bus limit (256 KiB): 256 KiB passes, one byte more does not', async () => {
    const b = await broker();
    const sub = await connectClient(b.url, cleanups);
    await sub.client.subscribeAsync('$hw/events/upload/#', { qos: 1 });
    const app = await connectClient(b.url, cleanups);
    await app.client.publishAsync('$hw/events/upload/a', Buffer.alloc(256 * 1024 + 1, 1), { qos: 1 });
    await app.client.publishAsync('$hw/events/upload/b', Buffer.alloc(256 * 1024, 2), { qos: 1 });
    await until('the message at the limit', () => sub.received.length >= 1);
    expect(sub.received.map((m) => [m.topic, m.payload.length])).toEqual([['$hw/events/upload/b', 256 * 1024]]);
  });
});

describe('credentials', () => {
  const credentials = { username: 'edge', password: 's3cret-ü' };

  it('refuses a CONNECT with a wrong password, with CONNACK 4 (bad user name or password)', async () => {
    const b = await broker({ port: 0, credentials });
    const refused = mqtt.connectAsync(b.url, { reconnectPeriod: 0, username: 'edge', password: 's3cret-u' });
    await expect(refused).rejects.toMatchObject({ code: 4, message: expect.stringMatching(/bad user ?name or password/i) });
  });

  it('refuses an anonymous CONNECT and a wrong user name', async () => {
    const b = await broker({ port: 0, credentials });
    await expect(mqtt.connectAsync(b.url, { reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    await expect(mqtt.connectAsync(b.url, { reconnectPeriod: 0, username: 'Edge', password: credentials.password })).rejects.toMatchObject({ code: 4 });
    await expect(mqtt.connectAsync(b.url, { reconnectPeriod: 0, username: 'edge', password: `${credentials.password}x` })).rejects.toMatchObject({ code: 4 });
  });

  it('accepts exactly the configured user name and password, which then publish and subscribe', async () => {
    const b = await broker({ port: 0, credentials });
    const sub = await connectClient(b.url, cleanups, credentials);
    await sub.client.subscribeAsync(TWIN_UPDATE, { qos: 1 });
    const mapper = await connectClient(b.url, cleanups, credentials);
    await mapper.client.publishAsync(TWIN_UPDATE, '{}', { qos: 1 });
    await until('the update at the subscriber', () => sub.received.length === 1);
  });

  it('lets anonymous clients in when no credentials are configured', async () => {
    const b = await broker();
    const client = await connectClient(b.url, cleanups);
    expect(client.client.connected).toBe(true);
  });
});

describe('the port', () => {
  it('answers PortInUse as a value when another broker holds the port', async () => {
    const first = await broker();
    const second = await startEmbeddedBroker({ port: first.port });
    expect(second).toMatchObject({ ok: false, error: { kind: 'PortInUse' } });
    if (!second.ok) expect(second.error.message).toContain(`127.0.0.1:${first.port}`);
  });

  it('answers PortInUse when any other listener holds 127.0.0.1:<port>', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port: 0 }, resolve));
    cleanups.add(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
    const address = squatter.address();
    if (address === null || typeof address !== 'object') throw new Error('no address');
    expect(await startEmbeddedBroker({ port: address.port })).toMatchObject({ ok: false, error: { kind: 'PortInUse' } });
  });

  it('close() disconnects connected clients promptly and frees the port for a new broker', async () => {
    const started = await startEmbeddedBroker({ port: 0 });
    if (!started.ok) throw new Error(started.error.message);
    const b = started.value;
    const client = await connectClient(b.url, cleanups);
    let clientClosed = false;
    client.client.on('close', () => (clientClosed = true));
    const closeStarted = performance.now();
    await b.close();
    expect(performance.now() - closeStarted).toBeLessThan(2_000);
    await until('the client to see its connection closed', () => clientClosed, 2_000);
    await b.close(); // closing twice is harmless
    const again = await broker({ port: b.port });
    expect(again.port).toBe(b.port);
    const next = await connectClient(again.url, cleanups);
    expect(next.client.connected).toBe(true);
  });
});
