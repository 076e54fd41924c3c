// Device twins, each figure next to raw MQTT through the same broker, measured in the same run:
// - raw: one mqtt.js client publishes QoS 1 messages that another receives, through the edge's
//   embedded broker (the ceiling any twin traffic shares);
// - at the edge alone: twin updates/s from a mapper's `…/twin/update` publish (QoS 1) to its
//   `…/update/result`: decided, journaled with synchronous=FULL, queued in the outbox, answered;
// - end to end: twin updates/s from the publish to the Device's `status.twins[]` in the API showing
//   the last value (the cloud coalesces a device's writes, so fewer API writes than updates is the point).
// `edgehive cloud` and `edgehive edge` run as child processes; everything is killed at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import mqtt, { type MqttClient } from 'mqtt';
import { startEdgehive, type RunningCli } from '../cmd/edge/edge-cli.testing.js';
import { createJoinTokenInDataDir } from '../transport/index.js';
import type { Figure } from './journal.bench.js';

export interface DeviceBenchOptions {
  /** Devices on the edge, updated round-robin. */
  readonly devices: number;
  /** Twin updates per measured run. */
  readonly updates: number;
  /** Raw MQTT messages per run. */
  readonly rawMessages: number;
}

export const DEVICE_BENCH_DEFAULTS: DeviceBenchOptions = { devices: 10, updates: 2_000, rawMessages: 20_000 };

const NODE_NAME = 'edge-1';
const CLI_START_TIMEOUT_MS = 40_000;
const PHASE_TIMEOUT_MS = 180_000;
/** Publishes a run keeps in flight (QoS 1), like a busy mapper. */
const IN_FLIGHT_MAX = 100;
const POLL_MS = 50;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export function deviceFigureLines(f: Figure): string {
  return `${f.name}: ${fmt(f.value)} ${f.unit} vs raw MQTT ${fmt(f.baseline)} ${f.unit} = ${f.ratio.toFixed(3)}×\n  mode: ${f.mode}`;
}

const deviceName = (i: number): string => `bench-thermo-${i}`;
const topicOf = (i: number, suffix: string): string => `$hw/events/device/default/${deviceName(i)}/${suffix}`;

