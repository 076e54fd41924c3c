// `edgehive mapper sim`: a simulated device speaking KubeEdge's MQTT twin topics as an MQTT-era
// mapper does; the thin MQTT shell around the pure rules in mapper-sim.step.ts and mapper-sim.messages.ts.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { invariant, randomIds, systemClock, type Clock, type Ids, type JsonObject } from '../../kernel/index.js';
import { MQTT_PAYLOAD_BYTES_MAX_DEFAULT, deviceTopics, type DeviceId } from '../../transport/index.js';
import { parseEdgeAnswer, stateUpdateMessage, twinGetMessage, twinUpdateMessage, type EdgeAnswerKind } from './mapper-sim.messages.js';
import { checkMapperSimOptions, parseMapperSimFlags, redactUrl, type MapperSimFlags, type MapperSimOptions } from './mapper-sim.options.js';
import { initialSimState, onExpectedTarget, onTick, type SimOutput, type SimProperties, type SimState } from './mapper-sim.step.js';

export type { MapperSimFlags, MapperSimOptions } from './mapper-sim.options.js';

/** Where the mapper prints its greppable lines. */
export interface MapperIo {
  out(line: string): void;
  err(line: string): void;
}

/** Time, ids and the bounds of the connection; tests shorten them. */
export interface MapperSimDeps {
  readonly clock: Clock;
  readonly ids: Ids;
  /** First wait before reconnecting; doubles per failed attempt up to `retryDelayMsMax`. */
  readonly retryDelayMsMin: number;
  readonly retryDelayMsMax: number;
  /** How long a connection attempt may wait for the broker's CONNACK. */
  readonly connectTimeoutMs: number;
  /** How long stopping waits for the `offline` state to be acknowledged and the disconnect to finish. */
  readonly stopTimeoutMs: number;
}

export const mapperSimDepsDefault: MapperSimDeps = {
  clock: systemClock,
  ids: randomIds,
  retryDelayMsMin: 250,
  retryDelayMsMax: 5_000,
  connectTimeoutMs: 5_000,
  stopTimeoutMs: 3_000,
};

/** Runs the command from its flags: a bad flag is printed and exits 2. */
export async function runMapperSimCli(flags: MapperSimFlags, io: MapperIo, stop: AbortSignal): Promise<number> {
  const options = parseMapperSimFlags(flags);
  if (!options.ok) {
    io.err(`mapper: ${options.error}`);
    return 2;
  }
  return runMapperSim(options.value, io, stop);
}

/**
 * Runs the simulated device until `stop` fires: reports `online`, learns its target from the
 * edge (twin/get, deltas), moves its reading toward it every interval and reports it; on stop
 * reports `offline` and disconnects. Returns the exit code (0; 2 for bad options).
 *
 * @example
 * const stop = new AbortController();
 * const done = runMapperSim({ mqttUrl: 'mqtt://127.0.0.1:1883', device: 'default/thermometer-1', intervalMs: 1000,
 *   property: 'temperature', targetProperty: 'target-temperature', initial: 18 }, io, stop.signal);
 */
export async function runMapperSim(options: MapperSimOptions, io: MapperIo, stop: AbortSignal, deps: MapperSimDeps = mapperSimDepsDefault): Promise<number> {
  const device = checkMapperSimOptions(options);
  if (!device.ok) {
    io.err(`mapper: ${device.error}`);
    return 2;
  }
  invariant(deps.retryDelayMsMin > 0 && deps.retryDelayMsMin <= deps.retryDelayMsMax, 'the reconnect back-off is positive and bounded');
  if (stop.aborted) return 0;
  const link = openLink(options, device.value, io, deps);
  const timer = setInterval(() => link.tick(), options.intervalMs);
  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  clearInterval(timer);
  await link.close();
  io.out(`mapper: ${options.device} offline; stopped`);
  return 0;
}

/** The connected device: its state, the MQTT client, and what the shell does on each input. */
interface Link {
  tick(): void;
  close(): Promise<void>;
}

