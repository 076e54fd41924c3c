// Deployments through real kubectl against the embedded API server with the ReplicaSet and
// Deployment controllers running and a stand-in kubelet marking pods Ready. Method: each step is a
// kubectl command a user types (create deployment, rollout status/restart/history/undo, scale,
// delete), and its outcome is read back through kubectl and the API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../k8s/api/api-server.testing.js';
import { kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { requireKubectl } from '../../k8s/tls/kubectl.fixture.js';
import { WorkloadFixture, type WorkloadWorld } from './workloads.testing.js';

const fixture = new WorkloadFixture();
let world: WorkloadWorld;
let kubectl: KubectlRunner;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgehive-workloads-kubectl-'));
  world = await fixture.start();
  kubectl = kubectlRunner(requireKubectl('1.32'), world.server.kubeconfigPath, dir, join(dir, 'cache'));
});
afterAll(async () => {
  kubectl?.killAll();
  await fixture.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const ok = async (args: readonly string[]): Promise<string> => {
  const result = await kubectl.run(args);
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
};
const livePods = async (): Promise<string[]> =>
  (await world.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=hello' })).items.filter((p) => p.metadata?.deletionTimestamp === undefined).map((p) => p.metadata?.name ?? '');

describe('a Deployment driven by kubectl', () => {
  it('is created with 3 replicas and rolls out', async () => {
    expect(await ok(['create', 'deployment', 'hello', '--image=busybox', '--replicas=3', '--', 'sleep', '3600'])).toContain('deployment.apps/hello created');
    expect(await ok(['rollout', 'status', 'deployment/hello', '--timeout=30s'])).toContain('deployment "hello" successfully rolled out');
    expect(await ok(['get', 'deployment', 'hello'])).toMatch(/^hello\s+3\/3\s+3\s+3\s+/m);
    expect(await livePods()).toHaveLength(3);
  });

  it('scales to 5 and back to 2', async () => {
    expect(await ok(['scale', 'deployment', 'hello', '--replicas=5'])).toContain('deployment.apps/hello scaled');
    await ok(['rollout', 'status', 'deployment/hello', '--timeout=30s']);
    expect(await livePods()).toHaveLength(5);
    await ok(['scale', 'deployment', 'hello', '--replicas=2']);
    await ok(['rollout', 'status', 'deployment/hello', '--timeout=30s']);
    await waitFor('2 pods left', async () => ((await livePods()).length === 2 ? true : undefined));
  });

  it('rolls out a restart and a command change as revisions 2 and 3, each on new pods', async () => {
    const before = await livePods();
    expect(await ok(['rollout', 'restart', 'deployment/hello'])).toContain('deployment.apps/hello restarted');
    await ok(['rollout', 'status', 'deployment/hello', '--timeout=30s']);
    const restarted = await waitFor('old pods replaced', async () => {
      const now = await livePods();
      return now.length === 2 && now.every((name) => !before.includes(name)) ? now : undefined;
    });

    await ok(['patch', 'deployment', 'hello', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","command":["sleep","7200"]}]}}}}']);
    await ok(['rollout', 'status', 'deployment/hello', '--timeout=30s']);
    await waitFor('restarted pods replaced', async () => {
      const now = await livePods();
      return now.length === 2 && now.every((name) => !restarted.includes(name)) ? now : undefined;
    });
    const history = await ok(['rollout', 'history', 'deployment/hello']);
    expect(history).toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);
    expect(history).toMatch(/^3\s/m);
  });

  it('undoes the command change back to the restarted template, as revision 4', async () => {
    expect(await ok(['rollout', 'undo', 'deployment/hello'])).toContain('deployment.apps/hello rolled back');
    await ok(['rollout', 'status', 'deployment/hello', '--timeout=30s']);
    const template = JSON.parse(await ok(['get', 'deployment', 'hello', '-o', 'jsonpath={.spec.template}'])) as { spec: { containers: { command: string[] }[] } };
    expect(template.spec.containers[0]?.command).toEqual(['sleep', '3600']);
    expect(await ok(['rollout', 'history', 'deployment/hello'])).toMatch(/^4\s/m);
    const pods = (await world.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=hello' })).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
    await waitFor('pods run the undone command', async () => {
      const now = (await world.core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=hello' })).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
      return now.length === 2 && now.every((p) => p.spec?.containers[0]?.command?.[1] === '3600') ? now : undefined;
    });
    expect(pods.length).toBeGreaterThan(0);
  });

  it('is deleted with its ReplicaSets and pods', async () => {
    expect(await ok(['delete', 'deployment', 'hello'])).toContain('deployment.apps "hello" deleted');
    await waitFor('no pods or replicasets of hello', async () => {
      const sets = (await world.apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=hello' })).items;
      return sets.length === 0 && (await livePods()).length === 0 ? true : undefined;
    });
  });
});
