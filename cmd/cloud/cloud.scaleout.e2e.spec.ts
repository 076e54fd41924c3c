// Two cloud processes against one Kubernetes API, end to end: a first `edgehive cloud` provides the
// API (standing in for a cluster) and two more run with --kubeconfig and the cluster's CA, as a
// scaled-out cloud would. Edges list both (`--cloud B,C`). Method: each node's stream Lease shows
// which process serves it; when that process is SIGKILLed, the other refuses the node (1012) until
// the Lease runs out on its own clock, then takes it over, and pods keep running and reporting.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { openProcessRuntime } from '../../runtime/index.js';
import { CLOUD_PKI_DIR_NAME, createJoinTokenInDataDir } from '../../transport/index.js';
import { killLeftoverPods, untilKubectlWith } from '../edge/edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from '../edge/edge-cli.testing.js';

const EDGES = ['edge-1', 'edge-2'] as const;
const LEASE_SECONDS = '9';
let root: string;
let api: RunningCli;
let kubeconfig: string;
const clouds = new Map<'b' | 'c', { cli: RunningCli; identity: string; streamUrl: string }>();
const edges = new Map<string, RunningCli>();
let kubectl: KubectlRunner;

const edgeDir = (name: string): string => join(root, name);
const podScript = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)";

async function startCloud(name: 'b' | 'c'): Promise<void> {
  const dir = join(root, `cloud-${name}`);
  // Every cloud process of a cluster signs and trusts with the cluster's CA.
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'api', CLOUD_PKI_DIR_NAME), join(dir, CLOUD_PKI_DIR_NAME), { recursive: true });
  const cli = startEdgehive(['cloud', '--data-dir', dir, '--kubeconfig', kubeconfig, '--stream-lease-seconds', LEASE_SECONDS]);
  const streamUrl = (await cli.waitForLine(/^Stream: /, 40_000)).slice('Stream: '.length);
  const identity = (await cli.waitForLine(/^Cloud process: /)).slice('Cloud process: '.length);
  clouds.set(name, { cli, identity, streamUrl });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-scaleout-'));
  api = startEdgehive(['cloud', '--data-dir', join(root, 'api')]);
  kubeconfig = (await api.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  await startCloud('b');
  await startCloud('c');
  const cloudList = `${clouds.get('b')!.streamUrl},${clouds.get('c')!.streamUrl}`;
  for (const name of EDGES) {
    const token = await createJoinTokenInDataDir(join(root, 'cloud-b'), { nowMs: Date.now() });
    if (!token.ok) throw new Error(token.error.message);
    edges.set(name, startEdgehive(['edge', '--mqtt-port', '0', '--cloud', cloudList, '--name', name, '--data-dir', edgeDir(name), '--token', token.value.token, '--no-meta-server']));
  }
  for (const edge of edges.values()) await edge.waitForLine(/^linked \(/, 40_000);
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
}, 150_000);

afterAll(async () => {
  kubectl?.killAll();
  for (const edge of edges.values()) edge.child.kill('SIGKILL');
  for (const cloud of clouds.values()) cloud.cli.child.kill('SIGKILL');
  api?.child.kill('SIGKILL');
  for (const name of EDGES) await killLeftoverPods(edgeDir(name));
  rmSync(root, { recursive: true, force: true });
});

const untilKubectl = (args: readonly string[], accept: (stdout: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> => untilKubectlWith(kubectl, args, accept, what, timeoutMs);

const holderOf = (node: string): Promise<string> => untilKubectl(['get', 'lease', `edgehive-stream.${node}`, '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}'], (out) => out !== '', `the stream Lease of ${node}`);

const podYaml = (name: string, node: string): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: ${node}
  containers:
  - name: app
    image: node:20
    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(podScript)}]
`;

async function aliveProcesses(node: string, uid: string): Promise<number> {
  const runtime = openProcessRuntime({ dataDir: join(edgeDir(node), 'edge', 'runtime'), memoryEnforcement: 'rss' });
  if (!runtime.ok) throw new Error(runtime.error.message);
  try {
    return (await runtime.value.scan()).filter((o) => o.podUid === uid && o.alive).length;
  } finally {
    await runtime.value.close();
  }
}

describe('two cloud processes against one API', () => {
  it('serve each edge from the process holding its stream Lease: the first listed, while it lives', async () => {
    for (const node of EDGES) expect(await holderOf(node)).toBe(clouds.get('b')!.identity);
    for (const node of EDGES) await untilKubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], (out) => out === 'True', `${node} Ready`);
    const applied = await kubectl.run(['apply', '-f', '-'], podYaml('before', 'edge-1'));
    expect(applied.code, applied.stderr).toBe(0);
    await untilKubectl(['get', 'pod', 'before', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'before Running');
    // Exactly one process renews the NodeSync of each node: the object exists and names the edge's journal.
    expect(await untilKubectl(['get', 'nodesyncs', 'edge-1', '-o', 'jsonpath={.spec.journalId}'], (out) => out !== '', 'the NodeSync of edge-1')).not.toBe('');
  }, 90_000);

  it('move to the other process when the serving one is killed, refused (1012) until its Leases run out, and keep every pod', async () => {
    const uid = (await kubectl.run(['get', 'pod', 'before', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const linkedBefore = new Map(EDGES.map((node) => [node, edges.get(node)!.lines.filter((line) => line.startsWith('linked (')).length]));
    clouds.get('b')!.cli.child.kill('SIGKILL');
    await clouds.get('b')!.cli.exited();

    const cUrl = clouds.get('c')!.streamUrl;
    for (const node of EDGES) {
      const edge = edges.get(node)!;
      await edge.waitForLine(new RegExp(`^switching cloud: ${cUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `), 60_000);
      await waitForCount(edge, /^linked \(/, (linkedBefore.get(node) ?? 0) + 1, 120_000);
    }
    // C waited out B's Leases: the edges were told 1012 by it at least once before it took them.
    expect(EDGES.some((node) => edges.get(node)!.lines.some((line) => /closed 1012/.test(line)))).toBe(true);
    for (const node of EDGES) expect(await holderOf(node)).toBe(clouds.get('c')!.identity);

    // The pod kept running on its edge through the move, once; a new pod starts through C.
    expect(await aliveProcesses('edge-1', uid)).toBe(1);
    const applied = await kubectl.run(['apply', '-f', '-'], podYaml('after', 'edge-2'));
    expect(applied.code, applied.stderr).toBe(0);
    await untilKubectl(['get', 'pod', 'after', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'after Running through the other process');
    expect((await kubectl.run(['get', 'pod', 'before', '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Running');
  }, 240_000);
});

/** Waits until `cli` has printed at least `count` lines matching `pattern`. */
async function waitForCount(cli: RunningCli, pattern: RegExp, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (cli.lines.filter((line) => pattern.test(line)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} lines matching ${pattern} within ${timeoutMs} ms:\n${cli.lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
