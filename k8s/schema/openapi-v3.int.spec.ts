// Proves the OpenAPI documents against the real kubectl binaries. Method: a tiny node:http server on a
// random loopback port serves /version, legacy discovery, the OpenAPI endpoints through openApiResponder
// (/openapi/v3 index and per-group-version documents from openapi-v3.ts, /openapi/v2 protobuf from
// openapi-v2.ts) and just enough of a pods endpoint for `kubectl apply`; each test runs kubectl with a fresh --cache-dir, records what
// kubectl requested, and asserts what it printed (upstream field descriptions) and sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../kernel/index.js';
import type { ExtensionsOf, GroupVersion, ResourceInfo } from './openapi-v3.js';
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE, OPENAPI_V2_PROTOBUF_RESPONSE_CONTENT_TYPE } from './openapi-v2.js';
import { openApiResponder } from './openapi.responder.js';

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly accept: string;
  readonly contentType: string;
  readonly body: string;
}

interface KubectlRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const pods: ResourceInfo = { plural: 'pods', kind: 'Pod', namespaced: true, subresources: ['status'] };
const deployments: ResourceInfo = { plural: 'deployments', kind: 'Deployment', namespaced: true, subresources: ['status'] };
const devices: ResourceInfo = { plural: 'devices', kind: 'Device', namespaced: true, subresources: ['status'] };
const deviceSchema: JsonObject = {
  description: 'Device is the Schema for the devices API',
  type: 'object',
  properties: {
    spec: {
      description: 'DeviceSpec represents a single device instance.',
      type: 'object',
      properties: { protocol: { description: 'Protocol is the protocol the device speaks, e.g. modbus.', type: 'string' }, pollIntervalSeconds: { type: 'integer', minimum: 1 } },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

// The patch room supplies patch strategies in production; this stands in for it, for containers only.
const containersMergeByName: ExtensionsOf = (typeName, field) =>
  typeName === 'V1PodSpec' && field === 'containers' ? { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': 'name' } : undefined;

const core: GroupVersion = { group: '', version: 'v1' };
const apps: GroupVersion = { group: 'apps', version: 'v1' };
const kubeedge: GroupVersion = { group: 'devices.kubeedge.io', version: 'v1beta1' };
const keyOf = (gv: GroupVersion): string => `${gv.group}/${gv.version}`;
const respond = openApiResponder(
  [
    { ...core, resources: [pods] },
    { ...apps, resources: [deployments] },
    { ...kubeedge, resources: [devices], crdSchemas: new Map([['Device', deviceSchema]]) },
  ],
  { extensionsOf: containersMergeByName, kubernetesVersion: 'v1.32.4' },
);

const apiResource = (r: ResourceInfo): JsonObject => ({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] });
const groupEntry = (gv: GroupVersion): JsonObject => ({ name: gv.group, versions: [{ groupVersion: keyOf(gv), version: gv.version }], preferredVersion: { groupVersion: keyOf(gv), version: gv.version } });
const notFound = (name: string): JsonObject => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `pods "${name}" not found`, reason: 'NotFound', details: { name, kind: 'pods' }, code: 404 });

/** The legacy discovery and version endpoints kubectl needs to resolve `pod`, `deployment`, `device`. */
const DISCOVERY: ReadonlyMap<string, JsonObject> = new Map<string, JsonObject>([
  ['/version', { major: '1', minor: '32', gitVersion: 'v1.32.4' }],
  ['/api', { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] }],
  ['/apis', { kind: 'APIGroupList', apiVersion: 'v1', groups: [groupEntry(apps), groupEntry(kubeedge)] }],
  ['/api/v1', { kind: 'APIResourceList', groupVersion: 'v1', resources: [apiResource(pods)] }],
  ['/apis/apps/v1', { kind: 'APIResourceList', groupVersion: 'apps/v1', resources: [apiResource(deployments)] }],
  ['/apis/devices.kubeedge.io/v1beta1', { kind: 'APIResourceList', groupVersion: 'devices.kubeedge.io/v1beta1', resources: [apiResource(devices)] }],
]);

const requests: RecordedRequest[] = [];
const storedPods = new Map<string, JsonObject>();
let server: Server;
let workDir: string;
let kubeconfig: string;
const running = new Set<ChildProcess>();

const sendJson = (res: ServerResponse, code: number, body: JsonObject): void => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

