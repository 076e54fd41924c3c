// The edge's MQTT client (KubeEdge's EventBus): subscribes to the device topic tree on the embedded
// or an external broker, turns each message into one parsed InboundDeviceMessage, publishes the
// edge's answers at QoS 1, and reconnects with a bounded back-off, never crashing on what devices send.
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type ISubscriptionGrant, type MqttClient } from 'mqtt';
import { err, invariant, ok, type JsonValue, type Result } from '../../kernel/index.js';
import { inboundFilters, MQTT_PAYLOAD_BYTES_MAX_DEFAULT, parseDeviceTopic, type InboundDeviceMessage, type PayloadProblem } from './device-topics.js';

/** How the EventBus reaches its broker and what it bounds. */
export interface EventBusOptions {
  /** The embedded broker's url or an external broker's (e.g. mosquitto); may carry `user:pass@`. */
  readonly url: string;
  /** Override the url's user; with bad credentials the bus emits 'disconnected' with the broker's reason and keeps retrying (back-off up to 5 s). */
  readonly username?: string;
  readonly password?: string;
  /** Subscribes `inboundFilters(nodeName)` at QoS 1 on every (re)connect. */
  readonly nodeName: string;
  readonly clientId: string;
  /** Inbound payloads larger than this arrive as `PayloadTooLarge`; default MQTT_PAYLOAD_BYTES_MAX_DEFAULT. */
  readonly payloadBytesMax?: number;
  /** Publishes not yet acknowledged by the broker (all of them while disconnected); past it publish resolves err; default 10_000. */
  readonly publishQueuedMax?: number;
  readonly log: { info(fields: object, msg: string): void; warn(fields: object, msg: string): void };
}

/** The bus' events: one 'message' per inbound message on a filter; 'connected' once subscribed; 'disconnected' per lost connection or failed attempt. */
export type EventBusEvents = { message: [InboundDeviceMessage]; connected: []; disconnected: [reason: string] };

/** Bounds of the reconnect back-off: the first wait is `delayMsMin`, each failed attempt doubles it up to `delayMsMax`. */
export interface ReconnectBackoff {
  readonly delayMsMin: number;
  readonly delayMsMax: number;
}

export const EVENT_BUS_BACKOFF: ReconnectBackoff = { delayMsMin: 250, delayMsMax: 5_000 };
export const EVENT_BUS_PUBLISH_QUEUED_MAX_DEFAULT = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
const KEEPALIVE_S = 30;
/** `end()` waits for the socket to close; a stuck socket must not hold up the edge's shutdown. */
const CLOSE_WAIT_MS_MAX = 2_000;
/** Distinct shapes of unserved topics logged; past it, one more line says so and the rest are dropped silently. */
const UNSERVED_TOPIC_SHAPES_LOGGED_MAX = 64;
const TOPIC_LOGGED_CHARS_MAX = 256;
const REASON_CHARS_MAX = 200;
const BROKER_URL_PROTOCOLS: readonly string[] = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:'];

