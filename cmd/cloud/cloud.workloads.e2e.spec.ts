// Deployments across two edge hosts, end to end, with real processes and real kubectl: `edgehive
// cloud` (embedded API server, scheduler, workload controllers) and two `edgehive edge` hosts as
// child processes. Method: every step is a kubectl command; outcomes are awaited by polling kubectl
// (never by time) and checked against what the edges actually run (their process runtimes' records)
// and hold (their data dirs, byte for byte). The cloud is killed mid-rollout and started again on
// the same ports and data dir. Every pod process the edges leave behind is killed afterwards.
import { readFileSync, readdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { openProcessRuntime } from '../../runtime/index.js';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { killLeftoverPods, kubectlOkWith, untilKubectlWith } from '../edge/edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from '../edge/edge-cli.testing.js';
import { runCli } from '../replay/cli-harness.testing.js';

const EDGES = ['edge-a', 'edge-b'] as const;
const ROLLOUT = ['rollout', 'status', 'deployment/web', '--timeout=90s'];
let root: string;
let cloudDir: string;
let cloud: RunningCli;
let cloudPorts: string[];
const edges = new Map<string, RunningCli>();
let kubectl: KubectlRunner;

const edgeDir = (name: string): string => join(root, name);
/** A pod bound to `node` whose container runs podScript(name), with `containerExtra` YAML lines appended to its container. */
const podManifest = (name: string, namespace: string, node: string, containerExtra = ''): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  nodeName: ${node}
  containers:
  - name: app
    image: node:20
    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(podScript(name))}]
