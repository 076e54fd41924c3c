// Pods on an edge, end to end, with real processes and real kubectl: `edgehive cloud` (embedded API
// server) and `edgehive edge` as child processes. Method: pods are applied with kubectl and bound to
// the edge by nodeName; what kubectl shows is awaited by polling kubectl itself (never by time), and
// what runs on the edge is checked through the process runtime's own records. Every pod process the
// edges leave behind is killed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { openProcessRuntime } from '../../runtime/index.js';
import { createJoinTokenInDataDir } from '../../transport/index.js';
import { killLeftoverPods, kubectlOkWith, untilKubectlWith } from './edge-e2e.testing.js';
import { startEdgehive, type RunningCli } from './edge-cli.testing.js';

let root: string;
let cloud: RunningCli;
let edge: RunningCli;
let kubectl: KubectlRunner;
/** kubectl against the edge's local read-only API (no kubeconfig: only --server). */
let localKubectl: KubectlRunner;
let metaServerUrl: string;
let kubeconfigPath: string;
let streamUrl: string;
const edgeDir = (): string => join(root, 'edge-1');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'edgehive-edge-pods-'));
  const cloudDir = join(root, 'cloud');
  // A short grace, so a silent node goes Unknown within the spec's patience (edges renew every 10 s).
  cloud = startEdgehive(['cloud', '--data-dir', cloudDir, '--node-monitor-grace-period', '15']);
  const kubeconfig = (await cloud.waitForLine(/^export KUBECONFIG=/, 40_000)).slice('export KUBECONFIG='.length);
  kubeconfigPath = kubeconfig;
  streamUrl = (await cloud.waitForLine(/^Stream: /)).slice('Stream: '.length);
  const token = await createJoinTokenInDataDir(cloudDir, { nowMs: Date.now() });
  if (!token.ok) throw new Error(token.error.message);
  edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', 'edge-1', '--data-dir', edgeDir(), '--token', token.value.token, '--meta-server-port', '0', '--labels', 'site=plant-3']);
  metaServerUrl = (await edge.waitForLine(/^metaserver /, 40_000)).slice('metaserver '.length);
  await edge.waitForLine(/^linked \(/, 40_000);
  kubectl = kubectlRunner(requireKubectl('1.32'), kubeconfig, join(root, 'home'), join(root, 'kube-cache'));
  localKubectl = kubectlRunner(requireKubectl('1.32'), join(root, 'no-kubeconfig'), join(root, 'home-local'), join(root, 'kube-cache-local'));
}, 90_000);

afterAll(async () => {
  kubectl?.killAll();
  localKubectl?.killAll();
  edge?.child.kill('SIGKILL');
  cloud?.child.kill('SIGKILL');
  // Pod processes are detached on purpose (they outlive the agent): kill whatever the edge left.
  await killLeftoverPods(edgeDir());
  rmSync(root, { recursive: true, force: true });
});

const podYaml = (name: string, script: string, extra = ''): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 5
${extra}  containers:
  - name: app
    image: node:20
    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(script)}]
    env:
    - name: GREETING
      value: hello-from-env