// Just enough of a pods endpoint for apply: GET, create, and patches stored as sent (merged naively).
function servePod(req: IncomingMessage, res: ServerResponse, path: string, body: string): void {
  const name = path.split('/')[6] ?? '';
  const stored = storedPods.get(name);
  if (req.method === 'GET') return stored === undefined ? sendJson(res, 404, notFound(name)) : sendJson(res, 200, stored);
  const sent = JSON.parse(body) as JsonObject;
  const object = req.method === 'POST' ? sent : { ...(stored ?? {}), ...sent, kind: 'Pod', apiVersion: 'v1' };
  const named = { ...object, metadata: { ...(object['metadata'] as JsonObject), name: name === '' ? ((sent['metadata'] as JsonObject)['name'] ?? '') : name, namespace: 'default', uid: 'uid-1', resourceVersion: '1' } };
  storedPods.set(String(named.metadata.name), named);
  sendJson(res, req.method === 'POST' ? 201 : 200, named);
}

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  requests.push({ method: req.method ?? '', url: req.url ?? '', accept: req.headers.accept ?? '', contentType: req.headers['content-type'] ?? '', body });
  const discovery = DISCOVERY.get(path);
  const openApi = path.startsWith('/openapi/') ? respond(path, req.headers.accept ?? '') : undefined;
  if (discovery !== undefined) sendJson(res, 200, discovery);
  else if (openApi !== undefined) {
    res.writeHead(200, { 'content-type': openApi.contentType });
    res.end(openApi.body);
  } else if (path.startsWith('/api/v1/namespaces/default/pods')) servePod(req, res, path, body);
  else sendJson(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
}

/** The directory of the real kubectl binaries (`kubectl.1.27` … `kubectl.1.33`), next to the dispatcher on PATH. */
function kubectlDirectory(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'kubectl');
    if (dir !== '' && existsSync(candidate)) return dirname(realpathSync(candidate));
  }
  throw new Error('kubectl is not on the PATH');
}

function runKubectl(version: '1.27' | '1.32', args: readonly string[]): Promise<KubectlRun> {
  const cacheDir = mkdtempSync(join(workDir, 'cache-'));
  const binary = join(kubectlDirectory(), `kubectl.${version}`);
  const child = spawn(binary, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '--request-timeout', '20s', ...args], { env: { ...process.env, HOME: workDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const out: Buffer[] = [];
  const errOut: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => errOut.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') });
    });
  });
}

/** A recorded request's path and query parameters (kubectl adds `timeout` from --request-timeout). */
const parsed = (request: RecordedRequest | undefined): { path: string; query: Record<string, string> } => {
  const url = new URL(request?.url ?? '/', 'http://127.0.0.1');
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) };
};

const fetchedPaths = (): string[] => requests.map((r) => r.url.split('?')[0] ?? '').filter((p) => p.startsWith('/openapi'));

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'edgehive-openapi-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => route(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  kubeconfig = join(workDir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: edgehive\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: tester\n  user:\n    token: test-token',
      'contexts:',
      '- name: edgehive\n  context:\n    cluster: edgehive\n    user: tester\n    namespace: default',
      'current-context: edgehive',
      '',
    ].join('\n'),
  );
});

afterEach(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
  requests.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  rmSync(workDir, { recursive: true, force: true });
});

