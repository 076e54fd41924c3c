// Method: render and write kubeconfigs into a temp folder, then point real clients at a fake HTTPS API
// server (random port on 127.0.0.1) that serves the PKI's certificate: kubectl 1.32 and 1.27 as child
// processes (Go's strict TLS, no insecure flag) and @kubernetes/client-node in-process.
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ClusterPki, ensureClusterPki, generateToken } from './cluster-pki.js';
import { FAKE_VERSION, startFakeApiServer, type FakeApiServer } from './fake-apiserver.fixture.js';
import { ChildProcesses, requireKubectl } from './kubectl.fixture.js';
import { renderKubeconfig, writeKubeconfig, type KubeconfigOptions } from './kubeconfig.js';

const UNAUTHORIZED = 'error: You must be logged in to the server (Unauthorized)';

let dir: string;
let server: FakeApiServer | undefined;
const children = new ChildProcesses();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgehive-kubeconfig-'));
});

afterEach(async () => {
  children.killAll();
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function pkiIn(folder: string): Promise<ClusterPki> {
  const result = await ensureClusterPki(folder, { hosts: ['127.0.0.1', 'localhost'] });
  if (!result.ok) throw new Error(`expected a PKI, got ${result.error.kind}: ${result.error.message}`);
  return result.value;
}

async function writeOrFail(path: string, options: KubeconfigOptions): Promise<void> {
  const written = await writeKubeconfig(path, options);
  if (!written.ok) throw new Error(written.error.message);
}

describe('renderKubeconfig', () => {
  it('names one cluster, user and context, with the CA as base64 and the token', async () => {
    const pki = await pkiIn(join(dir, 'pki'));
    const yaml = renderKubeconfig({ server: 'https://127.0.0.1:6443', caPem: pki.caPem, token: 'abc' });
    expect(parse(yaml)).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [
        {
          name: 'edgehive',
          cluster: {
            server: 'https://127.0.0.1:6443',
            'certificate-authority-data': Buffer.from(pki.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'edgehive-admin', user: { token: 'abc' } }],
      contexts: [
        { name: 'edgehive', context: { cluster: 'edgehive', user: 'edgehive-admin', namespace: 'default' } },
      ],
      'current-context': 'edgehive',
    });
  });

  it('marks a plain http server insecure-skip-tls-verify, which client-node insists on', () => {
    const doc = parse(renderKubeconfig({ server: 'http://127.0.0.1:8080', token: 't', clusterName: 'lab' }));
    expect(doc.clusters).toEqual([
      { name: 'lab', cluster: { server: 'http://127.0.0.1:8080', 'insecure-skip-tls-verify': true } },
    ]);
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig({ server: 'http://127.0.0.1:8080', token: 't' }));
    expect(() => kc.makeApiClient(CoreV1Api)).not.toThrow();
  });

  it('takes explicit names and namespace', () => {
    const yaml = renderKubeconfig({
      server: 'https://10.0.0.1:6443',
      insecureSkipTlsVerify: true,
      token: 't',
      clusterName: 'c',
      userName: 'u',
      contextName: 'x',
      namespace: 'edge',
    });
    const doc = parse(yaml);
    expect(doc['current-context']).toBe('x');
    expect(doc.contexts).toEqual([{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'edge' } }]);
    expect(doc.clusters[0].cluster['insecure-skip-tls-verify']).toBe(true);
  });

  it('treats a CA together with insecure-skip-tls-verify as a bug, as kubectl refuses it', async () => {
    const pki = await pkiIn(join(dir, 'pki'));
    expect(() =>
      renderKubeconfig({ server: 'https://127.0.0.1:1', caPem: pki.caPem, insecureSkipTlsVerify: true, token: 't' }),
    ).toThrow(/exclusive/);
    expect(() => renderKubeconfig({ server: 'ftp://x', token: 't' })).toThrow(/http/);
  });
});

