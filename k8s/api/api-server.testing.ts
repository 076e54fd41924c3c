// Test fixture for specs that talk to the embedded API server over its real HTTPS socket: start it
// on a temp data dir and a free port, read its kubeconfig the way clients do, send raw requests
// with the cluster CA and the bearer token, and wait on conditions with a deadline.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { startEmbeddedApiServer, type EmbeddedApiServer, type EmbeddedApiServerOptions } from '../embedded-api-server.js';

/** How long a condition may take before the spec fails, unless a spec says otherwise. */
export const conditionTimeoutMsDefault = 10_000;
const conditionPollMs = 10;
/** A server that takes longer than this to close is reported rather than left to the hook timeout. */
const serverCloseTimeoutMs = 10_000;

/** Temp data dirs and running servers, torn down together in `afterEach`. */
export class ApiServerFixture {
  readonly #dirs: string[] = [];
  readonly #servers = new Set<EmbeddedApiServer>();

  /** A fresh temp dir (removed on teardown) to be a server's data dir. */
  dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'edgehive-apiserver-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** Starts a server (on a new data dir unless one is given) and fails the spec if it cannot. */
  async start(options: Partial<EmbeddedApiServerOptions> = {}): Promise<EmbeddedApiServer> {
    const started = await startEmbeddedApiServer({ ...options, dataDir: options.dataDir ?? this.dataDir() });
    if (!started.ok) throw new Error(`expected the embedded API server to start, got: ${started.error}`);
    this.#servers.add(started.value);
    return started.value;
  }

  /** Closes one server now (the rest close on teardown); a close that hangs fails the spec. */
  async stop(server: EmbeddedApiServer): Promise<void> {
    if (!this.#servers.delete(server)) return;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await waitFor(`server.close() of ${server.url} to finish`, () => (closed ? true : undefined), serverCloseTimeoutMs);
    await closing;
  }

  /** Closes every server and removes every dir, then reports the first close that failed. */
  async teardown(): Promise<void> {
    const failures: unknown[] = [];
    for (const server of [...this.#servers]) await this.stop(server).catch((error: unknown) => failures.push(error));
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) throw failures[0];
  }
}

/** A client-node KubeConfig read from the server's kubeconfig file, as an operator would load it. */
export function kubeConfigOf(server: EmbeddedApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return kc;
}

/** The cluster CA as PEM, from the kubeconfig's certificate-authority-data. */
export function caPemOf(server: EmbeddedApiServer): string {
  const doc = parseYaml(readFileSync(server.kubeconfigPath, 'utf8')) as { clusters: { cluster: { 'certificate-authority-data': string } }[] };
  const data = doc.clusters[0]?.cluster['certificate-authority-data'];
  if (data === undefined) throw new Error(`no certificate-authority-data in ${server.kubeconfigPath}`);
  return Buffer.from(data, 'base64').toString('utf8');
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** The bearer token to send; undefined sends the server's own, null sends no Authorization header. */
  readonly token?: string | null;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** One request on its own TLS connection (no keep-alive), trusting only the cluster CA. */
export function sendRaw(server: EmbeddedApiServer, request: RawRequest): Promise<RawResponse> {
  const ca = caPemOf(server);
  const url = new URL(request.path, server.url);
  const token = request.token === undefined ? server.token : request.token;
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token !== null) headers['Authorization'] = `Bearer ${token}`;
  if (body !== undefined) {
    headers['Content-Type'] = request.contentType ?? 'application/json';
    headers['Content-Length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: request.method, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An open streaming GET (a watch): resolves once the headers are in; `close()` hangs up. */
export interface OpenStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Text received so far. */
  text(): string;
  /** The whole body once the server has ended the response; undefined while it is open. */
  endedBody(): string | undefined;
  close(): void;
}

export function openStream(server: EmbeddedApiServer, path: string): Promise<OpenStream> {
  const ca = caPemOf(server);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, server.url), { method: 'GET', headers: { Accept: 'application/json', Authorization: `Bearer ${server.token}` }, ca, agent: false }, (res) => {
      let received = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        received += chunk;
      });
      res.on('end', () => {
        ended = true;
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: () => received, endedBody: () => (ended ? received : undefined), close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Parses a response body as JSON, failing the spec with the text when it is not JSON. */
export function jsonOf(response: { readonly text: string }): Record<string, unknown> {
  try {
    return JSON.parse(response.text) as Record<string, unknown>;
  } catch {
    throw new Error(`expected a JSON body, got: ${response.text.slice(0, 500)}`);
  }
}

/**
 * Polls `probe` until it returns something other than undefined, or fails after `timeoutMs` naming
 * what was awaited; a condition with a deadline, never a fixed sleep.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = conditionTimeoutMsDefault): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, conditionPollMs));
  }
}
