// KubeEdge's Router end to end, with real processes: `edgehive cloud --router-port 0` (embedded API
// server), `edgehive edge --mqtt-port 0`, real kubectl applying RuleEndpoints and Rules, an mqtt.js
// client as the edge app, a local HTTP server as the cloud app. Method: an upload published on the
// edge's broker must arrive as a POST at the Rule's URL, in order, and be counted in the Rule's
// status; a POST on the router URL must arrive on the edge's broker on the Rule's topic; uploads
// published while the cloud is down must arrive, in order, once it is back. Every wait is on a
// condition (a line, a request, a message, a kubectl output) with a timeout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { runCli } from '../replay/cli-harness.testing.js';
import { kubectlOkWith, untilKubectlWith } from './edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from './edge-cli.testing.js';
import { mqttWatcher, type MqttWatcher } from './mqtt-e2e.testing.js';

const root = mkdtempSync(join(tmpdir(), 'edgehive-router-'));
const cloudDir = join(root, 'cloud');
const edgeDir = join(root, 'edge-1');
const children: RunningCli[] = [];
const cleanups: (() => Promise<void>)[] = [];
let kubectl: KubectlRunner;
let cloud: RunningCli;
let cloudArgs: string[];
let edge: RunningCli;
let routerUrl: string;
let apiToken: string;
let watcher: MqttWatcher;
/** What the cloud app received: each POST's path and body, in arrival order. */
const received: { readonly path: string; readonly body: string; readonly uploadId: string }[] = [];
let appUrl: string;

const started = (args: readonly string[]): RunningCli => {
  const cli = startEdgehive(args);
  children.push(cli);
  return cli;
};
const portOf = (line: string): string => new URL(/(https?|wss|mqtt):\/\/\S+/.exec(line)?.[0] ?? 'invalid:').port;

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the app received ${JSON.stringify(received.slice(-5))}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