function openLink(options: MapperSimOptions, device: DeviceId, io: MapperIo, deps: MapperSimDeps): Link {
  const url = redactUrl(options.mqttUrl);
  const properties: SimProperties = { property: options.property, targetProperty: options.targetProperty };
  const answerKinds = new Map<string, EdgeAnswerKind>([
    [deviceTopics.delta(device), 'delta'],
    [deviceTopics.getResult(device), 'getResult'],
    [deviceTopics.updateResult(device), 'updateResult'],
  ]);
  const client = mqtt.connect(options.mqttUrl, connectOptions(device, deps));
  let state: SimState = initialSimState(options.initial);
  let failedAttempts = 0;
  let lastConnectError: string | undefined;
  let lastIgnored: string | undefined;

  const publish = (topic: string, message: JsonObject): void => {
    client.publishAsync(topic, JSON.stringify(message), { qos: 1 }).catch((error: unknown) => io.err(`mapper: publish to ${topic} failed: ${messageOf(error)}`));
  };
  const apply = (output: SimOutput): void => {
    state = output.state;
    for (const line of output.out) io.out(line);
    for (const line of output.err) io.err(line);
    if (Object.keys(output.actuals).length > 0) publish(deviceTopics.twinUpdate(device), twinUpdateMessage(deps.ids.next(), deps.clock.nowMs(), output.actuals));
  };

  // One line per distinct error: a broker that stays away refuses every attempt alike.
  client.on('error', (error) => {
    if (error.message === lastConnectError) return;
    lastConnectError = error.message;
    io.err(client.connected ? `mapper: link to ${url} failed: ${error.message}` : `mapper: cannot connect to ${url}: ${error.message}; retrying`);
  });
  // Each attempt sets the wait before the next one: exponential back-off, bounded.
  client.on('reconnect', () => {
    failedAttempts += 1;
    client.options.reconnectPeriod = Math.min(deps.retryDelayMsMax, deps.retryDelayMsMin * 2 ** Math.min(failedAttempts, 16));
  });
  client.on('connect', () => {
    failedAttempts = 0;
    lastConnectError = undefined;
    client.options.reconnectPeriod = deps.retryDelayMsMin;
    io.out(`mapper: connected to ${url} as ${options.device}`);
    announce(client, device, [...answerKinds.keys()], deps).catch((error: unknown) => io.err(`mapper: announcing ${options.device} failed: ${messageOf(error)}`));
  });
  client.on('message', (topic, payload) => {
    const kind = answerKinds.get(topic);
    if (kind === undefined) return;
    const answer = parseEdgeAnswer(kind, payload, options.targetProperty, MQTT_PAYLOAD_BYTES_MAX_DEFAULT);
    if (!answer.ok) {
      const why = `mapper: ignored a ${kind} message: ${answer.error}`;
      if (why !== lastIgnored) io.err(why);
      lastIgnored = why;
      return;
    }
    const found = answer.value;
    if (found.kind === 'expectedTarget') apply(onExpectedTarget(state, properties, found.expected, found.actual));
    else if (found.kind === 'refused') io.err(`mapper: ${found.answerTo === 'update' ? 'update' : 'twin get'} refused: ${found.code} ${found.reason}`);
  });

  return {
    tick: () => apply(onTick(state, properties, client.connected)),
    close: () => closeLink(client, device, deps),
  };
}

/** One client for the device's life: it reconnects itself, and the shell re-announces on every connect. */
function connectOptions(device: DeviceId, deps: MapperSimDeps): IClientOptions {
  return {
    clientId: `edgehive-mapper-${device.namespace}-${device.name}-${deps.ids.next().slice(0, 8)}`,
    protocolVersion: 4,
    clean: true,
    resubscribe: false, // subscribing is part of every (re)connect (announce), so the broker never holds a stale set
    reconnectPeriod: deps.retryDelayMsMin,
    reconnectOnConnackError: true, // a broker that refuses us now (still starting, credentials not yet loaded) may take us later
    connectTimeout: deps.connectTimeoutMs,
    // A crash or a lost link still tells the edge the device is gone.
    will: { topic: deviceTopics.stateUpdate(device), payload: Buffer.from(JSON.stringify(stateUpdateMessage(deps.ids.next(), deps.clock.nowMs(), 'offline'))), qos: 1, retain: false },
  };
}

/** On every (re)connect: listen for the edge's answers, say the device is online, ask for the twin. */
async function announce(client: MqttClient, device: DeviceId, answerTopics: readonly string[], deps: MapperSimDeps): Promise<void> {
  // Subscribed before asking, so the get/result cannot pass unseen.
  await client.subscribeAsync([...answerTopics], { qos: 1 });
  await client.publishAsync(deviceTopics.stateUpdate(device), JSON.stringify(stateUpdateMessage(deps.ids.next(), deps.clock.nowMs(), 'online')), { qos: 1 });
  await client.publishAsync(deviceTopics.twinGet(device), JSON.stringify(twinGetMessage(deps.ids.next(), deps.clock.nowMs())), { qos: 1 });
}

/** Reports `offline` when linked, then disconnects; each step bounded by `stopTimeoutMs`, after which the link is cut. */
async function closeLink(client: MqttClient, device: DeviceId, deps: MapperSimDeps): Promise<void> {
  const offline = JSON.stringify(stateUpdateMessage(deps.ids.next(), deps.clock.nowMs(), 'offline'));
  const said = client.connected ? await withinMs(client.publishAsync(deviceTopics.stateUpdate(device), offline, { qos: 1 }), deps.stopTimeoutMs) : false;
  // Unacknowledged packets would hold a graceful end open, so without the ack the end is forced.
  const ended = await withinMs(client.endAsync(!said), deps.stopTimeoutMs);
  if (!ended) client.stream?.destroy();
}

/** Whether `work` settled successfully within `ms`. */
async function withinMs(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const outcome = await Promise.race([work.then(() => true, () => false), timedOut]);
  clearTimeout(timer);
  return outcome;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