`;

const kubectlOk = (args: readonly string[], stdin?: string): Promise<string> => kubectlOkWith(kubectl, args, stdin);

/** Polls kubectl until `accept` holds for its output. */
const untilKubectl = (args: readonly string[], accept: (stdout: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> => untilKubectlWith(kubectl, args, accept, what, timeoutMs);

/** Polls the edge's local API until `holds` (it refreshes once per event-loop turn of the agent). */
async function waitForLocal(holds: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The pids of the live runs the edge's runtime records for a pod uid. */
async function edgeProcesses(uid: string): Promise<number[]> {
  const runtime = openProcessRuntime({ dataDir: join(edgeDir(), 'edge', 'runtime'), memoryEnforcement: 'rss' });
  if (!runtime.ok) throw new Error(runtime.error.message);
  try {
    return (await runtime.value.scan()).flatMap((o) => (o.podUid === uid && o.alive ? [o.pid] : []));
  } finally {
    await runtime.value.close();
  }
}

describe('pods on an edge node', () => {
  it('registers the node Ready with the edge role label and the labels of its flags', async () => {
    const ready = await untilKubectl(['get', 'node', 'edge-1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], (out) => out === 'True', 'edge-1 Ready');
    expect(ready).toBe('True');
    expect(await kubectlOk(['get', 'nodes', '-l', 'node-role.kubernetes.io/edge', '-o', 'name'])).toContain('node/edge-1');
    expect(await kubectlOk(['get', 'nodes', '-l', 'site=plant-3', '-o', 'name'])).toContain('node/edge-1');
    // Its heartbeat: a Lease in kube-node-lease held by the node, renewed every quarter of its 40 s.
    const leaseArgs = ['get', 'lease', 'edge-1', '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.holderIdentity} {.spec.leaseDurationSeconds} {.spec.renewTime}'];
    const first = await untilKubectl(leaseArgs, (out) => out.startsWith('edge-1 40 '), 'the node Lease');
    const renewed = await untilKubectl(leaseArgs, (out) => out !== first && out.startsWith('edge-1 40 '), 'a renewal of the Lease', 20_000);
    expect(Date.parse(renewed.split(' ')[2]!)).toBeGreaterThan(Date.parse(first.split(' ')[2]!));
  }, 60_000);

  it('runs an applied pod as a process on the edge, shows it Running, and stops it on kubectl delete', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('web', "process.on('SIGTERM', () => process.exit(0)); console.log('hello from the edge'); setInterval(() => {}, 1000)"));
    await untilKubectl(['get', 'pod', 'web', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'web Running');
    const row = await kubectlOk(['get', 'pod', 'web', '--no-headers']);
    expect(row).toMatch(/^web\s+1\/1\s+Running\s+0\s/);
    expect(await kubectlOk(['get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}'])).toBe('127.0.0.1');
    const uid = await kubectlOk(['get', 'pod', 'web', '-o', 'jsonpath={.metadata.uid}']);
    expect(await edgeProcesses(uid)).toHaveLength(1);
    // The edge's own read-only API knows the pod and the status the edge reported for it.
    const local = await localKubectl.run(['--server', metaServerUrl, 'get', 'pod', 'web', '-n', 'default', '--no-headers']);
    expect(local.code).toBe(0);
    expect(local.stdout).toMatch(/^web\s+1\/1\s+Running\s+0\s/);

    // kubectl logs and exec reach the edge's process through the cloud's tunnel.
    await untilKubectl(['logs', 'web'], (out) => out.includes('hello from the edge'), 'the log line');
    expect(await kubectlOk(['logs', 'web', '--tail=1'])).toBe('hello from the edge\n');
    const exec = await kubectl.run(['exec', 'web', '--', process.execPath, '-e', "console.log(process.env.GREETING, process.cwd()); console.error('to stderr'); process.exit(3)"]);
    // In the container's environment and working directory (its own, under the pod's, without workingDir).
    expect(exec.stdout).toMatch(new RegExp(`^hello-from-env \\S+/pods/${uid}/containers/app\\n$`));
    expect(exec.stderr).toContain('to stderr');
    expect(exec.code).toBe(3);
    const piped = await kubectl.run(['exec', '-i', 'web', '--', 'cat'], 'through stdin\n');
    expect(piped).toMatchObject({ code: 0, stdout: 'through stdin\n' });
    const old = kubectlRunner(requireKubectl('1.27'), kubeconfigPath, join(root, 'home-127'), join(root, 'kube-cache-127'));
    const refused = await old.run(['exec', 'web', '--', 'true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('kubectl >= 1.30');
    old.killAll();

    await kubectlOk(['delete', 'pod', 'web', '--timeout=60s']);
    expect((await kubectl.run(['get', 'pod', 'web'])).code).not.toBe(0);
    expect(await edgeProcesses(uid)).toEqual([]);
  });

  it('kubectl attach follows a running container\'s output until it ends, then exits 0', async () => {
    const script = "let n = 0; const t = setInterval(() => { console.log('tick ' + ++n); if (n === 16) { clearInterval(t); } }, 250)";
    await kubectlOk(['apply', '-f', '-'], podYaml('talker', script, '  restartPolicy: Never\n'));
    await untilKubectl(['logs', 'talker'], (out) => out.includes('tick 2\n'), 'talker ticking');
    const attached = await kubectl.run(['attach', 'talker', '-c', 'app']);
    expect(attached.code).toBe(0);
    // From the moment it attached: later ticks, not the log from the start.
    expect(attached.stdout).toMatch(/tick 16\n$/);
    expect(attached.stdout).not.toMatch(/^tick 1\n/);
    await kubectlOk(['delete', 'pod', 'talker', '--timeout=60s']);
  }, 60_000);

  it('schedules a pod that names no node onto the edge node its nodeSelector matches, and leaves one no node matches Pending with the reason', async () => {
    const unbound = (name: string, site: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  nodeSelector:\n    site: ${site}\n  containers:\n  - name: app\n    image: node:20\n    command: [${JSON.stringify(process.execPath)}, "-e", "setInterval(() => {}, 1000)"]\n`;
    await kubectlOk(['apply', '-f', '-'], unbound('placed', 'plant-3'));
    await untilKubectl(['get', 'pod', 'placed', '-o', 'jsonpath={.spec.nodeName} {.status.phase}'], (out) => out === 'edge-1 Running', 'placed Running on edge-1');
    expect(await kubectlOk(['describe', 'pod', 'placed'])).toMatch(/Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/placed to edge-1/);
    await kubectlOk(['apply', '-f', '-'], unbound('stranded', 'nowhere'));
    const why = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";
    await untilKubectl(['get', 'pod', 'stranded', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}'], (out) => out === why, 'stranded unschedulable');
    const described = await kubectlOk(['describe', 'pod', 'stranded']);
    expect(described).toContain('FailedScheduling');
    expect(described).toMatch(/Node:\s+<none>/);
    expect(await kubectlOk(['get', 'pod', 'stranded', '-o', 'jsonpath={.status.phase}'])).toBe('Pending');
    await kubectlOk(['delete', 'pod', 'placed', 'stranded', '--timeout=60s']);
  }, 60_000);

  it('a ConfigMap change reaches the running pod that mounts it, without a restart', async () => {
    await kubectlOk(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: v1\n');
    const script = "const fs = require('fs'); const file = process.env.EDGEHIVE_VOLUME_CONFIG + '/greeting'; let last = ''; setInterval(() => { const now = fs.readFileSync(file, 'utf8'); if (now !== last) { last = now; console.log('greeting ' + now); } }, 100)";
    await kubectlOk(
      ['apply', '-f', '-'],
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: reader\nspec:\n  nodeName: edge-1\n  volumes:\n  - name: config\n    configMap:\n      name: settings\n  containers:\n  - name: app\n    image: node:20\n    command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(script)}]\n    volumeMounts:\n    - name: config\n      mountPath: /etc/config\n`,
    );
    await untilKubectl(['logs', 'reader'], (out) => out.includes('greeting v1'), 'the first greeting');
    const restarts = ['get', 'pod', 'reader', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'];
    const before = await kubectlOk(restarts);
    await kubectlOk(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: v2\n');
    // The same process prints the new value: its log has both lines, and the container did not restart.
    await untilKubectl(['logs', 'reader'], (out) => out.includes('greeting v1\ngreeting v2'), 'the changed greeting');
    expect(await kubectlOk(restarts)).toBe(before);
    await kubectlOk(['delete', 'pod', 'reader', '--timeout=60s']);
    await kubectlOk(['delete', 'configmap', 'settings']);
  }, 60_000);

  it('serves the Services of its pods\' namespace from the edge\'s local API, and forgets a deleted one', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('svc-backend', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"));
    await kubectlOk(['apply', '-f', '-'], 'apiVersion: v1\nkind: Service\nmetadata:\n  name: backend\nspec:\n  ports:\n  - port: 8080\n');
    const localServices = async (): Promise<string> => (await localKubectl.run(['--server', metaServerUrl, 'get', 'services', '-n', 'default', '-o', 'name'])).stdout;
    await waitForLocal(async () => (await localServices()).includes('service/backend'), 'service/backend in the local API');
    await kubectlOk(['delete', 'service', 'backend']);
    await waitForLocal(async () => !(await localServices()).includes('service/backend'), 'service/backend gone from the local API');
    await kubectlOk(['delete', 'pod', 'svc-backend', '--timeout=60s']);
  }, 60_000);

  it('shows a pod whose container has no command as Failed with the reason in kubectl describe, and the agent keeps serving', async () => {
    await kubectlOk(['apply', '-f', '-'], `apiVersion: v1\nkind: Pod\nmetadata:\n  name: no-command\nspec:\n  nodeName: edge-1\n  containers:\n  - name: app\n    image: nginx:1.27\n`);
    await untilKubectl(['get', 'pod', 'no-command', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Failed', 'no-command Failed');
    const described = await kubectlOk(['describe', 'pod', 'no-command']);
    expect(described).toMatch(/Reason:\s+NoCommand/);
    expect(described).toMatch(/command/);
    await kubectlOk(['apply', '-f', '-'], podYaml('after', 'setInterval(() => {}, 1000)'));
    await untilKubectl(['get', 'pod', 'after', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'a later pod still runs');
  });

  it('shows a container that keeps exiting 1 in CrashLoopBackOff with its restarts counted', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('crasher', "console.error('failing on purpose'); process.exit(1)"));
    const waiting = ['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.message}'];
    await untilKubectl(['get', 'pod', 'crasher', '--no-headers'], (out) => /\sCrashLoopBackOff\s/.test(out), 'CrashLoopBackOff', 30_000);
    expect(await kubectlOk(waiting)).toBe('back-off 10s restarting failed container=app');
    // After the 10 s back-off it runs again, fails again, and the next back-off doubles.
    await untilKubectl(waiting, (out) => out === 'back-off 20s restarting failed container=app', 'the back-off doubled', 40_000);
    const row = await kubectlOk(['get', 'pod', 'crasher', '--no-headers']);
    expect(row).toMatch(/^crasher\s+0\/1\s+CrashLoopBackOff\s+1\s/);
    const last = await kubectlOk(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}']);
    expect(last).toBe('1');
  }, 90_000);

  it('a node whose agent is killed shows NotReady in kubectl get nodes -w, tainted NoSchedule, and Ready again once the agent is back', async () => {
    const watch = kubectl.start(['get', 'nodes', '-w']);
    await watch.waitFor((out) => /edge-1\s+Ready\b/.test(out), 20_000);
    edge.child.kill('SIGKILL');
    await new Promise((resolve) => edge.child.once('exit', resolve));
    await watch.waitFor((out) => /edge-1\s+NotReady\b/.test(out), 45_000);
    expect(await kubectlOk(['get', 'node', 'edge-1', '-o', 'jsonpath={.spec.taints[*].key}:{.spec.taints[*].effect}'])).toBe('node.kubernetes.io/unreachable:NoSchedule');
    edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', 'edge-1', '--data-dir', edgeDir(), '--meta-server-port', '0', '--labels', 'site=plant-3']);
    await edge.waitForLine(/^linked \(/, 40_000);
    // Ready again after NotReady: the watch prints the node's rows in order.
    await watch.waitFor((out) => /edge-1\s+NotReady\b[\s\S]*edge-1\s+Ready\b/.test(out), 30_000);
    await untilKubectl(['get', 'node', 'edge-1', '-o', 'jsonpath={.spec.taints}'], (out) => out === '' || out === '[]', 'the unreachable taint removed', 20_000);
  }, 120_000);

  it('when its Node is deleted in the API, the edge is told (4410), stops its pods and does not register again', async () => {
    await kubectlOk(['apply', '-f', '-'], podYaml('last', 'setInterval(() => {}, 1000)'));
    await untilKubectl(['get', 'pod', 'last', '-o', 'jsonpath={.status.phase}'], (out) => out === 'Running', 'last Running');
    const uid = await kubectlOk(['get', 'pod', 'last', '-o', 'jsonpath={.metadata.uid}']);
    expect(await edgeProcesses(uid)).toHaveLength(1);
    await kubectlOk(['delete', 'node', 'edge-1']);
    await edge.waitForLine(/^node deleted in the cluster/, 20_000);
    const deadline = Date.now() + 20_000;
    while ((await edgeProcesses(uid)).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await edgeProcesses(uid)).toEqual([]);
    // Its reconnects are refused with 4410 again, and the Node stays deleted.
    const before = edge.lines.filter((l) => l.startsWith('node deleted in the cluster')).length;
    const refusedAgain = Date.now() + 20_000;
    while (edge.lines.filter((l) => l.startsWith('node deleted in the cluster')).length <= before && Date.now() < refusedAgain) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(edge.lines.filter((l) => l.startsWith('node deleted in the cluster')).length).toBeGreaterThan(before);
    expect((await kubectl.run(['get', 'node', 'edge-1'])).code).not.toBe(0);
    // Killed and started again, the agent remembers (its node actor's journal) that the Node is gone:
    // the pod stays stopped and the node is not registered behind the cluster's back.
    edge.child.kill('SIGKILL');
    await new Promise((resolve) => edge.child.once('exit', resolve));
    edge = startEdgehive(['edge', '--mqtt-port', '0', '--cloud', streamUrl, '--name', 'edge-1', '--data-dir', edgeDir(), '--meta-server-port', '0']);
    await edge.waitForLine(/^node deleted in the cluster; its pods stay stopped/, 40_000);
    await edge.waitForLine(/^node deleted in the cluster \(/, 20_000);
    expect(await edgeProcesses(uid)).toEqual([]);
    expect((await kubectl.run(['get', 'node', 'edge-1'])).code).not.toBe(0);
  }, 120_000);
});
