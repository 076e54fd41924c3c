// The edge's devices: KubeEdge's EventBus (an embedded MQTT broker on 127.0.0.1 by default, or an
// external one by URL) and DeviceTwin (journaled twin actors of the Devices bound to this node).
// Twins live on the edge journal and the outbox, so apps and mappers keep reading and updating them
// with the cloud away; what they change goes up in order once the stream links again. Messages apps
// publish on `$hw/events/upload/…` go up the same way, for the cloud Router's rules, and the Router's
// messages for this edge are published on its broker.
import type { Logger } from 'pino';
import type { ActorHost } from '../../actors/index.js';
import { DeviceTwinHost, type LocalView } from '../../projections/index.js';
import { err, ok, randomIds, systemClock, type Result } from '../../kernel/index.js';
import { EventBus, parseBrokerUrl, startEmbeddedBroker, uploadEventOf, type EmbeddedBroker, type InboundDeviceMessage, type UpEvent } from '../../transport/index.js';

/** KubeEdge's external MQTT port; `--mqtt-port 0` takes a free one. */
export const MQTT_PORT_DEFAULT = 1883;

/** Where the EventBus connects: a broker this process embeds, or an external one. */
export type MqttSettings =
  | { readonly kind: 'embedded'; readonly port: number; readonly credentials?: { readonly username: string; readonly password: string } }
  | { readonly kind: 'external'; readonly url: string }
  | { readonly kind: 'off' };

export interface MqttFlags {
  readonly mqtt?: boolean;
  readonly mqttUrl?: string;
  readonly mqttPort?: string;
  readonly mqttUsername?: string;
  readonly mqttPassword?: string;
}

/** `--mqtt-url`, `--mqtt-port`, `--mqtt-username/--mqtt-password`, `--no-mqtt`, checked together. */
export function parseMqttSettings(flags: MqttFlags): Result<MqttSettings, string> {
  if (flags.mqtt === false) return ok({ kind: 'off' });
  const hasCredentials = flags.mqttUsername !== undefined || flags.mqttPassword !== undefined;
  if (flags.mqttUrl !== undefined) {
    if (flags.mqttPort !== undefined || hasCredentials) return err('--mqtt-url names an external broker: give its credentials in the URL (mqtt://user:pass@host:port), not --mqtt-port/--mqtt-username/--mqtt-password');
    let url: URL;
    try {
      url = new URL(flags.mqttUrl);
    } catch {
      return err(`--mqtt-url must be a URL such as mqtt://127.0.0.1:1883, got '${flags.mqttUrl}'`);
    }
    if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') return err(`--mqtt-url must use mqtt:// or mqtts://, got '${url.protocol}'`);
    // Checked as the EventBus will read it (a host, decodable credentials), so it cannot fail later.
    const broker = parseBrokerUrl(flags.mqttUrl);
    if (!broker.ok) return err(`--mqtt-url: ${broker.error}`);
    return ok({ kind: 'external', url: flags.mqttUrl });
  }
  const text = flags.mqttPort ?? String(MQTT_PORT_DEFAULT);
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) return err(`--mqtt-port must be a port number (0 for a free one), got '${text}'`);
  if (hasCredentials && (flags.mqttUsername === undefined || flags.mqttPassword === undefined || flags.mqttUsername === '')) {
    return err('--mqtt-username and --mqtt-password go together');
  }
  const credentials = flags.mqttUsername !== undefined && flags.mqttPassword !== undefined ? { username: flags.mqttUsername, password: flags.mqttPassword } : undefined;
  return ok({ kind: 'embedded', port, ...(credentials === undefined ? {} : { credentials }) });
}

/** The URL shown to users: never the password. */
export function displayedMqttUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export interface EdgeDevicesContext {
  readonly nodeName: string;
  readonly host: ActorHost;
  readonly view: LocalView;
  readonly report: (events: readonly UpEvent[]) => Promise<unknown>;
  readonly settings: MqttSettings;
  readonly io: { out(line: string): void };
  readonly log: Logger;
}

/** The devices part of a running edge. */
export interface EdgeDevices {
  /** The held Devices or DeviceModels changed. */
  reconcile(): void;
  twins(): ReturnType<DeviceTwinHost['twins']>;
  /** A full resync: the cloud may lack what was reported below the outbox floor, so every twin goes up again. */
  reportAll(): void;
  /** Publishes a cloud Router message on the broker (QoS 1); err without a broker or once stopped. */
  publish(topic: string, payload: Buffer): Promise<Result<void, string>>;
  stop(): Promise<void>;
}

/**
 * Starts the broker (when embedded), the EventBus and the twins. A broker that cannot listen is
 * reported and the edge runs on without MQTT (its pods do not depend on it), as with the local API.
 */
