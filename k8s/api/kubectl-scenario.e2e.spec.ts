// Real kubectl against the embedded API server. Method: for every kubectl minor version installed
// (1.27 … 1.33), given a fresh server over HTTPS with its kubeconfig, when a user runs the usual
// commands (create, apply, get in every output format, describe, patch, label, annotate, watch,
// delete, api-resources, explain) on pods, deployments, config maps, secrets, nodes, leases, CRDs
// and KubeEdge devices, then each prints what it prints against a real cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../embedded-api-server.js';
import { findKubectl, kubectlRunner, type KubectlRunner } from './kubectl.testing.js';

const minors = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'] as const;

const podYaml = (image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  nodeName: edge-1
  containers:
  - name: app
    image: ${image}
    command: ["/bin/sh", "-c", "sleep 3600"]
    ports: [{containerPort: 8080}]
`;

const deploymentYaml = (replicas: number, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: ${image}
        env: [{name: MODE, value: edge}]
      - name: sidecar
        image: busybox:1.36
`;

const nodeYaml = `apiVersion: v1
kind: Node
metadata:
  name: edge-1
  labels: {node-role.kubernetes.io/edge: ""}
status:
  conditions:
  - {type: Ready, status: "True", reason: EdgeReady, message: edge is posting ready status}
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  nodeInfo: {kubeletVersion: v1.32.4-edgehive, osImage: Debian, kernelVersion: "6.1", containerRuntimeVersion: process://1, architecture: amd64, operatingSystem: linux, bootID: b, machineID: m, systemUUID: s, kubeProxyVersion: ""}
`;

const widgetCrdYaml = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string}
`;

const deviceYaml = `apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: thermostat
spec:
  deviceModelRef: {name: thermostat-model}
  nodeName: edge-1
  properties:
  - name: temperature
    desired: {value: "21"}