beforeAll(async () => {
  const app: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8'), uploadId: String(request.headers['x-edgehive-upload-id'] ?? '') });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => app.close(() => resolve())));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;

  cloud = started(['cloud', '--data-dir', cloudDir, '--router-port', '0']);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  const apiPort = portOf(await cloud.waitForLine(/^Kubernetes API: /));
  const streamUrl = (await cloud.waitForLine(/^Stream: /)).slice('Stream: '.length);
  const bootstrapPort = portOf(await cloud.waitForLine(/^Join: /));
  routerUrl = /^Router: (http:\/\/\S+?)\/<node>/.exec(await cloud.waitForLine(/^Router: /))?.[1] ?? '';
  cloudArgs = ['cloud', '--data-dir', cloudDir, '--api-port', apiPort, '--stream-port', new URL(streamUrl).port, '--bootstrap-port', bootstrapPort, '--router-port', new URL(routerUrl).port];
  // The router asks for the credentials the API asks for: the kubeconfig's bearer token.
  const config = parseYaml(readFileSync(kubeconfig, 'utf8')) as { users: { user: { token: string } }[] };
  apiToken = config.users[0]!.user.token;
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));

  const created = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!created.ok) throw new Error(created.error.message);
  edge = started(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', 'edge-1', '--data-dir', edgeDir, '--no-meta-server', '--token', created.value.token]);
  const mqttUrl = (await edge.waitForLine(/^mqtt mqtt:\/\//, 40_000)).slice('mqtt '.length);
  await edge.waitForLine(/^linked \(/, 40_000);
  watcher = await mqttWatcher(mqttUrl);
  cleanups.push(() => watcher.close());
}, 120_000);

afterAll(async () => {
  kubectl?.killAll();
  for (const child of children) child.child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const kubectlOk = (args: readonly string[], stdin?: string): Promise<string> => kubectlOkWith(kubectl, args, stdin);

const rulesYaml = (): string => `apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: { name: my-eventbus, namespace: default }
spec: { ruleEndpointType: eventbus, properties: {} }
---
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: { name: my-rest, namespace: default }
spec: { ruleEndpointType: rest, properties: {} }
---
apiVersion: rules.kubeedge.io/v1
kind: Rule
metadata: { name: temperature-to-app, namespace: default }
spec:
  source: my-eventbus
  sourceResource: { topic: temperature, node_name: edge-1 }
  target: my-rest
  targetResource: { resource: "${appUrl}/temperature" }
---
apiVersion: rules.kubeedge.io/v1
kind: Rule
metadata: { name: lights-to-edge, namespace: default }
spec:
  source: my-rest
  sourceResource: { path: /lights }
  target: my-eventbus
  targetResource: { topic: home/lights }
`;

const UPLOAD_TOPIC = '$hw/events/upload/temperature';
const bodies = (): string[] => received.map((r) => r.body);

describe('the Router between edge apps and cloud apps', () => {
  it('an upload published on the edge\'s broker is POSTed to the Rule\'s URL, in order, and counted in the Rule\'s status', async () => {
    await kubectlOk(['apply', '-f', '-'], rulesYaml());
    expect(await kubectlOk(['get', 'ruleendpoints', '-o', 'name'])).toBe('ruleendpoint.rules.kubeedge.io/my-eventbus\nruleendpoint.rules.kubeedge.io/my-rest\n');
    // Until the cloud follows the Rule an upload goes nowhere: probe until one arrives.
    let probes = 0;
    await until('a probe upload at the app', async () => {
      await watcher.publish(UPLOAD_TOPIC, JSON.stringify({ probe: (probes += 1) }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      return received.length > 0;
    }, 60_000, 0);
    const before = received.length;
    for (let t = 1; t <= 5; t++) await watcher.publish(UPLOAD_TOPIC, JSON.stringify({ t }));
    // Another topic has no Rule; it must not reach the app.
    await watcher.publish('$hw/events/upload/humidity', JSON.stringify({ h: 40 }));
    await until('five uploads at the app', () => received.length >= before + 5);
    await until('the probes to settle', () => bodies().filter((b) => b.includes('"t"')).length === 5);
    expect(bodies().filter((b) => b.includes('"t"'))).toEqual([1, 2, 3, 4, 5].map((t) => JSON.stringify({ t })));
    expect(received.every((r) => r.path === '/temperature')).toBe(true);
    expect(bodies().some((b) => b.includes('"h"'))).toBe(false);
    expect(new Set(received.map((r) => r.uploadId)).size).toBe(received.length);
    const delivered = received.length;
    await untilKubectlWith(kubectl, ['get', 'rule', 'temperature-to-app', '-o', 'jsonpath={.status.successMessages}'], (out) => out === String(delivered), `successMessages ${delivered}`, 30_000);
  }, 120_000);

  it('a POST on the router URL is published on the edge\'s broker on the Rule\'s topic', async () => {
    await watcher.subscribe('home/lights/#');
    const post = (body: string, token = apiToken): Promise<Response> => fetch(`${routerUrl}/edge-1/default/lights/kitchen`, { method: 'POST', body, headers: { Authorization: `Bearer ${token}` } });
    expect((await post('{}', 'not-the-token')).status).toBe(401);
    const answer = await post(JSON.stringify({ on: true, room: 'kitchen' }));
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ rule: 'default/lights-to-edge', node: 'edge-1', topic: 'home/lights/kitchen', published: true });
    expect(await watcher.waitFor('home/lights/kitchen', (p) => p['room'] === 'kitchen', 'the published body')).toEqual({ on: true, room: 'kitchen' });
    await untilKubectlWith(kubectl, ['get', 'rule', 'lights-to-edge', '-o', 'jsonpath={.status.successMessages}'], (out) => out === '1', 'successMessages 1', 30_000);
    // No Rule for this path: nothing is published.
    expect((await fetch(`${routerUrl}/edge-1/default/heating`, { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${apiToken}` } })).status).toBe(404);
  }, 60_000);

  it('the cloud refuses a --router-port that is not a port, saying so, before starting anything', async () => {
    const refused = await runCli(['cloud', '--data-dir', join(root, 'refused'), '--router-port', 'nine']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--router-port must be a port number (0 for a free one), got 'nine'");
  }, 60_000);

  it('uploads published while the cloud is down reach the app, in order, once it is back', async () => {
    cloud.child.kill('SIGKILL');
    await cloud.exited();
    await edge.waitForLine(/^disconnected: /, 60_000);
    const before = received.length;
    for (let n = 1; n <= 3; n++) await watcher.publish(UPLOAD_TOPIC, JSON.stringify({ offline: n }));
    cloud = started(cloudArgs);
    await cloud.waitForLine(/^Router: /, 60_000);
    await until('the offline uploads at the app', () => received.slice(before).filter((r) => r.body.includes('offline')).length >= 3, 90_000);
    expect(received.slice(before).map((r) => r.body).filter((b) => b.includes('offline'))).toEqual([1, 2, 3].map((n) => JSON.stringify({ offline: n })));
  }, 180_000);
});
