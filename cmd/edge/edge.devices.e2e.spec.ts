// Devices end to end, with real processes: `edgehive cloud` (embedded API server), `edgehive edge`
// with its embedded MQTT broker or an external mosquitto, real kubectl, mosquitto_pub/mosquitto_sub
// and an mqtt.js watcher. Method: a DeviceModel and Device are applied with kubectl; the twin is
// read and written only through KubeEdge's MQTT topics; the API side only through kubectl. Every
// wait is on a condition (a kubectl output, an MQTT message) with a timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { kubectlOkWith, untilKubectlWith } from './edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from './edge-cli.testing.js';
import { mosquittoPub, mosquittoSubOnce, mqttWatcher, requireMosquitto, startMosquitto, type MqttWatcher } from './mqtt-e2e.testing.js';

const root = mkdtempSync(join(tmpdir(), 'edgehive-devices-'));
const cloudDir = join(root, 'cloud');
const children: RunningCli[] = [];
const cleanups: (() => Promise<void>)[] = [];
let kubectl: KubectlRunner;
let cloud: RunningCli;
let cloudArgs: string[];
let streamUrl: string;
let token: string;

const started = (args: readonly string[]): RunningCli => {
  const cli = startEdgehive(args);
  children.push(cli);
  return cli;
};
const portOf = (line: string): string => new URL(/(https|wss|mqtt):\/\/\S+/.exec(line)?.[0] ?? 'invalid:').port;

beforeAll(async () => {
  requireMosquitto();
  cloud = started(['cloud', '--data-dir', cloudDir]);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  const apiPort = portOf(await cloud.waitForLine(/^Kubernetes API: /));
  streamUrl = (await cloud.waitForLine(/^Stream: /)).slice('Stream: '.length);
  const bootstrapPort = portOf(await cloud.waitForLine(/^Join: /));
  // The same ports and data on a restart, so edges and kubectl find the cloud again.
  cloudArgs = ['cloud', '--data-dir', cloudDir, '--api-port', apiPort, '--stream-port', new URL(streamUrl).port, '--bootstrap-port', bootstrapPort];
  const created = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!created.ok) throw new Error(created.error.message);
  token = created.value.token;
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
}, 120_000);

afterAll(async () => {
  kubectl?.killAll();
  for (const child of children) child.child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const kubectlOk = (args: readonly string[], stdin?: string): Promise<string> => kubectlOkWith(kubectl, args, stdin);
const untilKubectl = (args: readonly string[], accept: (stdout: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> => untilKubectlWith(kubectl, args, accept, what, timeoutMs);

const thermometerYaml = (device: string, node: string, target: string): string => `apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: thermometer-model
  namespace: default
spec:
  protocol: mqtt-sim
  properties:
  - name: temperature
    type: FLOAT
    accessMode: ReadOnly
  - name: target-temperature
    type: FLOAT
    accessMode: ReadWrite
  - name: humidity
    type: FLOAT
    accessMode: ReadOnly
  - name: pressure
    type: INT
    accessMode: ReadOnly
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: ${device}
  namespace: default
spec:
  deviceModelRef:
    name: thermometer-model
  nodeName: ${node}
  protocol:
    protocolName: mqtt-sim
  properties:
  - name: target-temperature
    desired:
      value: "${target}"
  - name: temperature
  - name: humidity
  - name: pressure
`;

const twinTopic = (device: string, suffix: string): string => `$hw/events/device/default/${device}/${suffix}`;
const reported = (device: string, property: string): string[] => ['get', 'device', device, '-o', `jsonpath={.status.twins[?(@.propertyName=="${property}")].reported.value}`];
const update = (values: Record<string, string>, eventId: string): string => JSON.stringify({ event_id: eventId, timestamp: Date.now(), twin: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { actual: { value: v } }])) });
const patchTarget = (device: string, value: string): Promise<string> =>
  kubectlOk(['patch', 'device', device, '--type', 'json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/properties/0/desired/value', value }])]);
const twinOf = (payload: Record<string, unknown>): Record<string, { expected?: { value?: string } | null; actual?: { value?: string } | null }> =>
  (payload['twin'] ?? {}) as Record<string, { expected?: { value?: string } | null; actual?: { value?: string } | null }>;