describe('writeKubeconfig', () => {
  it('writes mode 0600 through a rename, replacing a looser existing file and leaving no temp file', async () => {
    const path = join(dir, 'config');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeOrFail(path, { server: 'https://127.0.0.1:6443', insecureSkipTlsVerify: true, token: 'secret' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['config']);
    expect(parse(await readFile(path, 'utf8')).users[0].user.token).toBe('secret');
  });

  it('returns WriteFailed, naming the path, when the folder does not exist', async () => {
    const path = join(dir, 'missing', 'config');
    const written = await writeKubeconfig(path, { server: 'https://127.0.0.1:1', token: 't' });
    expect(written).toMatchObject({ ok: false, error: { kind: 'WriteFailed', path } });
    expect(written.ok ? '' : written.error.message).toContain(path);
  });
});

describe('real clients against a server with the issued certificate', () => {
  let pki: ClusterPki;
  let token: string;
  let kubeconfig: string;
  let api: FakeApiServer;

  beforeEach(async () => {
    pki = await pkiIn(join(dir, 'pki'));
    token = generateToken();
    api = await startFakeApiServer({ certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, token });
    server = api;
    kubeconfig = join(dir, 'kubeconfig');
  });

  function kubectl(minor: string, ...args: string[]): ReturnType<ChildProcesses['run']> {
    const binary = requireKubectl(minor);
    const cache = join(dir, `cache-${minor}`);
    return children.run(binary, ['--kubeconfig', kubeconfig, '--cache-dir', cache, '--request-timeout', '10s', ...args], {
      home: dir,
    });
  }

  describe.each(['1.32', '1.27'])('kubectl.%s', (minor) => {
    it('accepts the server with the CA from the kubeconfig and sends the token', async () => {
      await writeOrFail(kubeconfig, { server: api.url, caPem: pki.caPem, token });
      const version = await kubectl(minor, 'get', '--raw', '/version');
      expect(version.stderr).toBe('');
      expect(version.code).toBe(0);
      expect(JSON.parse(version.stdout)).toMatchObject(FAKE_VERSION);
      expect(api.requests).toContainEqual({ method: 'GET', path: '/version', authorization: `Bearer ${token}` });

      const namespaces = await kubectl(minor, 'get', '--raw', '/api/v1/namespaces');
      expect(namespaces.code).toBe(0);
      expect(JSON.parse(namespaces.stdout)).toMatchObject({ kind: 'NamespaceList', items: [{ metadata: { name: 'default' } }] });
    });

    it('refuses the server when the kubeconfig carries a different CA', async () => {
      const other = await pkiIn(join(dir, 'other-pki'));
      await writeOrFail(kubeconfig, { server: api.url, caPem: other.caPem, token });
      const version = await kubectl(minor, 'get', '--raw', '/version');
      expect(version.code).not.toBe(0);
      expect(version.stderr).toMatch(/x509: certificate signed by unknown authority/);
      expect(api.requests).toEqual([]);
    });

    it('reports Unauthorized for a wrong token', async () => {
      await writeOrFail(kubeconfig, { server: api.url, caPem: pki.caPem, token: generateToken() });
      const version = await kubectl(minor, 'get', '--raw', '/version');
      expect(version.code).not.toBe(0);
      expect(version.stderr).toContain(UNAUTHORIZED);
    });
  });

  it('client-node loads the written kubeconfig and lists namespaces over verified TLS', async () => {
    await writeOrFail(kubeconfig, { server: api.url, caPem: pki.caPem, token });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((namespace) => namespace.metadata?.name)).toEqual(['default']);
    expect(api.requests.at(-1)).toEqual({ method: 'GET', path: '/api/v1/namespaces', authorization: `Bearer ${token}` });
  });

  it('client-node refuses the server under a different CA', async () => {
    const other = await pkiIn(join(dir, 'other-pki'));
    await writeOrFail(kubeconfig, { server: api.url, caPem: other.caPem, token });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    await expect(kc.makeApiClient(CoreV1Api).listNamespace()).rejects.toThrow(/certificate/i);
  });

  it('answers a request without a token with a 401 Status', async () => {
    const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const outgoing = request(`${api.url}/api/v1/namespaces`, { ca: pki.caPem }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    expect(new X509Certificate(pki.serverCertPem).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });
});
