// A DaemonSet through real kubectl against the embedded API server, with the DaemonSet controller
// running and the spec playing two edges (bound pods marked Running and Ready, deletions confirmed,
// as their agents report them). Method: each step is a command a user types (apply, rollout
// status, get, set image, rollout history, rollout undo), and its outcome is read through kubectl.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServerFixture, kubeConfigOf } from '../../k8s/api/api-server.testing.js';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { Informers } from '../kube/informer.js';
import { DaemonSetController } from './daemonset-controller.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** How often the stand-in edges report (a real edge reports on each change; this is their latency). */
const EDGE_REPORT_MS = 25;

const api = new ApiServerFixture();
let kubectl: KubectlRunner;
let dir: string;
let core: CoreV1Api;
let edges: NodeJS.Timeout | undefined;
let stopController: (() => Promise<void>) | undefined;
/** The stand-in edges' report in progress, if any. */
let reporting: Promise<void> | undefined;

/** Both edges' agents: bound pods become Running and Ready, pods being deleted are confirmed gone. */
async function edgeReport(): Promise<void> {
  const pods = await core.listNamespacedPod({ namespace: 'default' });
  for (const pod of pods.items) {
    const name = pod.metadata?.name ?? '';
    if (pod.spec?.nodeName === undefined) continue;
    if (pod.metadata?.deletionTimestamp !== undefined) await core.deleteNamespacedPod({ name, namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
    else if (pod.status?.phase === 'Pending') {
      const at = new Date().toISOString();
      await core.patchNamespacedPodStatus({ name, namespace: 'default', body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }] } } }, mergePatch).catch(() => undefined);
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-daemonset-kubectl-'));
  const server = await api.start();
  const kc = kubeConfigOf(server);
  core = kc.makeApiClient(CoreV1Api);
  for (const name of ['edge-1', 'edge-2']) {
    await core.createNode({ body: { metadata: { name, labels: { 'node-role.kubernetes.io/edge': '' } } } });
    await core.patchNodeStatus({ name, body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', lastHeartbeatTime: new Date().toISOString() }] } } }, mergePatch);
  }
  const informers = new Informers(kc);
  const controller = new DaemonSetController({ kubeConfig: kc, informers, now: () => new Date(), monotonicMs: () => performance.now() });
  controller.start();
  stopController = async () => {
    await controller.stop();
    informers.stop();
  };
  edges = setInterval(() => {
    if (reporting !== undefined) return;
    // A report cut short by the teardown's close of the server is no failure of the spec.
    reporting = edgeReport()
      .catch(() => undefined)
      .finally(() => {
        reporting = undefined;
      });
  }, EDGE_REPORT_MS);
  kubectl = kubectlRunner(requireKubectl('1.32'), server.kubeconfigPath, dir, join(dir, 'cache'));
});

afterAll(async () => {
  clearInterval(edges);
  await reporting;
  kubectl?.killAll();
  await stopController?.();
  await api.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const ok = async (args: readonly string[], stdin?: string): Promise<string> => {
  const result = await kubectl.run(args, stdin);
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
};

const daemonSetYaml = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: "agent:1", command: [sleep, "3600"]}
`;

const podImages = async (): Promise<string[]> => (await ok(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={range .items[*]}{.spec.containers[0].image}{" "}{end}'])).trim().split(/\s+/).sort();

describe('a DaemonSet driven by kubectl on two edge nodes', () => {
  it('is applied and rolls out, one pod per node, and get ds shows the counts', async () => {
    expect(await ok(['apply', '-f', '-'], daemonSetYaml)).toContain('daemonset.apps/agent created');
    expect(await ok(['rollout', 'status', 'ds/agent', '--timeout=30s'])).toContain('daemon set "agent" successfully rolled out');
    expect(await ok(['get', 'ds', 'agent'])).toMatch(/^agent\s+2\s+2\s+2\s+2\s+2\s+<none>\s+\S+$/m);
    const nodes = await ok(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.nodeName}']);
    expect(nodes.split(' ').sort()).toEqual(['edge-1', 'edge-2']);
    const described = await ok(['describe', 'ds', 'agent']);
    expect(described).toMatch(/Desired Number of Nodes Scheduled: 2/);
    expect(described).toMatch(/Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+\S+\s+daemonset-controller\s+Created pod: agent-/);
  });

  it('rolls out a new image with kubectl set image as revision 2', async () => {
    await ok(['set', 'image', 'ds/agent', 'agent=agent:2']);
    expect(await ok(['rollout', 'status', 'ds/agent', '--timeout=30s'])).toContain('daemon set "agent" successfully rolled out');
    expect(await podImages()).toEqual(['agent:2', 'agent:2']);
    expect(await ok(['rollout', 'history', 'ds/agent'])).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await ok(['rollout', 'history', 'ds/agent', '--revision=1'])).toContain('agent:1');
  });

  it('rolls back with kubectl rollout undo to the previous template, which becomes revision 3', async () => {
    expect(await ok(['rollout', 'undo', 'ds/agent'])).toContain('daemonset.apps/agent rolled back');
    expect(await ok(['get', 'ds', 'agent', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).toBe('agent:1');
    expect(await ok(['rollout', 'status', 'ds/agent', '--timeout=30s'])).toContain('daemon set "agent" successfully rolled out');
    expect(await podImages()).toEqual(['agent:1', 'agent:1']);
    expect(await ok(['rollout', 'history', 'ds/agent'])).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  });
});