${containerExtra}`;
const podScript = (version: string): string => `process.on('SIGTERM', () => process.exit(0)); console.log('${version}'); setInterval(() => {}, 1000)`;

async function startCloud(ports: readonly string[] = []): Promise<{ kubeconfig: string; streamUrl: string }> {
  cloud = startEdgehive(['cloud', '--data-dir', cloudDir, ...ports]);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  const streamUrl = (await cloud.waitForLine(/^Stream: /)).slice('Stream: '.length);
  return { kubeconfig, streamUrl };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-workloads-'));
  cloudDir = join(root, 'cloud');
  const { kubeconfig, streamUrl } = await startCloud();
  // The same ports on restart, so edges and kubectl find the cloud again where they knew it.
  const apiUrl = (await cloud.waitForLine(/^Kubernetes API: /)).split(' ')[2]!;
  cloudPorts = ['--api-port', new URL(apiUrl).port, '--stream-port', new URL(streamUrl).port];
  for (const name of EDGES) {
    const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
    if (!token.ok) throw new Error(token.error.message);
    const edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', name, '--data-dir', edgeDir(name), '--token', token.value.token, '--no-meta-server']);
    edges.set(name, edge);
  }
  for (const edge of edges.values()) await edge.waitForLine(/^linked \(/, 40_000);
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
}, 120_000);

afterAll(async () => {
  kubectl?.killAll();
  for (const edge of edges.values()) edge.child.kill('SIGKILL');
  cloud?.child.kill('SIGKILL');
  for (const name of EDGES) await killLeftoverPods(edgeDir(name));
  rmSync(root, { recursive: true, force: true });
});

const kubectlOk = (args: readonly string[], stdin?: string): Promise<string> => kubectlOkWith(kubectl, args, stdin);

const untilKubectl = (args: readonly string[], accept: (stdout: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> => untilKubectlWith(kubectl, args, accept, what, timeoutMs);

interface WebPod {
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  readonly phase: string;
  readonly command: string;
}

async function webPods(): Promise<WebPod[]> {
  const list = JSON.parse(await kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: { metadata: { name: string; uid: string; deletionTimestamp?: string }; spec: { nodeName?: string; containers: { command: string[] }[] }; status: { phase?: string } }[] };
  return list.items
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => ({ name: p.metadata.name, uid: p.metadata.uid, node: p.spec.nodeName ?? '', phase: p.status.phase ?? '', command: p.spec.containers[0]?.command.at(-1) ?? '' }));
}

/** Live pod processes on every edge, by pod uid (the runtime's own records: pid, start time, boot id). */
async function edgeProcesses(): Promise<Map<string, { node: string; count: number }>> {
  const byUid = new Map<string, { node: string; count: number }>();
  for (const node of EDGES) {
    const runtime = openProcessRuntime({ dataDir: join(edgeDir(node), 'edge', 'runtime'), memoryEnforcement: 'rss' });
    if (!runtime.ok) throw new Error(runtime.error.message);
    try {
      for (const observed of await runtime.value.scan()) {
        if (!observed.alive) continue;
        const seen = byUid.get(observed.podUid);
        byUid.set(observed.podUid, { node, count: (seen?.count ?? 0) + 1 });
      }
    } finally {
      await runtime.value.close();
    }
  }
  return byUid;
}

/** Waits until the edges run exactly the API's web pods, one process each, on the nodes they are bound to. */
async function edgesRunExactly(what: string): Promise<WebPod[]> {
  const deadline = Date.now() + 60_000;
  let last = '';
  for (;;) {
    const pods = await webPods();
    const processes = await edgeProcesses();
    const matches = pods.length === processes.size && pods.every((p) => processes.get(p.uid)?.node === p.node && processes.get(p.uid)?.count === 1);
    if (matches) return pods;
    last = JSON.stringify({ pods, processes: [...processes] });
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every file under `dir`, as bytes (journals, their WAL, credentials, runtime records). */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((relative) => join(dir, relative))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path));
}

describe('a Deployment across two edge hosts', () => {
  it('registers both edge nodes Ready', async () => {
    for (const name of EDGES) await untilKubectl(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], (out) => out === 'True', `${name} Ready`);
  }, 60_000);

  it('kubectl create deployment with 3 replicas and an edge nodeSelector runs pods on both hosts, with status and Events in kubectl', async () => {
    const manifest = JSON.parse(await kubectlOk(['create', 'deployment', 'web', '--image=node:20', '--replicas=3', '--dry-run=client', '-o', 'json', '--', process.execPath, '-e', podScript('v1')])) as { spec: { template: { spec: Record<string, unknown> } } };
    manifest.spec.template.spec['nodeSelector'] = { 'node-role.kubernetes.io/edge': '' };
    expect(await kubectlOk(['create', '-f', '-'], JSON.stringify(manifest))).toContain('deployment.apps/web created');
    expect(await kubectlOk(ROLLOUT)).toContain('deployment "web" successfully rolled out');

    const pods = await edgesRunExactly('3 pods on the edges');
    expect(pods).toHaveLength(3);
    expect(new Set(pods.map((p) => p.node))).toEqual(new Set(EDGES));
    expect(pods.every((p) => p.phase === 'Running')).toBe(true);
    expect(await kubectlOk(['get', 'deployment', 'web', '--no-headers'])).toMatch(/^web\s+3\/3\s+3\s+3\s/);
    const wide = await kubectlOk(['get', 'pods', '-l', 'app=web', '-o', 'wide', '--no-headers']);
    for (const pod of pods) expect(wide).toMatch(new RegExp(`^${pod.name}\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+127\\.0\\.0\\.1\\s+${pod.node}\\s`, 'm'));
    const describePod = await kubectlOk(['describe', 'pod', pods[0]!.name]);
    expect(describePod).toMatch(/Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web-\S+ to edge-[ab]/);
    const describeDeployment = await kubectlOk(['describe', 'deployment', 'web']);
    expect(describeDeployment).toMatch(/ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-\S+ from 0 to 3/);
    expect(await kubectlOk(['describe', 'replicaset', '-l', 'app=web'])).toMatch(/SuccessfulCreate\s+\S+\s+replicaset-controller\s+Created pod: web-/);
  }, 120_000);

  it('kubectl scale to 4 runs a fourth pod', async () => {
    expect(await kubectlOk(['scale', 'deployment', 'web', '--replicas=4'])).toContain('deployment.apps/web scaled');
    await kubectlOk(ROLLOUT);
    expect(await edgesRunExactly('4 pods on the edges')).toHaveLength(4);
  }, 120_000);

  it('kubectl rollout restart replaces every pod process', async () => {
    const before = new Set((await webPods()).map((p) => p.uid));
    await kubectlOk(['rollout', 'restart', 'deployment/web']);
    await kubectlOk(ROLLOUT);
    const after = await edgesRunExactly('restarted pods on the edges');
    expect(after).toHaveLength(4);
    expect(after.some((p) => before.has(p.uid))).toBe(false);
  }, 120_000);

  it('a rolling command change converges on the new command, and the cloud killed mid-rollout finishes it after its restart', async () => {
    // minReadySeconds holds each step of the rollout for 3 s, so its middle is there to be seen.
    await kubectlOk(['patch', 'deployment', 'web', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/command/2', value: podScript('v2') }, { op: 'add', path: '/spec/minReadySeconds', value: 3 }])]);
    // Mid-rollout: the new ReplicaSet exists and the old one still has pods.
    await untilKubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.status.updatedReplicas}/{.status.replicas}'], (out) => /^[1-9]\d*\/\d+$/.test(out) && out.split('/')[0] !== out.split('/')[1], 'the rollout under way', 30_000);
    cloud.child.kill('SIGKILL');
    await cloud.exited();
    await startCloud(cloudPorts);
    for (const edge of edges.values()) await edge.waitForLine(/^linked \(/, 40_000);

    await kubectlOk(ROLLOUT);
    const pods = await edgesRunExactly('the v2 pods on the edges');
    expect(pods).toHaveLength(4);
    expect(pods.every((p) => p.command === podScript('v2'))).toBe(true);
    expect((await kubectlOk(['get', 'replicasets', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.replicas}'])).split(' ').sort()).toEqual(['0', '0', '4']);

    // The cloud journal tells the story of each node's stream across the restart.
    const timeline = await runCli(['replay', join(cloudDir, 'cloud', 'journal.db'), '--stream', 'link-edge-a']);
    expect(timeline.code, timeline.stderr).toBe(0);
    expect(timeline.stdout.match(/EdgeLinked\.v1/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('a Secret reaches only the edge whose pod references it', async () => {
    await kubectlOk(['create', 'secret', 'generic', 'only-a', '--from-literal=token=s3cr3t-for-a-only']);
    const uid = await kubectlOk(['get', 'secret', 'only-a', '-o', 'jsonpath={.metadata.uid}']);
    const pod = podManifest('reader', 'default', 'edge-a', `    env:
    - name: TOKEN
      valueFrom: {secretKeyRef: {name: only-a, key: token}}
