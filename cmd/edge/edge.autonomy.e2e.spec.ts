// Edge autonomy, end to end (DESIGN.md): with the cloud gone, an edge killed with SIGKILL comes back
// offline from its journal, keeps (adopts) its pods' processes and answers local queries; when the
// cloud returns, the two converge. Method: real `edgehive cloud` and `edgehive edge` processes and
// real kubectl; the cloud is restarted on its own ports and data dir; what runs is read from the
// edge runtime's records; every wait is on a condition with a timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { openProcessRuntime } from '../../runtime/index.js';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { startEdgehive, type RunningCli } from './edge-cli.testing.js';

const root = mkdtempSync(join(tmpdir(), 'edgehive-autonomy-'));
const cloudDir = join(root, 'cloud');
const edgeDir = join(root, 'edge-1');
const children: RunningCli[] = [];
const runners: KubectlRunner[] = [];

afterAll(async () => {
  for (const runner of runners) runner.killAll();
  for (const child of children) child.child.kill('SIGKILL');
  const runtime = openProcessRuntime({ dataDir: join(edgeDir, 'edge', 'runtime'), memoryEnforcement: 'rss' });
  if (runtime.ok) {
    await runtime.value.scan();
    await runtime.value.killOrphans(() => false);
    await runtime.value.close();
  }
  rmSync(root, { recursive: true, force: true });
});

const started = (args: readonly string[]): RunningCli => {
  const cli = startEdgehive(args);
  children.push(cli);
  return cli;
};
const killed = async (cli: RunningCli): Promise<void> => {
  cli.child.kill('SIGKILL');
  await cli.exited();
};

const portOf = (line: string): string => new URL(/(https|wss):\/\/\S+/.exec(line)?.[0] ?? 'invalid:').port;
const podYaml = (name: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: node:20
    command: [${JSON.stringify(process.execPath)}, "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function alive(uid: string): Promise<number[]> {
  const runtime = openProcessRuntime({ dataDir: join(edgeDir, 'edge', 'runtime'), memoryEnforcement: 'rss' });
  if (!runtime.ok) throw new Error(runtime.error.message);
  try {
    return (await runtime.value.scan()).flatMap((o) => (o.podUid === uid && o.alive ? [o.pid] : []));
  } finally {
    await runtime.value.close();
  }
}

const jsonpath = async (kubectl: KubectlRunner, pod: string, path: string): Promise<string | undefined> => {
  const result = await kubectl.run(['get', 'pod', pod, '-o', `jsonpath={${path}}`]);
  return result.code === 0 ? result.stdout : undefined;
};

it('an edge killed while the cloud is down comes back with its pods and local API, then converges with the returning cloud', async () => {
  // Given a cloud and an edge running two pods.
  let cloud = started(['cloud', '--data-dir', cloudDir]);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  const apiPort = portOf(await cloud.waitForLine(/^Kubernetes API: /));
  const streamLine = await cloud.waitForLine(/^Stream: /);
  const streamUrl = streamLine.slice('Stream: '.length);
  const bootstrapPort = portOf(await cloud.waitForLine(/^Join: /));
  const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!token.ok) throw new Error(token.error.message);
  const edgeArgs = ['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', 'edge-1', '--data-dir', edgeDir, '--meta-server-port', '0'];
  let edge = started([...edgeArgs, '--token', token.value.token]);
  await edge.waitForLine(/^linked \(/, 40_000);
  const kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'cache'));
  runners.push(kubectl);
  for (const name of ['keep', 'doomed']) expect((await kubectl.run(['apply', '-f', '-'], podYaml(name))).code).toBe(0);
  for (const name of ['keep', 'doomed']) await until(`${name} Running`, async () => ((await jsonpath(kubectl, name, '.status.phase')) === 'Running' ? true : undefined));
  const keepUid = (await jsonpath(kubectl, 'keep', '.metadata.uid'))!;
  const doomedUid = (await jsonpath(kubectl, 'doomed', '.metadata.uid'))!;
  const [keepPid] = await alive(keepUid);

  // When the cloud goes away, and then the edge is killed and started again with the cloud still down,
  await killed(cloud);
  await killed(edge);
  edge = started(edgeArgs);
  // The agent is up once it has read its credentials; from then on it has 2 s to have its pods back.
  await edge.waitForLine(/^credentials of system:node:edge-1 /, 20_000);
  const upAt = Date.now();
  await edge.waitForLine(/^pods: 2 from the journal$/, 20_000);
  const podsBackMs = Date.now() - upAt;
  const metaServerUrl = (await edge.waitForLine(/^metaserver /)).slice('metaserver '.length);

  // then within 2 s its pod runs: the same process, exactly one, and the local API lists both pods.
  expect(podsBackMs).toBeLessThan(2_000);
  expect(await alive(keepUid)).toEqual([keepPid]);
  const local = kubectlRunner(requireKubectl('1.32'), join(root, 'none'), join(root, 'home-local'), join(root, 'cache-local'));
  runners.push(local);
  const listed = await local.run(['--server', metaServerUrl, 'get', 'pods', '-n', 'default', '--no-headers']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/^doomed\s+1\/1\s+Running/m);
  expect(listed.stdout).toMatch(/^keep\s+1\/1\s+Running/m);

  // When the cloud returns (same ports, same data) and a pod is deleted there before the edge is back,
  cloud = started(['cloud', '--data-dir', cloudDir, '--api-port', apiPort, '--stream-port', new URL(streamUrl).port, '--bootstrap-port', bootstrapPort]);
  await cloud.waitForLine(/^Stream: /, 40_000);
  expect((await kubectl.run(['delete', 'pod', 'doomed', '--wait=false'])).code).toBe(0);

  // then the edge stops it and the API forgets it, and the kept pod's status in the API is current.
  await edge.waitForLine(/^linked \(/, 40_000);
  await until('doomed gone from the API', async () => ((await kubectl.run(['get', 'pod', 'doomed'])).code !== 0 ? true : undefined));
  expect(await alive(doomedUid)).toEqual([]);
  expect(await alive(keepUid)).toEqual([keepPid]);
  expect(await jsonpath(kubectl, 'keep', '.status.phase')).toBe('Running');
  expect(await jsonpath(kubectl, 'keep', '.status.containerStatuses[0].ready')).toBe('true');
}, 180_000);
