// Test doubles for the mapper's specs: an aedes broker on a loopback port, and an MQTT client
// playing the edge's EventBus for one device (it records what the mapper publishes and answers it).
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopics, type DeviceId } from '../../transport/index.js';

/** An in-process broker that records what clients publish; `close` also cuts the connections still open. */
export interface TestBroker {
  readonly port: number;
  readonly url: string;
  /** Every message a client published since the broker started, payload parsed. */
  readonly published: readonly Seen[];
  /** Resolves with the first recorded message `match` accepts; fails after `timeoutMs` listing what was seen. */
  waitFor(what: string, match: (seen: Seen) => boolean, timeoutMs?: number): Promise<Seen>;
  close(): Promise<void>;
}

/** Starts aedes on 127.0.0.1:`port` (0: a free one); with `credentials`, only clients presenting them are let in. */
export async function startTestBroker(port = 0, credentials?: { readonly username: string; readonly password: string }): Promise<TestBroker> {
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      if (credentials === undefined) return done(null, true);
      const allowed = username === credentials.username && password?.toString() === credentials.password;
      return allowed ? done(null, true) : done(Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), false);
    },
  });
  const recorder = createRecorder();
  aedes.on('publish', (packet, client) => {
    if (client !== null) recorder.record(packet.topic, Buffer.from(packet.payload));
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the broker has no TCP address');
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), new Promise<void>((resolve) => aedes.close(() => resolve()))]);
  };
  return { port: address.port, url: `mqtt://127.0.0.1:${address.port}`, published: recorder.seen, waitFor: recorder.waitFor, close };
}

/** A port that was free a moment ago: for a broker that a spec starts after the mapper. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** One message the mapper published, its payload parsed. */
export interface Seen {
  readonly topic: string;
  readonly body: Record<string, unknown>;
}

/** The edge's side of one device's topics, as a spec drives it. */
export interface TestEdge {
  readonly seen: readonly Seen[];
  /** Resolves with the first message (so far or to come) that `match` accepts; fails after `timeoutMs` listing what was seen. */
  waitFor(what: string, match: (seen: Seen) => boolean, timeoutMs?: number): Promise<Seen>;
  publish(topic: string, body: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Connects a client that records every message on the device's topics. */
export async function connectTestEdge(url: string, device: DeviceId): Promise<TestEdge> {
  const client: MqttClient = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `test-edge-${process.pid}-${Date.now()}` });
  const recorder = createRecorder();
  client.on('message', (topic, payload) => recorder.record(topic, payload));
  await client.subscribeAsync([deviceTopics.twinUpdate(device), deviceTopics.twinGet(device), deviceTopics.stateUpdate(device)], { qos: 1 });
  return {
    seen: recorder.seen,
    waitFor: recorder.waitFor,
    publish: async (topic, body) => void (await client.publishAsync(topic, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 })),
    close: () => client.endAsync(true),
  };
}

/** Messages recorded as they arrive, and waits on them. */
function createRecorder(): { seen: Seen[]; record(topic: string, payload: Buffer): void; waitFor: TestEdge['waitFor'] } {
  const seen: Seen[] = [];
  const wake = new Set<() => void>();
  const record = (topic: string, payload: Buffer): void => {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString());
    } catch {
      body = { unparsed: payload.toString() };
    }
    seen.push({ topic, body: typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { value: body } });
    for (const check of wake) check();
  };
  const waitFor = (what: string, match: (seen: Seen) => boolean, timeoutMs = 10_000): Promise<Seen> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = seen.find(match);
        if (found === undefined) return;
        wake.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        wake.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; seen:\n${seen.map((s) => `${s.topic} ${JSON.stringify(s.body)}`).join('\n')}`));
      }, timeoutMs);
      wake.add(check);
      check();
    });
  return { seen, record, waitFor };
}

/** The actual value a twin/update message reports for `property`, if it does. */
export function reportedActual(seen: Seen, property: string): string | undefined {
  const twin = seen.body['twin'] as Record<string, { actual?: { value?: unknown } } | undefined> | undefined;
  const value = twin?.[property]?.actual?.value;
  return typeof value === 'string' ? value : undefined;
}