describe('kubectl 1.32 explain, from /openapi/v3', () => {
  it('explain pod prints the Pod description and its fields, having fetched only the v3 index and the core/v1 document', async () => {
    const run = await runKubectl('1.32', ['explain', 'pod']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/KIND:\s+Pod\nVERSION:\s+v1/);
    expect(run.stdout).toContain('Pod is a collection of containers that can run on a host. This resource is\n    created by clients and scheduled onto hosts.');
    expect(run.stdout).toContain('spec\t<PodSpec>\n    Specification of the desired behavior of the pod.');
    expect(run.stdout).toContain('metadata\t<ObjectMeta>\n    Standard object\'s metadata.');
    expect(fetchedPaths()).toEqual(['/openapi/v3', '/openapi/v3/api/v1']);
    expect(requests.find((r) => r.url.startsWith('/openapi/v3/api/v1'))?.url).toMatch(/\?hash=[0-9A-F]{128}&timeout=/);
  });

  it('explain pod.spec.containers.image prints the field type and its upstream description', async () => {
    const run = await runKubectl('1.32', ['explain', 'pod.spec.containers.image']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('FIELD: image <string>');
    expect(run.stdout).toContain('Container image name. More info:\n    https://kubernetes.io/docs/concepts/containers/images This field is optional');
  });

  it('explain pod.spec.containers marks required fields and keeps descriptions client-node lacks', async () => {
    const run = await runKubectl('1.32', ['explain', 'pod.spec.containers']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('FIELD: containers <[]Container>');
    expect(run.stdout).toContain('name\t<string> -required-\n    Name of the container specified as a DNS_LABEL.');
    expect(run.stdout).toContain('lifecycle\t<Lifecycle>\n    Actions that the management system should take in response to container\n    lifecycle events.');
  });

  it('explain of an IntOrString field names the type and the field\'s own description', async () => {
    const run = await runKubectl('1.32', ['explain', 'pod.spec.containers.livenessProbe.httpGet.port']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('FIELD: port <IntOrString>');
    expect(run.stdout).toContain('Name or number of the port to access on the container.');
  });

  it('explain deployment.spec.replicas resolves the apps group and prints the field', async () => {
    const run = await runKubectl('1.32', ['explain', 'deployment.spec.replicas']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1/);
    expect(run.stdout).toContain('FIELD: replicas <integer>');
    expect(run.stdout).toContain('Number of desired pods. This is a pointer to distinguish between explicit\n    zero and not specified. Defaults to 1.');
    expect(fetchedPaths()).toEqual(['/openapi/v3', '/openapi/v3/apis/apps/v1']);
  });

  it('explain deployment.spec lists the spec fields with required ones marked', async () => {
    const run = await runKubectl('1.32', ['explain', 'deployment.spec']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('selector\t<LabelSelector> -required-');
    expect(run.stdout).toContain('template\t<PodTemplateSpec> -required-');
  });

  it('explain of a custom resource prints its CRD schema, with metadata as ObjectMeta', async () => {
    const run = await runKubectl('1.32', ['explain', 'devices']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/GROUP:\s+devices\.kubeedge\.io\nKIND:\s+Device\nVERSION:\s+v1beta1/);
    expect(run.stdout).toContain('Device is the Schema for the devices API');
    expect(run.stdout).toContain('metadata\t<ObjectMeta>');
    const spec = await runKubectl('1.32', ['explain', 'devices.spec.protocol']);
    expect(spec.stdout).toContain('Protocol is the protocol the device speaks, e.g. modbus.');
  });
});

describe('kubectl 1.27 explain, which fetches /openapi/v2 (protobuf) before /openapi/v3', () => {
  it('explain pod fetches the protobuf v2 document, then v3, and prints the Pod description', async () => {
    const run = await runKubectl('1.27', ['explain', 'pod']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Pod is a collection of containers that can run on a host.');
    expect(run.stdout).toContain('spec\t<PodSpec>\n    Specification of the desired behavior of the pod.');
    expect(fetchedPaths()).toEqual(['/openapi/v2', '/openapi/v3', '/openapi/v3/api/v1']);
    expect(requests.find((r) => r.url.startsWith('/openapi/v2'))?.accept).toBe(OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
    // …and it accepted the protobuf under the content type kube-apiserver answers with.
    expect(respond('/openapi/v2', OPENAPI_V2_PROTOBUF_CONTENT_TYPE)?.contentType).toBe(OPENAPI_V2_PROTOBUF_RESPONSE_CONTENT_TYPE);
  });

  it('explain --output plaintext-openapiv2 renders from the v2 document alone', async () => {
    const run = await runKubectl('1.27', ['explain', 'pod.spec.containers.image', '--output', 'plaintext-openapiv2']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/FIELD:\s+image <string>/);
    expect(run.stdout).toContain('Container image name. More info:');
    const deployment = await runKubectl('1.27', ['explain', 'deployment.spec.replicas', '--output', 'plaintext-openapiv2']);
    expect(deployment.stdout).toContain('Number of desired pods.');
    expect(fetchedPaths().every((p) => p === '/openapi/v2')).toBe(true);
  });
});

describe('kubectl 1.32 apply, which checks fieldValidation support in /openapi/v3', () => {
  const podManifest = (name: string, image: string): string => join(workDir, `${name}-${image.replace(/[^a-z0-9]/g, '')}.yaml`);
  const writeManifest = (name: string, image: string): string => {
    const file = podManifest(name, image);
    writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: nginx\n    image: ${image}\n`);
    return file;
  };

  it('client-side apply creates with fieldValidation=Strict, and a re-apply patches by the merge key the hook supplied', async () => {
    const created = await runKubectl('1.32', ['apply', '-f', writeManifest('web', 'nginx:1.27')]);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('pod/web created');
    expect(parsed(requests.find((r) => r.method === 'POST'))).toEqual({
      path: '/api/v1/namespaces/default/pods',
      query: { fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict', timeout: '20s' },
    });

    const configured = await runKubectl('1.32', ['apply', '-f', writeManifest('web', 'nginx:1.28')]);
    expect(configured.stderr).toBe('');
    expect(configured.stdout.trim()).toBe('pod/web configured');
    const patch = requests.find((r) => r.method === 'PATCH');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(JSON.parse(patch?.body ?? '{}')).toMatchObject({ spec: { '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ image: 'nginx:1.28', name: 'nginx' }] } });
    // The patch was computed from our v3 schema: kubectl never fell back to /openapi/v2.
    expect(fetchedPaths()).not.toContain('/openapi/v2');
  });

  it('server-side apply sends an apply patch with fieldValidation=Strict', async () => {
    const applied = await runKubectl('1.32', ['apply', '--server-side', '-f', writeManifest('web2', 'nginx:1.27')]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim()).toBe('pod/web2 serverside-applied');
    const patch = requests.find((r) => r.method === 'PATCH');
    expect(parsed(patch)).toEqual({ path: '/api/v1/namespaces/default/pods/web2', query: { fieldManager: 'kubectl', fieldValidation: 'Strict', force: 'false', timeout: '20s' } });
    expect(patch?.contentType).toBe('application/apply-patch+yaml');
  });
});