/** Asks twin/get until the edge answers with a twin that satisfies `accept` (the edge may not hold the device yet). */
let gets = 0;
async function untilTwin(watcher: MqttWatcher, device: string, accept: (twin: ReturnType<typeof twinOf>) => boolean, what: string, timeoutMs = 30_000): Promise<ReturnType<typeof twinOf>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Each ask has its own event_id, so an answer to an earlier one is never taken for it.
    const eventId = `get-${device}-${(gets += 1)}`;
    await watcher.publish(twinTopic(device, 'twin/get'), JSON.stringify({ event_id: eventId }));
    const answer = await watcher.waitFor(twinTopic(device, 'twin/get/result'), (p) => p['event_id'] === eventId, 'its answer', 5_000).catch(() => undefined);
    if (answer !== undefined && answer['code'] === undefined && accept(twinOf(answer))) return twinOf(answer);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last answer ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe('devices through kubectl and MQTT', () => {
  let edge: RunningCli;
  let mqttUrl: string;
  let watcher: MqttWatcher;
  const edgeDir = join(root, 'edge-1');
  const edgeArgs = (mqttPort: string): string[] => ['edge', '--mqtt-port', mqttPort, '--cloud', streamUrl, '--name', 'edge-1', '--data-dir', edgeDir, '--no-meta-server'];

  it('a Device applied with kubectl becomes a twin at the edge; reported values reach its status; a desired change reaches the mapper as a delta', async () => {
    edge = started([...edgeArgs('0'), '--token', token]);
    mqttUrl = (await edge.waitForLine(/^mqtt mqtt:\/\//, 40_000)).slice('mqtt '.length);
    await edge.waitForLine(/^linked \(/, 40_000);
    watcher = await mqttWatcher(mqttUrl);
    cleanups.push(() => watcher.close());
    await watcher.subscribe('$hw/events/device/default/thermo-1/#');
    await watcher.subscribe('$hw/events/node/edge-1/membership/updated');

    await kubectlOk(['apply', '-f', '-'], thermometerYaml('thermo-1', 'edge-1', '21'));

    // The twin exists at the edge, with the desired value as its expectation, announced to mappers.
    const twin = await untilTwin(watcher, 'thermo-1', (t) => t['target-temperature']?.expected?.value === '21', 'the twin with target 21');
    expect(Object.keys(twin).sort()).toEqual(['humidity', 'pressure', 'target-temperature', 'temperature']);
    const added = await watcher.waitFor('$hw/events/node/edge-1/membership/updated', (p) => JSON.stringify(p['added_devices'] ?? []).includes('default/thermo-1'), 'thermo-1 added');
    expect(added['removed_devices']).toEqual([]);
    const firstDelta = await watcher.waitFor(twinTopic('thermo-1', 'twin/update/delta'), (p) => (p['delta'] as Record<string, string> | undefined)?.['target-temperature'] === '21', 'delta target 21');
    expect(firstDelta['event_id']).toEqual(expect.any(String));

    // A reported value published with mosquitto_pub is accepted and shows in the Device's status.
    await mosquittoPub(Number(portOf(mqttUrl)), twinTopic('thermo-1', 'twin/update'), update({ temperature: '23.5' }, 'report-1'));
    const result = await watcher.waitFor(twinTopic('thermo-1', 'twin/update/result'), (p) => p['event_id'] === 'report-1', 'the result of report-1');
    expect(result['code']).toBeUndefined();
    expect(twinOf(result)['temperature']?.actual?.value).toBe('23.5');
    await untilKubectl(reported('thermo-1', 'temperature'), (out) => out === '23.5', 'temperature 23.5 in the Device status');
    const yaml = await kubectlOk(['get', 'device', 'thermo-1', '-o', 'yaml']);
    expect(yaml).toMatch(/propertyName: temperature/);

    // kubectl patch of the desired value produces a delta that mosquitto_sub receives.
    const sub = mosquittoSubOnce(Number(portOf(mqttUrl)), twinTopic('thermo-1', 'twin/update/delta'), 30, (payload) => payload.includes('"target-temperature":"25"'));
    cleanups.push(async () => void sub.child.kill('SIGKILL'));
    await sub.subscribed;
    await patchTarget('thermo-1', '25');
    await watcher.waitFor(twinTopic('thermo-1', 'twin/update/delta'), (p) => (p['delta'] as Record<string, string> | undefined)?.['target-temperature'] === '25', 'delta target 25 (watcher)');
    const delta = JSON.parse(await sub.message) as { delta: Record<string, string> };
    expect(delta.delta['target-temperature']).toBe('25');
    await untilKubectl(['get', 'device', 'thermo-1', '-o', 'jsonpath={.status.twins[?(@.propertyName=="target-temperature")].observedDesired.value}'], (out) => out === '25', 'observedDesired 25');
  }, 120_000);

  it('bad MQTT input gets an error result and changes nothing', async () => {
    const topic = twinTopic('thermo-1', 'twin/update');
    const results = twinTopic('thermo-1', 'twin/update/result');
    await watcher.publish(topic, JSON.stringify({ event_id: 'sets-expected', twin: { 'target-temperature': { expected: { value: '99' } } } }));
    expect((await watcher.waitFor(results, (p) => p['event_id'] === 'sets-expected', 'the refusal'))['code']).toBe(400);
    await watcher.publish(topic, JSON.stringify({ event_id: 'not-a-float', twin: { temperature: { actual: { value: 'warm' } } } }));
    expect((await watcher.waitFor(results, (p) => p['event_id'] === 'not-a-float', 'the refusal'))['code']).toBe(400);
    await watcher.publish(topic, '{"event_id": "broken", twin:');
    const malformed = await watcher.waitFor(results, (p) => p['code'] === 400 && /json|parse|malformed/i.test(String(p['reason'])), 'the malformed-JSON refusal');
    expect(malformed['event_id']).toBe('');
    await watcher.publish(topic, update({ temperature: '1'.repeat(200_000) }, 'huge'));
    const oversized = await watcher.waitFor(results, (p) => p['code'] === 400 && /bytes|large|limit/i.test(String(p['reason'])), 'the oversized refusal');
    expect(String(oversized['reason'])).toMatch(/\d/);
    // Nothing of it reached the twin: the expectation and the reading are as before.
    const twin = await untilTwin(watcher, 'thermo-1', () => true, 'the twin');
    expect(twin['target-temperature']?.expected?.value).toBe('25');
    expect(twin['temperature']?.actual?.value).toBe('23.5');
    expect(await kubectlOk(reported('thermo-1', 'temperature'))).toBe('23.5');
  }, 60_000);

  it('with the cloud cut and the edge restarted in between, updates made offline reach the API in order and none is lost', async () => {
    const mqttPort = portOf(mqttUrl);
    cloud.child.kill('SIGKILL');
    await cloud.exited();
    await edge.waitForLine(/^disconnected: /, 60_000);

    // Offline: the twin still answers and takes updates, in order.
    await watcher.publish(twinTopic('thermo-1', 'twin/update'), update({ humidity: '40' }, 'offline-1'));
    await watcher.publish(twinTopic('thermo-1', 'twin/update'), update({ temperature: '30' }, 'offline-2'));
    await watcher.publish(twinTopic('thermo-1', 'twin/update'), update({ temperature: '31' }, 'offline-3'));
    await watcher.waitFor(twinTopic('thermo-1', 'twin/update/result'), (p) => p['event_id'] === 'offline-3' && p['code'] === undefined, 'offline-3 accepted');
    expect((await untilTwin(watcher, 'thermo-1', (t) => t['temperature']?.actual?.value === '31', 'temperature 31 offline'))['humidity']?.actual?.value).toBe('40');

    // The edge restarts while the cloud is still away, on the same MQTT port, and keeps serving the twin.
    edge.child.kill('SIGTERM');
    expect(await edge.exited()).toBe(0);
    edge = started(edgeArgs(mqttPort));
    await edge.waitForLine(/^devices: 1 from the journal$/, 30_000);
    await untilTwin(watcher, 'thermo-1', (t) => t['temperature']?.actual?.value === '31', 'the twin after the restart');
    await watcher.publish(twinTopic('thermo-1', 'twin/update'), update({ pressure: '1013' }, 'offline-4'));
    await watcher.waitFor(twinTopic('thermo-1', 'twin/update/result'), (p) => p['event_id'] === 'offline-4' && p['code'] === undefined, 'offline-4 accepted');

    // When the cloud returns, every offline update is in the Device's status, the later value last.
    cloud = started(cloudArgs);
    await cloud.waitForLine(/^Stream: /, 40_000);
    await edge.waitForLine(/^linked \(/, 60_000);
    await untilKubectl(reported('thermo-1', 'pressure'), (out) => out === '1013', 'pressure 1013 after reconnect', 60_000);
    expect(await kubectlOk(reported('thermo-1', 'temperature'))).toBe('31');
    expect(await kubectlOk(reported('thermo-1', 'humidity'))).toBe('40');

    // And the desired side flows again: a patch reaches the twin as a delta.
    await patchTarget('thermo-1', '19');
    await watcher.waitFor(twinTopic('thermo-1', 'twin/update/delta'), (p) => (p['delta'] as Record<string, string> | undefined)?.['target-temperature'] === '19', 'delta target 19', 60_000);
  }, 240_000);

  it('the simulated mapper follows the desired value and its readings reach the API', async () => {
    const mapper = started(['mapper', 'sim', '--mqtt-url', mqttUrl, '--device', 'default/thermo-1', '--interval-ms', '100', '--initial', '17']);
    await mapper.waitForLine(/^mapper: target target-temperature = 19/, 30_000);
    await untilKubectl(reported('thermo-1', 'temperature'), (out) => out !== '' && Number(out) === 19, 'the mapper reading 19 in the status', 60_000);
    expect(await kubectlOk(reported('thermo-1', 'target-temperature'))).toBe('19');
    mapper.child.kill('SIGTERM');
    expect(await mapper.exited()).toBe(0);
  }, 120_000);
});

describe('the service bus', () => {
  it('kubectl get --raw reaches an HTTP app on the edge through the node proxy path, and a stopped app is a clear 502', async () => {
    // An app on the edge host's loopback (the edge and this spec share the host here).
    const app = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ path: request.url, temperature: 21.5 }));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const address = app.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const raw = await kubectlOk(['get', '--raw', `/api/v1/nodes/edge-1:${port}/proxy/temperature?unit=c`]);
    expect(JSON.parse(raw)).toEqual({ path: '/temperature?unit=c', temperature: 21.5 });
    await new Promise<void>((resolve) => app.close(() => resolve()));
    const refused = await kubectl.run(['get', '--raw', `/api/v1/nodes/edge-1:${port}/proxy/temperature`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/502|refused|unreachable/i);
  }, 60_000);
});

describe('devices through an external mosquitto', () => {
  it('an edge on --mqtt-url serves the same twin topics: report to status, desired change to delta', async () => {
    const broker = await startMosquitto(root);
    cleanups.push(() => broker.stop());
    const edge = started(['edge', '--mqtt-url', broker.url, '--cloud', streamUrl, '--name', 'edge-2', '--data-dir', join(root, 'edge-2'), '--no-meta-server', '--token', token]);
    await edge.waitForLine(/^eventbus connected to mqtt:\/\//, 40_000);
    await edge.waitForLine(/^linked \(/, 40_000);
    const watcher = await mqttWatcher(broker.url);
    cleanups.push(() => watcher.close());
    await watcher.subscribe('$hw/events/device/default/thermo-2/#');
    await kubectlOk(['apply', '-f', '-'], thermometerYaml('thermo-2', 'edge-2', '22'));
    await untilTwin(watcher, 'thermo-2', (t) => t['target-temperature']?.expected?.value === '22', 'thermo-2 at edge-2');

    await mosquittoPub(broker.port, twinTopic('thermo-2', 'twin/update'), update({ temperature: '20.5' }, 'ext-1'));
    await untilKubectl(reported('thermo-2', 'temperature'), (out) => out === '20.5', 'temperature 20.5 of thermo-2');

    // A delta for the old target (after the report above) may still be on its way: wait for the new one.
    const sub = mosquittoSubOnce(broker.port, twinTopic('thermo-2', 'twin/update/delta'), 30, (payload) => payload.includes('"target-temperature":"23"'));
    cleanups.push(async () => void sub.child.kill('SIGKILL'));
    await sub.subscribed;
    await patchTarget('thermo-2', '23');
    expect((JSON.parse(await sub.message) as { delta: Record<string, string> }).delta['target-temperature']).toBe('23');
  }, 120_000);
});