export async function startEdgeDevices(context: EdgeDevicesContext): Promise<EdgeDevices> {
  const { nodeName, view, io, log } = context;
  // Until an EventBus exists (no broker), answers go nowhere; twins still journal and report up.
  let publish: (topic: string, payload: string) => void = () => undefined;
  const twins = new DeviceTwinHost({ nodeName, host: context.host, report: context.report, publish: (topic, payload) => publish(topic, payload), clock: systemClock, ids: randomIds, log });
  const broker = await brokerOf(context);
  const url = broker?.url ?? (context.settings.kind === 'external' ? context.settings.url : undefined);
  let bus: EventBus | undefined;
  if (url !== undefined) {
    const credentials = context.settings.kind === 'embedded' ? context.settings.credentials : undefined;
    bus = EventBus.start({ url, nodeName, clientId: `edgehive-eventbus-${nodeName}`, ...(credentials === undefined ? {} : credentials), log });
    const connected = bus;
    publish = (topic, payload) => {
      void connected.publish(topic, payload).then((published) => {
        if (!published.ok) log.warn({ topic, error: published.error }, 'mqtt publish dropped');
      });
    };
    let shownConnected = false;
    bus.on('connected', () => {
      if (!shownConnected) io.out(`eventbus connected to ${displayedMqttUrl(url)}`);
      shownConnected = true;
    });
    const uploadRefusals = { logged: 0 };
    bus.on('message', (message) => {
      if (message.topic.kind === 'upload') return forwardUpload(message, context, uploadRefusals);
      twins.handle(message).catch((error: Error) => log.warn({ topic: message.rawTopic, error: error.message }, 'mqtt message not handled'));
    });
    io.out(`mqtt ${displayedMqttUrl(url)}${broker === undefined ? ' (external)' : ''}`);
  }
  const model = (namespace: string, name: string) => view.deviceModel(namespace, name);
  await twins.start(view.devices(), model);
  io.out(`devices: ${twins.twins().length} from the journal`);
  // One reconcile at a time, and at most one more queued: a burst of desired commits folds into it.
  let running: Promise<void> = Promise.resolve();
  let queued = false;
  return {
    reconcile: () => {
      if (queued) return;
      queued = true;
      running = running.then(async () => {
        queued = false;
        await twins.reconcile(view.devices(), model).catch((error: Error) => log.warn({ error: error.message }, 'devices not reconciled'));
      });
    },
    twins: () => twins.twins(),
    reportAll: () => twins.reportAll(),
    publish: (topic, payload) => (bus === undefined ? Promise.resolve(err('this edge runs no MQTT broker (--no-mqtt, or it could not listen)')) : bus.publish(topic, payload)),
    stop: async () => {
      await running;
      await twins.stop();
      await bus?.close();
      await broker?.close();
    },
  };
}

/** Distinct upload refusals logged (a chatty app on a bad topic must not flood the log). */
const UPLOAD_REFUSALS_LOGGED_MAX = 16;

/**
 * Sends an app's upload up through the outbox (journaled, in order, kept while the cloud is away).
 * Called in the order the bus received messages; report assigns the outbox position at once, so
 * the order holds. An upload that cannot go (too large, a topic too long for the stream) is logged.
 */
function forwardUpload(message: InboundDeviceMessage, context: EdgeDevicesContext, refusals: { logged: number }): void {
  const bytes = message.bytes;
  const event = bytes === undefined ? err(message.payload.ok ? 'the payload was not kept' : message.payload.error.reason) : uploadEventOf(message.rawTopic, bytes);
  if (!event.ok) {
    if (refusals.logged < UPLOAD_REFUSALS_LOGGED_MAX) context.log.warn({ topic: message.rawTopic.slice(0, 256), reason: event.error }, 'upload not forwarded to the cloud');
    refusals.logged += 1;
    return;
  }
  void context.report([event.value]).then(
    (reported) => {
      if (isFailed(reported)) context.log.warn({ topic: message.rawTopic.slice(0, 256), error: reported.error }, 'upload not journaled');
    },
    (error: Error) => context.log.warn({ topic: message.rawTopic.slice(0, 256), error: error.message }, 'upload not journaled'),
  );
}

const isFailed = (value: unknown): value is { readonly ok: false; readonly error: unknown } => typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;

async function brokerOf(context: EdgeDevicesContext): Promise<EmbeddedBroker | undefined> {
  const settings = context.settings;
  if (settings.kind !== 'embedded') return undefined;
  const started = await startEmbeddedBroker({ port: settings.port, ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }) });
  if (started.ok) return started.value;
  context.io.out(`mqtt unavailable: ${started.error.message} (use --mqtt-port 0 for a free port, or --mqtt-url for an external broker)`);
  return undefined;
}