/** Starts a cloud and one edge, measures the three figures, and tears everything down. */
export async function deviceFigures(options: DeviceBenchOptions = DEVICE_BENCH_DEFAULTS): Promise<Figure[]> {
  const root = await mkdtemp(join(tmpdir(), 'edgehive-bench-devices-'));
  const clis: RunningCli[] = [];
  const clients: MqttClient[] = [];
  try {
    const cloud = startEdgehive(['cloud', '--data-dir', join(root, 'cloud'), '--log-level', 'warn']);
    clis.push(cloud);
    const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, CLI_START_TIMEOUT_MS)).slice('export KUBECONFIG='.length);
    const streamUrl = (await cloud.waitForLine(/^Stream: /, CLI_START_TIMEOUT_MS)).slice('Stream: '.length);
    const token = await createJoinTokenInDataDir(join(root, 'cloud'), { nowMs: Date.now() });
    if (!token.ok) throw new Error(token.error.message);
    const edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', NODE_NAME, '--data-dir', join(root, NODE_NAME), '--token', token.value.token, '--no-meta-server', '--log-level', 'warn']);
    clis.push(edge);
    const mqttUrl = (await edge.waitForLine(/^mqtt mqtt:\/\//, CLI_START_TIMEOUT_MS)).slice('mqtt '.length);
    await edge.waitForLine(/^linked \(/, CLI_START_TIMEOUT_MS);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const objects = kc.makeApiClient(CustomObjectsApi);
    await createDevices(objects, options.devices);

    const publisher = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
    const receiver = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
    clients.push(publisher, receiver);
    await untilTwinsServed(publisher, receiver, options.devices);

    const raw = await rawThroughput(publisher, receiver, options.rawMessages);
    const edgeAlone = await edgeTwinThroughput(publisher, receiver, options);
    const endToEnd = await endToEndThroughput(publisher, objects, options);
    const mode = `1 edge, ${options.devices} devices, QoS 1, ${IN_FLIGHT_MAX} in flight, embedded aedes broker, edge journal synchronous=FULL (WAL)`;
    return [
      { name: 'twin updates at the edge (publish → update/result)', value: edgeAlone, baseline: raw, ratio: edgeAlone / raw, unit: 'updates/s', mode: `${mode}, ${options.updates} updates` },
      { name: 'twin updates end to end (publish → Device status in the API)', value: endToEnd, baseline: raw, ratio: endToEnd / raw, unit: 'updates/s', mode: `${mode}, ${options.updates} updates, API writes coalesced per device` },
    ];
  } finally {
    for (const client of clients) await client.endAsync(true).catch(() => undefined);
    for (const cli of clis) cli.child.kill('SIGKILL');
    await Promise.all(clis.map((cli) => cli.exited()));
    await rm(root, { recursive: true, force: true });
  }
}

async function createDevices(objects: CustomObjectsApi, count: number): Promise<void> {
  const group = 'devices.kubeedge.io';
  const version = 'v1beta1';
  await objects.createNamespacedCustomObject({
    group, version, namespace: 'default', plural: 'devicemodels',
    body: { apiVersion: `${group}/${version}`, kind: 'DeviceModel', metadata: { name: 'bench-model' }, spec: { protocol: 'mqtt-sim', properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' }] } },
  });
  for (let i = 0; i < count; i++) {
    await objects.createNamespacedCustomObject({
      group, version, namespace: 'default', plural: 'devices',
      body: { apiVersion: `${group}/${version}`, kind: 'Device', metadata: { name: deviceName(i) }, spec: { deviceModelRef: { name: 'bench-model' }, nodeName: NODE_NAME, protocol: { protocolName: 'mqtt-sim' }, properties: [{ name: 'temperature' }] } },
    });
  }
}

/** Waits until every device's twin answers twin/get at the edge (the desired set arrived). */
async function untilTwinsServed(publisher: MqttClient, receiver: MqttClient, count: number): Promise<void> {
  const served = new Set<number>();
  await receiver.subscribeAsync('$hw/events/device/default/+/twin/get/result', { qos: 1 });
  const onMessage = (topic: string, payload: Buffer): void => {
    const i = Number(/bench-thermo-(\d+)\//.exec(topic)?.[1]);
    const answer = JSON.parse(payload.toString()) as { code?: number };
    if (Number.isInteger(i) && answer.code === undefined) served.add(i);
  };
  receiver.on('message', onMessage);
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  try {
    while (served.size < count) {
      if (Date.now() > deadline) throw new Error(`only ${served.size} of ${count} twins reached the edge`);
      for (let i = 0; i < count; i++) if (!served.has(i)) await publisher.publishAsync(topicOf(i, 'twin/get'), JSON.stringify({ event_id: `get-${i}` }), { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    receiver.off('message', onMessage);
    await receiver.unsubscribeAsync('$hw/events/device/default/+/twin/get/result');
  }
}

/** Publishes `total` messages with at most IN_FLIGHT_MAX unanswered, and resolves when `answered` counted them all: messages/s. */
async function paced(total: number, publish: (i: number) => Promise<unknown>, answered: () => number): Promise<number> {
  const startedAt = performance.now();
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  for (let i = 0; i < total; i++) {
    while (i - answered() >= IN_FLIGHT_MAX) {
      if (Date.now() > deadline) throw new Error(`stalled at ${answered()} of ${total}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    void publish(i);
  }
  while (answered() < total) {
    if (Date.now() > deadline) throw new Error(`only ${answered()} of ${total} answered`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return total / ((performance.now() - startedAt) / 1000);
}

async function rawThroughput(publisher: MqttClient, receiver: MqttClient, total: number): Promise<number> {
  const topic = 'bench/raw';
  let received = 0;
  const onMessage = (t: string): void => {
    if (t === topic) received++;
  };
  await receiver.subscribeAsync(topic, { qos: 1 });
  receiver.on('message', onMessage);
  const payload = JSON.stringify({ event_id: 'raw', timestamp: Date.now(), twin: { temperature: { actual: { value: '21.5' } } } });
  try {
    return await paced(total, () => publisher.publishAsync(topic, payload, { qos: 1 }), () => received);
  } finally {
    receiver.off('message', onMessage);
  }
}

async function edgeTwinThroughput(publisher: MqttClient, receiver: MqttClient, options: DeviceBenchOptions): Promise<number> {
  let answered = 0;
  let refused = 0;
  const onMessage = (topic: string, payload: Buffer): void => {
    if (!topic.endsWith('/twin/update/result')) return;
    answered++;
    if ((JSON.parse(payload.toString()) as { code?: number }).code !== undefined) refused++;
  };
  await receiver.subscribeAsync('$hw/events/device/default/+/twin/update/result', { qos: 1 });
  receiver.on('message', onMessage);
  try {
    const rate = await paced(options.updates, (i) => publisher.publishAsync(topicOf(i % options.devices, 'twin/update'), update(`edge-${i}`, 20 + (i % 100) / 10), { qos: 1 }), () => answered);
    if (refused > 0) throw new Error(`${refused} twin updates were refused`);
    return rate;
  } finally {
    receiver.off('message', onMessage);
  }
}

const update = (eventId: string, value: number): string => JSON.stringify({ event_id: eventId, timestamp: Date.now(), twin: { temperature: { actual: { value: value.toFixed(1) } } } });

/** Publishes the updates, the last one per device a marker value, and times until every Device's status shows its marker. */
async function endToEndThroughput(publisher: MqttClient, objects: CustomObjectsApi, options: DeviceBenchOptions): Promise<number> {
  const startedAt = performance.now();
  for (let i = 0; i < options.updates; i++) {
    const device = i % options.devices;
    const last = i >= options.updates - options.devices;
    await publisher.publishAsync(topicOf(device, 'twin/update'), update(`e2e-${i}`, last ? 99.5 : 30 + (i % 100) / 10), { qos: 1 });
  }
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  const done = new Set<number>();
  while (done.size < options.devices) {
    if (Date.now() > deadline) throw new Error(`only ${done.size} of ${options.devices} Devices showed their last value`);
    for (let i = 0; i < options.devices; i++) {
      if (done.has(i)) continue;
      const device = (await objects.getNamespacedCustomObject({ group: 'devices.kubeedge.io', version: 'v1beta1', namespace: 'default', plural: 'devices', name: deviceName(i) })) as { status?: { twins?: { propertyName?: string; reported?: { value?: string } }[] } };
      if (device.status?.twins?.some((t) => t.propertyName === 'temperature' && t.reported?.value === '99.5')) done.add(i);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return options.updates / ((performance.now() - startedAt) / 1000);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await deviceFigures();
  figures.forEach((f) => console.log(deviceFigureLines(f)));
  const at = new Date().toISOString();
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}devices-${at.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify({ at, node: process.version, cpus: cpus().length, devices: figures }, null, 2)}\n`);
  console.log(`results: ${file}`);
}
