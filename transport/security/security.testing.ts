// A cloud for specs: a real PKI in a temp folder, a file token store, the bootstrap HTTPS server
// and the mTLS stream server on 127.0.0.1 with free ports, and queues of what they saw, so specs
// await events (a connection, a refusal) instead of sleeping.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { type ClusterPki, ensureClusterPki } from '../../k8s/index.js';
import { type JoinTokenAuthority, joinTokenAuthority } from './join-token.js';
import { fileJoinTokenStore, joinTokensPath } from './join-token-store.fs.js';
import { type BootstrapAuditEntry, type BootstrapServer, createNodeBootstrapHandler, startNodeBootstrapServer } from './node-bootstrap.js';
import { loadNodeCertificateSigner } from './node-certificate.signer.js';
import { type MtlsStreamServer, type StreamConnectionInfo, type StreamRefusal, startMtlsStreamServer } from './mtls-server.js';

/** An admitted stream connection as the server saw it. */
export interface SeenConnection {
  readonly nodeName: string;
  readonly socket: WebSocket;
  readonly info: StreamConnectionInfo;
}

/** Values pushed by callbacks, taken by specs in order; `next()` waits for one not yet taken. */
export class Arrivals<T> {
  readonly all: T[] = [];
  #taken = 0;
  #waiters: Array<(value: T) => void> = [];
  #watchers: Array<{ count: number; resolve: () => void }> = [];
  push(value: T): void {
    this.all.push(value);
    for (const watcher of this.#watchers.filter((candidate) => this.all.length >= candidate.count)) watcher.resolve();
    this.#watchers = this.#watchers.filter((candidate) => this.all.length < candidate.count);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#taken += 1;
      waiter(value);
    }
  }
  /** Resolves once `count` values have arrived in all, without taking any of them. */
  whenCount(count: number): Promise<void> {
    if (this.all.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ count, resolve }));
  }
  next(): Promise<T> {
    const ready = this.all[this.#taken];
    if (ready !== undefined) {
      this.#taken += 1;
      return Promise.resolve(ready);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export interface TestCloud {
  readonly dir: string;
  readonly pki: ClusterPki;
  readonly tokens: JoinTokenAuthority;
  readonly bootstrap: BootstrapServer;
  readonly stream: MtlsStreamServer;
  readonly audit: BootstrapAuditEntry[];
  readonly connections: Arrivals<SeenConnection>;
  readonly refusals: Arrivals<StreamRefusal>;
  /** A token valid for an hour from now. */
  createToken(options?: { nowMs?: number; ttlMs?: number }): Promise<string>;
  close(): Promise<void>;
}

function expectOk<T, E>(result: { ok: true; value: T } | { ok: false; error: E }, what: string): T {
  if (!result.ok) throw new Error(`${what} failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

/** Starts a cloud in a fresh temp folder; `close` stops both servers and removes the folder. */
export async function startTestCloud(options: { connectionsMax?: number } = {}): Promise<TestCloud> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-security-'));
  const pki = expectOk(await ensureClusterPki(join(dir, 'pki'), { hosts: ['127.0.0.1', 'localhost'] }), 'PKI');
  const tokens = joinTokenAuthority({ store: fileJoinTokenStore(joinTokensPath(dir)), caCertPem: pki.caPem });
  const signer = expectOk(await loadNodeCertificateSigner({ caPem: pki.caPem, caKeyPath: pki.caKeyPath }), 'signer');
  const audit: BootstrapAuditEntry[] = [];
  const handler = createNodeBootstrapHandler({ tokens, signer, audit: (entry) => audit.push(entry) });
  const bootstrap = expectOk(
    await startNodeBootstrapServer({ host: '127.0.0.1', port: 0, servingCertPem: pki.serverCertPem, servingKeyPem: pki.serverKeyPem, caPem: pki.caPem, handler }),
    'bootstrap server',
  );
  const connections = new Arrivals<SeenConnection>();
  const refusals = new Arrivals<StreamRefusal>();
  const stream = expectOk(
    await startMtlsStreamServer({
      host: '127.0.0.1',
      port: 0,
      tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      ...(options.connectionsMax === undefined ? {} : { connectionsMax: options.connectionsMax }),
      onConnection: (nodeName, socket, info) => connections.push({ nodeName, socket, info }),
      onRefused: (refusal) => refusals.push(refusal),
    }),
    'stream server',
  );
  return {
    dir,
    pki,
    tokens,
    bootstrap,
    stream,
    audit,
    connections,
    refusals,
    createToken: async (request = {}) =>
      expectOk(await tokens.createJoinToken({ nowMs: request.nowMs ?? Date.now(), ttlMs: request.ttlMs ?? 60 * 60 * 1000 }), 'token').token,
    close: async () => {
      await Promise.all([bootstrap.close(), stream.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the close code and reason of a client socket. */
export async function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
  return { code, reason: reason.toString('utf8') };
}

/** Resolves with the next text message on a socket, parsed as JSON. */
export async function nextMessage(socket: WebSocket): Promise<unknown> {
  const [data] = (await once(socket, 'message')) as [Buffer];
  return JSON.parse(data.toString('utf8')) as unknown;
}

export { expectOk };
