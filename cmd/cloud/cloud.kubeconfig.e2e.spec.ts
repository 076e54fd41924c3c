// `edgehive cloud --kubeconfig`: the cloud against a Kubernetes API it does not run, reached only
// through client-node. Method: a first `edgehive cloud` provides the API (standing in for any
// cluster); a second runs with --kubeconfig pointing at it, and an edge joins the second. Pods
// applied with kubectl to the API run on that edge and their status comes back through the second
// cloud; the second runs no control loops of its own. Bad flags are refused with a reason.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { killLeftoverPods, untilKubectlWith } from '../edge/edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from '../edge/edge-cli.testing.js';

let root: string;
let apiCloud: RunningCli;
let cloud: RunningCli;
let edge: RunningCli;
let kubeconfig: string;
let kubectl: KubectlRunner;
const edgeDir = (): string => join(root, 'edge');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-kubeconfig-'));
  apiCloud = startEdgehive(['cloud', '--data-dir', join(root, 'api')]);
  kubeconfig = (await apiCloud.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
}, 60_000);

afterAll(async () => {
  kubectl?.killAll();
  for (const cli of [edge, cloud, apiCloud]) cli?.child.kill('SIGKILL');
  await killLeftoverPods(edgeDir());
  rmSync(root, { recursive: true, force: true });
});

const untilKubectl = (args: readonly string[], accept: (stdout: string) => boolean, what: string, timeoutMs = 40_000): Promise<string> => untilKubectlWith(kubectl, args, accept, what, timeoutMs);

describe('edgehive cloud --kubeconfig', () => {
  it('refuses a kubeconfig it cannot read, and embedded-server flags beside it, with the reason and exit 1', async () => {
    const missing = startEdgehive(['cloud', '--data-dir', join(root, 'bad'), '--kubeconfig', join(root, 'nope.yaml')]);
    expect(await missing.exited()).toBe(1);
    expect(missing.stderr()).toMatch(/cannot read the kubeconfig .*nope\.yaml/);
    const mixed = startEdgehive(['cloud', '--data-dir', join(root, 'bad'), '--kubeconfig', kubeconfig, '--api-port', '0']);
    expect(await mixed.exited()).toBe(1);
    expect(mixed.stderr()).toContain('--api-port and --insecure configure the embedded API server; with --kubeconfig there is none');
  }, 30_000);

  it('syncs an edge with a cluster it reaches only through the kubeconfig', async () => {
    const cloudDir = join(root, 'cloud');
    cloud = startEdgehive(['cloud', '--data-dir', cloudDir, '--kubeconfig', kubeconfig]);
    const clusterLine = await cloud.waitForLine(/^Kubernetes API: /, 40_000);
    const clusterId = await kubectl.run(['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}']);
    expect(clusterLine).toContain(`(cluster ${clusterId.stdout}, from ${kubeconfig})`);
    expect(cloud.lines.some((line) => line.startsWith('export KUBECONFIG='))).toBe(false);
    const streamUrl = (await cloud.waitForLine(/^Stream: /)).slice('Stream: '.length);

    const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
    if (!token.ok) throw new Error(token.error.message);
    edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', 'far-edge', '--data-dir', edgeDir(), '--token', token.value.token, '--no-meta-server']);
    await edge.waitForLine(/^linked \(/, 40_000);
    await untilKubectl(['get', 'node', 'far-edge', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], (out) => out === 'True', 'far-edge Ready');

    const pod = `apiVersion: v1
kind: Pod
metadata: {name: far, namespace: default}
spec:
  nodeName: far-edge
  containers:
  - name: app
    image: node:20
    command: [${JSON.stringify(process.execPath)}, "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
`;
    const applied = await kubectl.run(['apply', '-f', '-'], pod);
    expect(applied.code, applied.stderr).toBe(0);
    await untilKubectl(['get', 'pod', 'far', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'far Running');
    await untilKubectl(['delete', 'pod', 'far', '--wait=true'], () => true, 'far deleted');
  }, 120_000);
});