/** The wait before reconnect attempt `attempt + 1`, after `attempt` failed attempts (0 right after a connection was lost). */
export function reconnectDelayMs(attempt: number, backoff: ReconnectBackoff = EVENT_BUS_BACKOFF): number {
  invariant(Number.isInteger(attempt) && attempt >= 0, 'reconnect attempts are counted from 0');
  return Math.min(backoff.delayMsMax, backoff.delayMsMin * 2 ** Math.min(attempt, 30));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const clip = (text: string, charsMax: number): string => (text.length > charsMax ? `${text.slice(0, charsMax)}…` : text);

/** An inbound payload as JSON, or why not: the size is checked on the raw bytes before any decoding. */
export function readInboundPayload(bytes: Uint8Array, bytesMax: number): Result<JsonValue, PayloadProblem> {
  if (bytes.length > bytesMax) {
    return err({ kind: 'PayloadTooLarge', bytes: bytes.length, bytesMax, reason: `the payload of ${bytes.length} bytes exceeds the limit of ${bytesMax} bytes` });
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return err({ kind: 'PayloadMalformed', reason: 'the payload is not valid UTF-8' });
  }
  try {
    return ok(JSON.parse(text) as JsonValue);
  } catch (error) {
    return err({ kind: 'PayloadMalformed', reason: clip(`the payload is not JSON: ${(error as Error).message}`, REASON_CHARS_MAX) });
  }
}

/** MQTT's limit on a topic name's UTF-8 length. */
const TOPIC_BYTES_MAX = 65_535;
/** Brokers cap topic depth (aedes at 100 levels) and close the connection of a client that goes deeper. */
const TOPIC_LEVELS_MAX = 100;

/**
 * Whether a broker will take `topic` as a PUBLISH topic name. A broker closes the connection on a
 * bad one (no wildcards, not empty, no NUL, bounded) and mqtt.js would resend it after every
 * reconnect, so the bus refuses it up front.
 */
export function checkPublishTopic(topic: string): Result<void, string> {
  if (topic === '') return err('a publish topic is not empty');
  if (/[+#\u0000]/.test(topic)) return err(`publish topic ${JSON.stringify(clip(topic, TOPIC_LOGGED_CHARS_MAX))} has a wildcard or NUL`);
  if (Buffer.byteLength(topic, 'utf8') > TOPIC_BYTES_MAX) return err(`a publish topic is at most ${TOPIC_BYTES_MAX} bytes`);
  if (topic.split('/').length > TOPIC_LEVELS_MAX) return err(`a publish topic has at most ${TOPIC_LEVELS_MAX} levels`);
  // A lone surrogate would go out as U+FFFD, a different topic.
  if (Buffer.from(topic, 'utf8').toString('utf8') !== topic) return err('a publish topic is well-formed Unicode');
  return ok(undefined);
}

/** A topic with its device id or node name levels replaced by `+`, so unserved topics are logged once per kind, not once per device. */
export function topicShape(topic: string): string {
  const levels = topic.split('/');
  const tree = levels[0] === '$hw' && levels[1] === 'events' ? levels[2] : undefined;
  const named: readonly number[] = tree === 'device' ? [3, 4] : tree === 'node' ? [3] : [];
  const shape = levels.map((level, i) => (named.includes(i) ? '+' : level));
  return clip(shape.join('/'), TOPIC_LOGGED_CHARS_MAX);
}

/** A broker url split into what mqtt.js connects to and the credentials it carried (percent-decoded); for validating `--mqtt-url`. */
export function parseBrokerUrl(url: string): Result<{ readonly url: string; readonly username?: string; readonly password?: string }, string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return err(`${JSON.stringify(clip(url, TOPIC_LOGGED_CHARS_MAX))} is not a URL (want mqtt://host:port)`);
  }
  if (!BROKER_URL_PROTOCOLS.includes(parsed.protocol)) return err(`broker url protocol ${parsed.protocol} is not one of ${BROKER_URL_PROTOCOLS.join(' ')}`);
  if (parsed.hostname === '') return err('the broker url names no host');
  let credentials: { username?: string; password?: string };
  try {
    credentials = {
      ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
      ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    };
  } catch {
    return err('the broker url\'s user name or password is not valid percent-encoding');
  }
  return ok({ url: `${parsed.protocol}//${parsed.host}`, ...credentials });
}

/**
 * The edge's MQTT client. `start` returns at once; the bus connects in the background.
 *
 * ```ts
 * const bus = EventBus.start({ url: broker.url, nodeName: 'edge-1', clientId: 'edgehive-edge-1', log });
 * bus.on('message', (m) => twins.receive(m));          // m.payload is ok(JSON) or err(PayloadProblem)
 * await bus.publish(deviceTopics.updateResult(id), JSON.stringify(result));
 * await bus.close();
 * ```
 */
export class EventBus extends EventEmitter<EventBusEvents> {
  readonly #client: MqttClient;
  readonly #options: EventBusOptions;
  readonly #url: string;
  readonly #payloadBytesMax: number;
  readonly #publishQueuedMax: number;
  /** Settles each publish not yet acknowledged, so close() can answer them all. */
  readonly #unacked = new Set<(result: Result<void, string>) => void>();
  readonly #unservedShapes = new Set<string>();
  #connected = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #attempt = 0;
  /** Counts connections, so a subscribe answered after its connection dropped is ignored. */
  #connection = 0;
  #lastError: string | undefined;

  /** Starts connecting in the background. Throws only on an options bug (an unparseable url: check it with parseBrokerUrl first). */
  static start(options: EventBusOptions): EventBus {
    return new EventBus(options);
  }

  private constructor(options: EventBusOptions) {
    super();
    const target = parseBrokerUrl(options.url);
    invariant(target.ok, `EventBus url: ${target.ok ? '' : target.error}`);
    this.#payloadBytesMax = options.payloadBytesMax ?? MQTT_PAYLOAD_BYTES_MAX_DEFAULT;
    this.#publishQueuedMax = options.publishQueuedMax ?? EVENT_BUS_PUBLISH_QUEUED_MAX_DEFAULT;
    invariant(Number.isInteger(this.#payloadBytesMax) && this.#payloadBytesMax > 0, 'payloadBytesMax is a positive byte count');
    invariant(Number.isInteger(this.#publishQueuedMax) && this.#publishQueuedMax > 0, 'publishQueuedMax is a positive count');
    invariant(options.nodeName !== '' && !/[/+#]/.test(options.nodeName), 'a node name is one topic level without wildcards');
    this.#options = options;
    this.#url = target.value.url;
    const username = options.username ?? target.value.username;
    const password = options.password ?? target.value.password;
    const connectOptions: IClientOptions = {
      clientId: options.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: KEEPALIVE_S,
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectPeriod: reconnectDelayMs(0),
      // A refused CONNECT (bad credentials, server unavailable) is retried like a lost connection.
      reconnectOnConnackError: true,
      // Subscriptions are made on every 'connect' below, so a restarted broker gets them too.
      resubscribe: false,
      queueQoSZero: false,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    };
    this.#client = mqtt.connect(this.#url, connectOptions);
    this.#client.on('connect', () => this.#onConnect());
    this.#client.on('reconnect', () => this.#onReconnect());
    this.#client.on('error', (error) => {
      this.#lastError = clip(error.message, REASON_CHARS_MAX);
    });
    this.#client.on('close', () => this.#onClose());
    this.#client.on('message', (topic, payload) => this.#onMessage(topic, payload));
  }

  /** Whether the bus is connected and its filters are subscribed. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Publishes at QoS 1; resolves ok once the broker acknowledged, err for a topic no broker takes, when the bus closed first or too many publishes wait. */
  publish(topic: string, payload: string | Buffer): Promise<Result<void, string>> {
    if (this.#closed) return Promise.resolve(err('the event bus is closed'));
    const topicChecked = checkPublishTopic(topic);
    if (!topicChecked.ok) return Promise.resolve(topicChecked);
    if (this.#unacked.size >= this.#publishQueuedMax) {
      return Promise.resolve(err(`${this.#unacked.size} publishes already wait for the broker (publishQueuedMax ${this.#publishQueuedMax})`));
    }
    return new Promise((resolve) => {
      const settle = (result: Result<void, string>): void => {
        if (!this.#unacked.delete(settle)) return;
        resolve(result);
      };
      this.#unacked.add(settle);
      this.#client.publish(topic, payload, { qos: 1 }, (error) => settle(error === undefined || error === null ? ok(undefined) : err(error.message)));
    });
  }

  /** Disconnects and stops reconnecting; publishes not yet acknowledged resolve err. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const wasConnected = this.#connected;
    this.#connected = false;
    for (const settle of [...this.#unacked]) settle(err('the event bus closed before the broker acknowledged'));
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS_MAX);
      timer.unref();
    });
    await Promise.race([this.#client.endAsync(true).catch(() => undefined), gaveUp]);
    clearTimeout(timer);
    if (wasConnected) this.#emit('disconnected', 'closed by the edge');
  }

  #onConnect(): void {
    this.#attempt = 0;
    this.#client.options.reconnectPeriod = reconnectDelayMs(0);
    this.#lastError = undefined;
    const connection = ++this.#connection;
    const filters = inboundFilters(this.#options.nodeName);
    this.#client.subscribe([...filters], { qos: 1 }, (error, granted) => {
      if (connection !== this.#connection || this.#closed) return;
      if (error !== null && error !== undefined) {
        this.#options.log.warn({ url: this.#url, error: error.message }, 'EventBus could not subscribe; it retries on the next connection');
        return;
      }
      this.#noteRefusedFilters(granted ?? []);
      this.#connected = true;
      this.#options.log.info({ url: this.#url, filters }, 'EventBus connected and subscribed');
      this.#emit('connected');
    });
  }

  #noteRefusedFilters(granted: readonly ISubscriptionGrant[]): void {
    const refused = granted.filter((grant) => grant.qos === 128).map((grant) => grant.topic);
    if (refused.length > 0) this.#options.log.warn({ url: this.#url, refused }, 'the broker refused some EventBus subscriptions');
  }

  #onReconnect(): void {
    // Called as an attempt starts: the wait after this attempt, should it fail, doubles (bounded).
    this.#attempt += 1;
    this.#client.options.reconnectPeriod = reconnectDelayMs(this.#attempt);
  }

  #onClose(): void {
    this.#connection += 1;
    this.#connected = false;
    if (this.#closed) return;
    const reason = this.#lastError ?? 'connection closed';
    this.#lastError = undefined;
    this.#options.log.warn({ url: this.#url, reason, retryInMs: this.#client.options.reconnectPeriod }, 'EventBus disconnected');
    this.#emit('disconnected', reason);
  }

  #onMessage(rawTopic: string, bytes: Buffer): void {
    if (this.#closed) return;
    const topic = parseDeviceTopic(rawTopic);
    if (!topic.ok) {
      this.#noteUnservedTopic(rawTopic, topic.error);
      return;
    }
    const payload = readInboundPayload(bytes, this.#payloadBytesMax);
    // An upload is forwarded as bytes, JSON or not; the size check above bounds them too.
    const forwarded = topic.value.kind === 'upload' && bytes.length <= this.#payloadBytesMax ? { bytes } : {};
    this.#emit('message', { topic: topic.value, rawTopic, payload, ...forwarded });
  }

  #noteUnservedTopic(rawTopic: string, why: string): void {
    const shape = topicShape(rawTopic);
    if (this.#unservedShapes.has(shape) || this.#unservedShapes.size > UNSERVED_TOPIC_SHAPES_LOGGED_MAX) return;
    this.#unservedShapes.add(shape);
    if (this.#unservedShapes.size > UNSERVED_TOPIC_SHAPES_LOGGED_MAX) {
      this.#options.log.warn({ shapesLoggedMax: UNSERVED_TOPIC_SHAPES_LOGGED_MAX }, 'EventBus drops messages on further unserved topics without logging them');
      return;
    }
    this.#options.log.warn({ topic: clip(rawTopic, TOPIC_LOGGED_CHARS_MAX), shape, why }, 'EventBus dropped a message on a topic it does not serve (logged once per topic shape)');
  }

  /** Calls each listener on its own, so one that throws is logged and neither stops the others nor reaches mqtt.js. */
  #emit<K extends keyof EventBusEvents>(event: K, ...args: EventBusEvents[K]): void {
    for (const listener of this.rawListeners(event) as Array<(...a: EventBusEvents[K]) => void>) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.#options.log.warn({ event, error: error instanceof Error ? error.message : String(error) }, 'an EventBus listener threw');
      }
    }
  }
}
