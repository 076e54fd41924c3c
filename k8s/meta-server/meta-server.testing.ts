// Test fixture for MetaServer specs: start servers on free loopback ports and close them in
// `afterEach`, write the credential-free kubeconfig clients load, build the objects an edge feeds,
// and send raw plain-HTTP requests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../kernel/index.js';
import { startMetaServer, type MetaServer, type MetaServerOptions } from './meta-server.js';

/** Servers and temp dirs, torn down together. */
export class MetaServerFixture {
  readonly #dirs: string[] = [];
  readonly #servers = new Set<MetaServer>();

  dir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'edgehive-metaserver-'));
    this.#dirs.push(dir);
    return dir;
  }

  async start(options: MetaServerOptions = {}): Promise<MetaServer> {
    const started = await startMetaServer(options);
    if (!started.ok) throw new Error(`expected the MetaServer to start, got ${JSON.stringify(started.error)}`);
    this.#servers.add(started.value);
    return started.value;
  }

  async stop(server: MetaServer): Promise<void> {
    if (this.#servers.delete(server)) await server.close();
  }

  async teardown(): Promise<void> {
    for (const server of [...this.#servers]) await this.stop(server);
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A kubeconfig for `url` without credentials, as a local app would use. client-node needs
 * `insecure-skip-tls-verify` to accept an http:// server at all.
 */
export function writeMetaKubeconfig(path: string, url: string): string {
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: edge-local',
      `  cluster: {server: "${url}", insecure-skip-tls-verify: true}`,
      'users:',
      '- name: anonymous',
      '  user: {}',
      'contexts:',
      '- name: edge-local',
      '  context: {cluster: edge-local, user: anonymous}',
      'current-context: edge-local',
      '',
    ].join('\n'),
  );
  return path;
}

const createdAt = '2026-01-01T00:00:00Z';

/** A pod bound to `node`; `phase: 'Running'` fills the status the edge computes (one ready container). */
export function podObject(namespace: string, name: string, uid: string, options: { readonly node?: string; readonly phase?: 'Running' } = {}): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid, resourceVersion: '4711', creationTimestamp: createdAt, labels: { app: name } },
    spec: { nodeName: options.node ?? 'edge-1', containers: [{ name: 'app', image: 'app:1', command: ['/bin/sh', '-c', 'sleep 3600'] }] },
    ...(options.phase === undefined
      ? {}
      : { status: { phase: options.phase, hostIP: '127.0.0.1', podIP: '127.0.0.1', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'app:1', imageID: '', state: { running: { startedAt: createdAt } } }] } }),
  };
}

export function configMapObject(namespace: string, name: string, data: Record<string, string>): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, uid: `cm-${name}`, resourceVersion: '12', creationTimestamp: createdAt }, data };
}

export function secretObject(namespace: string, name: string, data: Record<string, string>): JsonObject {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace, uid: `secret-${name}`, resourceVersion: '13', creationTimestamp: createdAt }, data };
}

export function serviceObject(namespace: string, name: string): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: `svc-${name}`, resourceVersion: '14', creationTimestamp: createdAt },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  };
}

export interface PlainResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** One plain-HTTP request on its own connection. */
export function sendPlain(server: MetaServer, request: { readonly method: string; readonly path: string; readonly body?: string; readonly contentType?: string; readonly headers?: Record<string, string> }): Promise<PlainResponse> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(request.headers ?? {}) };
  if (request.body !== undefined) {
    headers['Content-Type'] = request.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(request.body));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(request.path, server.url), { method: request.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request.body);
  });
}