`;

for (const minor of minors) {
  const binary = findKubectl(minor);
  describe(`kubectl ${minor}`, () => {
    let dir: string;
    let server: EmbeddedApiServer;
    let kubectl: KubectlRunner;
    const ok = async (args: readonly string[], stdin?: string): Promise<string> => {
      const result = await kubectl.run(args, stdin);
      expect(result.stderr, `kubectl ${args.join(' ')}`).not.toMatch(/error/i);
      expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };

    beforeAll(async () => {
      // Every minor version stands beside kubectl on this machine; a missing one is a failure, not a skip.
      if (binary === undefined) throw new Error(`kubectl.${minor} is not installed beside kubectl`);
      dir = mkdtempSync(join(tmpdir(), `edgehive-kubectl-${minor}-`));
      const started = await startEmbeddedApiServer({ dataDir: join(dir, 'data') });
      if (!started.ok) throw new Error(started.error);
      server = started.value;
      kubectl = kubectlRunner(binary ?? '', server.kubeconfigPath, dir, join(dir, 'cache'));
    });
    afterAll(async () => {
      kubectl?.killAll();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists the served resources, devices included', async () => {
      const out = await ok(['api-resources']);
      for (const line of [/^pods\s+po\s+v1\s+true\s+Pod$/m, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m, /^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m, /^devices\s+.*devices\.kubeedge\.io\/v1beta1\s+true\s+Device$/m, /^devicemodels\s+.*devices\.kubeedge\.io\/v1beta1\s+true\s+DeviceModel$/m]) {
        expect(out).toMatch(line);
      }
    });

    it('registers a node and shows it as kubectl does', async () => {
      // Node status is written through the API by the edge; here kubectl creates it whole.
      expect(await ok(['create', '-f', '-'], nodeYaml)).toContain('node/edge-1 created');
      const table = await ok(['get', 'nodes']);
      expect(table).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/m);
      expect(table).toMatch(/^edge-1\s+Ready\s+edge\s+\d+s\s+v1\.32\.4-edgehive$/m);
      expect(await ok(['get', 'nodes', '-o', 'wide'])).toMatch(/INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE/);
    });

    it('creates a pod and gets it as a table, wide, yaml and json, and by label', async () => {
      expect(await ok(['create', '-f', '-'], podYaml('nginx:1.27'))).toContain('pod/web created');
      expect(await ok(['get', 'pods'])).toMatch(/^web\s+0\/1\s+Pending\s+0\s+\d+s$/m);
      expect(await ok(['get', 'pods', '-o', 'wide'])).toMatch(/^web\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+edge-1\s+<none>\s+<none>$/m);
      const yaml = parseYaml(await ok(['get', 'pod', 'web', '-o', 'yaml'])) as { metadata: { uid: string; resourceVersion: string }; spec: { restartPolicy: string } };
      expect(yaml.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(yaml.spec.restartPolicy).toBe('Always');
      const json = JSON.parse(await ok(['get', 'pod', 'web', '-o', 'json'])) as { metadata: { resourceVersion: string } };
      expect(json.metadata.resourceVersion).toBe(yaml.metadata.resourceVersion);
      expect(await ok(['get', 'pods', '-l', 'app=web,tier in (front)'])).toMatch(/^web\s/m);
      const none = await kubectl.run(['get', 'pods', '-l', 'app=other']);
      expect(none.stderr).toContain('No resources found in default namespace.');
      expect(await ok(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=edge-1'])).toMatch(/^default\s+web\s/m);
    });

    it('refuses unknown fields and invalid objects with the real messages', async () => {
      const unknown = await kubectl.run(['create', '-f', '-'], podYaml('nginx:1.27').replace('name: web\n', 'name: web-typo\n').replace('    image:', '    imagePullPolcy: Always\n    image:'));
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/unknown field "(spec\.containers\[0\]\.)?imagePullPolcy"/);
      const invalid = await kubectl.run(['create', '-f', '-'], podYaml('nginx:1.27').replace('name: web\n', 'name: Web_Bad\n'));
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain('metadata.name: Invalid value: "Web_Bad"');
      expect((await kubectl.run(['get', 'pods', 'web-typo'])).code).toBe(1);
    });

    it('describes a pod', async () => {
      const out = await ok(['describe', 'pod', 'web']);
      expect(out).toMatch(/^Name:\s+web$/m);
      expect(out).toMatch(/^Node:\s+edge-1/m);
      expect(out).toMatch(/Image:\s+nginx:1\.27/);
    });

    it('labels, annotates and patches a pod', async () => {
      expect(await ok(['label', 'pod', 'web', 'stage=beta'])).toContain('pod/web labeled');
      // kubectl before 1.28 prints "annotate", later ones "annotated".
      expect(await ok(['annotate', 'pod', 'web', 'owner=ops'])).toMatch(/^pod\/web annotated?$/m);
      const labels = JSON.parse(await ok(['get', 'pod', 'web', '-o', 'jsonpath={.metadata.labels}'])) as Record<string, string>;
      expect(labels).toEqual({ app: 'web', tier: 'front', stage: 'beta' });
      expect(await ok(['label', 'pod', 'web', 'stage-'])).toContain('pod/web unlabeled');
      await ok(['patch', 'pod', 'web', '-p', '{"spec":{"containers":[{"name":"app","image":"nginx:1.28"}]}}']);
      expect(await ok(['get', 'pod', 'web', '-o', 'jsonpath={.spec.containers[0].image} {.spec.containers[0].ports[0].containerPort}'])).toBe('nginx:1.28 8080');
      await ok(['patch', 'pod', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/containers/0/image","value":"nginx:1.29"}]']);
      await ok(['patch', 'pod', 'web', '--type=merge', '-p', '{"metadata":{"annotations":{"owner":null}}}']);
      expect(await ok(['get', 'pod', 'web', '-o', 'jsonpath={.spec.containers[0].image}|{.metadata.annotations}'])).toBe('nginx:1.29|');
      const forbidden = await kubectl.run(['patch', 'pod', 'web', '-p', '{"spec":{"restartPolicy":"Never"}}']);
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toContain('Forbidden: pod updates may not change fields other than');
    });

    it('applies a deployment, re-applies a change, scales it, and applies server-side', async () => {
      expect(await ok(['apply', '-f', '-'], deploymentYaml(2, 'api:1.0'))).toContain('deployment.apps/api created');
      expect(await ok(['apply', '-f', '-'], deploymentYaml(2, 'api:1.0'))).toContain('deployment.apps/api unchanged');
      expect(await ok(['apply', '-f', '-'], deploymentYaml(3, 'api:1.1'))).toContain('deployment.apps/api configured');
      const spec = JSON.parse(await ok(['get', 'deploy', 'api', '-o', 'json'])) as { metadata: { generation: number }; spec: { replicas: number; template: { spec: { containers: { name: string; image: string; env?: unknown[] }[] } } } };
      expect(spec.spec.replicas).toBe(3);
      expect(spec.metadata.generation).toBe(2);
      expect(spec.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['api=api:1.1', 'sidecar=busybox:1.36']);
      expect(spec.spec.template.spec.containers[0]?.env).toEqual([{ name: 'MODE', value: 'edge' }]);
      expect(await ok(['get', 'deployments'])).toMatch(/^api\s+0\/3\s+0\s+0\s+\d+s$/m);
      expect(await ok(['scale', 'deployment', 'api', '--replicas=5'])).toContain('deployment.apps/api scaled');
      expect(await ok(['get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
      expect(await ok(['apply', '--server-side', '--field-manager=ops', '-f', '-'], deploymentYaml(5, 'api:1.1').replace('name: api\n  labels', 'name: api-ssa\n  labels'))).toContain('deployment.apps/api-ssa serverside-applied');
      const conflict = await kubectl.run(['apply', '--server-side', '--field-manager=other', '-f', '-'], deploymentYaml(7, 'api:1.1').replace('name: api\n  labels', 'name: api-ssa\n  labels'));
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toMatch(/conflict with "ops"/);
      expect(await ok(['apply', '--server-side', '--force-conflicts', '--field-manager=other', '-f', '-'], deploymentYaml(7, 'api:1.1').replace('name: api\n  labels', 'name: api-ssa\n  labels'))).toContain('serverside-applied');
      expect(await ok(['get', 'deploy', 'api-ssa', '-o', 'jsonpath={.spec.replicas}'])).toBe('7');
    });

    it('keeps config maps and secrets, hiding nothing kubectl shows', async () => {
      expect(await ok(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: edge, level: "3"}\n')).toContain('configmap/settings created');
      expect(await ok(['get', 'configmaps', 'settings'])).toMatch(/^settings\s+2\s+\d+s$/m);
      expect(await ok(['create', '-f', '-'], 'apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: s3cret}\n')).toContain('secret/creds created');
      expect(await ok(['get', 'secret', 'creds'])).toMatch(/^creds\s+Opaque\s+1\s+\d+s$/m);
      expect(await ok(['get', 'secret', 'creds', '-o', 'jsonpath={.data.password}'])).toBe(Buffer.from('s3cret').toString('base64'));
    });

    it("creates objects with kubectl's generators (protobuf bodies from kubectl 1.30 on)", async () => {
      expect(await ok(['create', 'configmap', 'flags', '--from-literal=mode=edge', '--from-literal=note=a b'])).toContain('configmap/flags created');
      expect(JSON.parse(await ok(['get', 'configmap', 'flags', '-o', 'jsonpath={.data}']))).toEqual({ mode: 'edge', note: 'a b' });
      expect(await ok(['create', 'secret', 'generic', 'token', '--from-literal=key=s3cret'])).toContain('secret/token created');
      expect(await ok(['get', 'secret', 'token', '-o', 'jsonpath={.data.key}'])).toBe(Buffer.from('s3cret').toString('base64'));
      expect(await ok(['create', 'namespace', 'edge-apps'])).toContain('namespace/edge-apps created');
      expect(await ok(['create', 'deployment', 'gen', '--image=nginx:1.27', '--replicas=0', '--port=80', '-n', 'edge-apps'])).toContain('deployment.apps/gen created');
      const gen = JSON.parse(await ok(['get', 'deployment', 'gen', '-n', 'edge-apps', '-o', 'json'])) as { spec: { replicas: number; strategy: { type: string }; selector: unknown; template: { spec: { containers: { name: string; image: string; ports: unknown[] }[] } } } };
      expect(gen.spec.replicas).toBe(0);
      expect(gen.spec.strategy.type).toBe('RollingUpdate');
      expect(gen.spec.selector).toEqual({ matchLabels: { app: 'gen' } });
      expect(gen.spec.template.spec.containers).toEqual([expect.objectContaining({ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] })]);
    });

    it('creates leases', async () => {
      const lease = 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: edge-1, namespace: kube-node-lease}\nspec: {holderIdentity: edge-1, leaseDurationSeconds: 40}\n';
      expect(await ok(['apply', '-f', '-'], lease)).toContain('lease.coordination.k8s.io/edge-1 created');
      expect(await ok(['get', 'leases', '-n', 'kube-node-lease'])).toMatch(/^edge-1\s+edge-1\s+\d+s$/m);
    });

    it('serves a new CRD and its objects, with printer columns and validation', async () => {
      expect(await ok(['apply', '-f', '-'], widgetCrdYaml)).toContain('customresourcedefinition.apiextensions.k8s.io/widgets.example.com created');
      expect(await ok(['get', 'crd'])).toMatch(/^widgets\.example\.com\s+\d{4}-/m);
      expect(await ok(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, color: red}\n')).toContain('widget.example.com/w1 created');
      expect(await ok(['get', 'widgets'])).toMatch(/^NAME\s+SIZE\s+AGE\n^w1\s+3\s+\d+s$/m);
      expect(await ok(['get', 'wd', 'w1', '-o', 'jsonpath={.spec.color}'])).toBe('red');
      const bad = await kubectl.run(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0}\n');
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('spec.size');
    });

    it('manages KubeEdge devices', async () => {
      expect(await ok(['apply', '-f', '-'], 'apiVersion: devices.kubeedge.io/v1beta1\nkind: DeviceModel\nmetadata: {name: thermostat-model}\nspec:\n  properties:\n  - {name: temperature, type: INT, accessMode: ReadWrite}\n')).toContain('devicemodel.devices.kubeedge.io/thermostat-model created');
      expect(await ok(['apply', '-f', '-'], deviceYaml)).toContain('device.devices.kubeedge.io/thermostat created');
      expect(await ok(['get', 'devices'])).toMatch(/^thermostat\s/m);
      expect(await ok(['get', 'device', 'thermostat', '-o', 'jsonpath={.spec.properties[0].desired.value}'])).toBe('21');
    });

    it('watches pods change until they are deleted', async () => {
      const watch = kubectl.start(['get', 'pods', '-w']);
      await watch.waitFor((out) => /^web\s/m.test(out));
      await ok(['label', 'pod', 'web', 'watched=yes']);
      await watch.waitFor((out) => (out.match(/^web\s/gm) ?? []).length >= 2);
      // A pod on a node is deleted gracefully: Terminating until its node confirms with grace 0.
      expect(await ok(['delete', 'pod', 'web', '--wait=false'])).toContain('pod "web" deleted');
      await watch.waitFor((out) => /^web\s+\S+\s+Terminating/m.test(out));
      const confirmed = await kubectl.run(['delete', 'pod', 'web', '--grace-period=0', '--force']);
      expect(confirmed.code).toBe(0);
      watch.stop();
      expect((await kubectl.run(['get', 'pod', 'web'])).stderr).toContain('pods "web" not found');
    });

    it('explains resources from the served OpenAPI', async () => {
      const out = await ok(['explain', 'pod.spec.containers.image']);
      expect(out).toMatch(/Container image name/);
    });

    it('deletes what it made, and says so when nothing is there', async () => {
      expect(await ok(['delete', 'deployment', 'api'])).toContain('deployment.apps "api" deleted');
      expect(await ok(['delete', 'configmap', 'settings'])).toContain('configmap "settings" deleted');
      const missing = await kubectl.run(['delete', 'pod', 'nope']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('Error from server (NotFound): pods "nope" not found');
    });
  });
}