`);
    await kubectlOk(['apply', '-f', '-'], pod);
    await untilKubectl(['get', 'pod', 'reader', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'reader Running');
    // Edge a holds the Secret (its uid in its journal); edge b holds no byte of it anywhere.
    expect(filesUnder(edgeDir('edge-a')).some((bytes) => bytes.includes(uid))).toBe(true);
    for (const bytes of filesUnder(edgeDir('edge-b'))) {
      expect(bytes.includes(uid)).toBe(false);
      expect(bytes.includes('only-a')).toBe(false);
      expect(bytes.includes('s3cr3t-for-a-only')).toBe(false);
      expect(bytes.includes(Buffer.from('s3cr3t-for-a-only').toString('base64'))).toBe(false);
    }
    await kubectlOk(['delete', 'pod', 'reader', '--wait=true']);
  }, 120_000);

  it('kubectl delete deployment stops every pod on both edges', async () => {
    expect(await kubectlOk(['delete', 'deployment', 'web'])).toContain('deployment.apps "web" deleted');
    await untilKubectl(['get', 'pods,replicasets', '-l', 'app=web', '-o', 'name'], (out) => out.trim() === '', 'no web pods or replicasets');
    await edgesRunExactly('no pod processes on the edges');
  }, 120_000);
  it('a DaemonSet for edge nodes runs one pod on each edge host', async () => {
    const daemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {node-role.kubernetes.io/edge: ""}
      containers:
      - name: agent
        image: node:20
        command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(podScript('agent'))}]
`;
    await kubectlOk(['apply', '-f', '-'], daemonSet);
    expect(await kubectlOk(['rollout', 'status', 'daemonset/agent', '--timeout=60s'])).toContain('daemon set "agent" successfully rolled out');
    const rows = await kubectlOk(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}']);
    expect(rows.trim().split('\n').sort()).toEqual(['edge-a Running', 'edge-b Running']);
    await kubectlOk(['delete', 'daemonset', 'agent']);
    await untilKubectl(['get', 'pods', '-l', 'app=agent', '-o', 'name'], (out) => out.trim() === '', 'no agent pods');
  }, 120_000);

  it('kubectl delete namespace returns once the pods in it have stopped on their edge', async () => {
    await kubectlOk(['create', 'namespace', 'team']);
    const pod = podManifest('worker', 'team', 'edge-b');
    await kubectlOk(['apply', '-f', '-'], pod);
    await untilKubectl(['get', 'pod', 'worker', '-n', 'team', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'worker Running');
    const uid = await kubectlOk(['get', 'pod', 'worker', '-n', 'team', '-o', 'jsonpath={.metadata.uid}']);
    expect((await edgeProcesses()).get(uid)?.node).toBe('edge-b');
    expect(await kubectlOk(['delete', 'namespace', 'team', '--timeout=60s'])).toContain('namespace "team" deleted');
    expect((await kubectl.run(['get', 'namespace', 'team'])).code).not.toBe(0);
    expect((await edgeProcesses()).has(uid)).toBe(false);
  }, 120_000);
});
