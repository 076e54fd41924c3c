// Test helpers for the MQTT room: waiting on conditions, plain mqtt clients standing in for mappers
// and apps, a recording log, a TCP relay the test can cut, and cleanups run in reverse order after each test.
import { connect, createServer, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { InboundDeviceMessage } from './device-topics.js';
import type { EventBus, EventBusOptions } from './event-bus.js';

const POLL_MS = 10;

/** Waits until `condition` holds, polling; fails naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Cleanups registered by a test, run last-first by `runCleanups` in afterEach. */
export class Cleanups {
  readonly #steps: Array<() => Promise<unknown> | unknown> = [];

  add(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step();
  }
}

/** A log that keeps its lines, for asserting what the bus reported. */
export class RecordingLog {
  readonly lines: Array<{ readonly level: 'info' | 'warn'; readonly fields: object; readonly msg: string }> = [];

  info(fields: object, msg: string): void {
    this.lines.push({ level: 'info', fields, msg });
  }

  warn(fields: object, msg: string): void {
    this.lines.push({ level: 'warn', fields, msg });
  }

  count(msgPart: string): number {
    return this.lines.filter((line) => line.msg.includes(msgPart)).length;
  }
}

/** A message a plain client received. */
export interface Received {
  readonly topic: string;
  readonly payload: Buffer;
}

/** Connects a plain mqtt client (a mapper or app) that does not reconnect, collecting what it receives. */
export async function connectClient(
  url: string,
  cleanups: Cleanups,
  options: IClientOptions = {},
): Promise<{ readonly client: MqttClient; readonly received: Received[] }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  cleanups.add(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (topic, payload) => received.push({ topic, payload }));
  return { client, received };
}

/** Starts an EventBus, collecting its messages and connection events, closed after the test. */
export function startTestBus(
  start: (options: EventBusOptions) => EventBus,
  options: Omit<EventBusOptions, 'log' | 'clientId'> & { readonly clientId?: string },
  cleanups: Cleanups,
): { readonly bus: EventBus; readonly messages: InboundDeviceMessage[]; readonly disconnects: string[]; readonly log: RecordingLog; connects(): number } {
  const log = new RecordingLog();
  const bus = start({ clientId: `bus-${options.nodeName}`, ...options, log });
  cleanups.add(() => bus.close());
  const messages: InboundDeviceMessage[] = [];
  const disconnects: string[] = [];
  let connects = 0;
  bus.on('message', (message) => messages.push(message));
  bus.on('disconnected', (reason) => disconnects.push(reason));
  bus.on('connected', () => (connects += 1));
  return { bus, messages, disconnects, log, connects: () => connects };
}

/** A TCP relay to a broker that the test can cut, as a network failure does, and restore on the same port. */
export interface CuttableLink {
  readonly url: string;
  /** Destroys every relayed connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Starts a relay on a free 127.0.0.1 port to `127.0.0.1:<targetPort>`. */
export async function startCuttableLink(targetPort: number): Promise<CuttableLink> {
  const sockets = new Set<Socket>();
  let isCut = false;
  const server = createServer((inbound) => {
    if (isCut) return void inbound.destroy();
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('the relay has no address');
  const destroyAll = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `mqtt://127.0.0.1:${address.port}`,
    cut: () => {
      isCut = true;
      destroyAll();
    },
    restore: () => {
      isCut = false;
    },
    close: () => {
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
