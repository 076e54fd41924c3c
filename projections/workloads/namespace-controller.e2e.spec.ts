// Real kubectl deleting a namespace on the embedded API server with the namespace controller running.
// Method: given a namespace holding a ConfigMap and a pod bound to a node, when `kubectl delete ns`
// runs (it waits for the deletion by default), then meanwhile `kubectl get ns` shows it Terminating,
// new content is refused, the ConfigMap goes, and the command returns only after the pod's node has
// confirmed its end (simulated with a forced delete) and the namespace is gone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigOf, waitFor } from '../../k8s/api/api-server.testing.js';
import { findKubectl, kubectlRunner, type KubectlRunner } from '../../k8s/api/kubectl.testing.js';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../k8s/embedded-api-server.js';
import { NamespaceController } from './namespace-controller.js';

const minor = '1.33';
const manifests = `apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {a: "1"}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: team}
spec:
  nodeName: edge-1
  containers:
  - name: app
    image: none
    command: ["sleep", "3600"]
`;

describe(`kubectl ${minor} delete namespace`, () => {
  let dir: string;
  let server: EmbeddedApiServer;
  let kubectl: KubectlRunner;
  let controller: NamespaceController;

  beforeAll(async () => {
    const binary = findKubectl(minor);
    if (binary === undefined) throw new Error(`kubectl.${minor} is not installed beside kubectl`);
    dir = mkdtempSync(join(tmpdir(), 'edgehive-ns-delete-'));
    const started = await startEmbeddedApiServer({ dataDir: join(dir, 'data') });
    if (!started.ok) throw new Error(started.error);
    server = started.value;
    controller = new NamespaceController({ kubeConfig: kubeConfigOf(server), now: () => new Date(), recheckDelayMs: 100 });
    controller.start();
    kubectl = kubectlRunner(binary, server.kubeconfigPath, dir, join(dir, 'cache'));
  });
  afterAll(async () => {
    kubectl?.killAll();
    await controller?.stop();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the namespace Terminating while its pod terminates on its node, and returns once the namespace is gone', async () => {
    expect((await kubectl.run(['apply', '-f', '-'], manifests)).code).toBe(0);
    let returned = false;
    const deleting = kubectl.run(['delete', 'ns', 'team']).then((result) => {
      returned = true;
      return result;
    });

    const table = await waitFor('kubectl get ns to show team Terminating', async () => {
      const out = (await kubectl.run(['get', 'ns', 'team'])).stdout;
      return /^team\s+Terminating\s+\d+s$/m.test(out) ? out : undefined;
    });
    expect(table).toMatch(/^NAME\s+STATUS\s+AGE$/m);
    const refused = await kubectl.run(['create', 'configmap', 'late', '-n', 'team']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('failed to create configmap: configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated');
    await waitFor('the ConfigMap deleted', async () => ((await kubectl.run(['get', 'configmaps', '-n', 'team'])).stderr.includes('No resources found in team namespace.') ? true : undefined));
    const pods = await kubectl.run(['get', 'pods', '-n', 'team']);
    expect(pods.stdout).toMatch(/^web\s+\S+\s+Terminating\s/m);
    const described = await waitFor('kubectl describe ns to show the content remaining', async () => {
      const out = (await kubectl.run(['describe', 'ns', 'team'])).stdout;
      return out.includes('NamespaceContentRemaining') ? out : undefined;
    });
    expect(described).toMatch(/^Status:\s+Terminating$/m);
    expect(described).toMatch(/NamespaceContentRemaining\s+True\s+.+\s+SomeResourcesRemain\s+Some resources are remaining: pods\. has 1 resource instances/);
    expect(returned).toBe(false);

    // The node stops the pod and confirms, as the edge does.
    expect((await kubectl.run(['delete', 'pod', 'web', '-n', 'team', '--grace-period=0', '--force'])).code).toBe(0);
    const result = await deleting;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('namespace "team" deleted');
    const gone = await kubectl.run(['get', 'ns', 'team']);
    expect(gone.stderr).toContain('Error from server (NotFound): namespaces "team" not found');
  });
});
