// The server side of the memory-per-connection bench, in its own process so its memory is only the
// server's: `stream` starts a cloud (CloudHub behind the mTLS stream server, in-memory ports),
// `raw` a plain `ws` server on HTTPS with the same mTLS settings. The parent (bench/stream.bench.ts)
// talks to it over the IPC channel: it gets the listener's URL and the CA to sign client
// certificates with, asks for a measure before and after it opened its connections, then says stop.
// Run with --expose-gc so each measure follows a full collection.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { ensureClusterPki } from '../k8s/index.js';
import { startStreamCloud } from '../transport/stream/stream.testing.js';

/** What the child reports: where to connect and how to get certificates, then measures. */
export type ChildMessage =
  | { readonly kind: 'listening'; readonly url: string; readonly caPem: string; readonly caKeyPath: string }
  | { readonly kind: 'measured'; readonly label: string; readonly rss: number; readonly heapUsed: number; readonly connections: number; readonly linked: number };

/** What the parent asks. */
export type ParentMessage = { readonly kind: 'measure'; readonly label: string } | { readonly kind: 'stop' };

interface Listener {
  readonly url: string;
  readonly caPem: string;
  readonly caKeyPath: string;
  connections(): number;
  /** Connections that finished their first exchange (the hello for the stream, one echo for raw). */
  linked(): number;
  close(): Promise<void>;
}

const CONNECTIONS_MAX = 2000;
const mode = process.argv[2];
if (mode !== 'stream' && mode !== 'raw') throw new Error(`usage: stream-connections.child.ts stream|raw (got ${String(mode)})`);

async function startStream(): Promise<Listener> {
  const cloud = await startStreamCloud({ connectionsMax: CONNECTIONS_MAX });
  return {
    url: cloud.server.url,
    caPem: cloud.pki.caPem,
    caKeyPath: cloud.pki.caKeyPath,
    connections: () => cloud.server.connectionCount(),
    linked: () => cloud.hub.status().filter((s) => s.linked).length,
    close: () => cloud.close(),
  };
}

async function startRaw(): Promise<Listener> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehive-bench-raw-'));
  const pki = await ensureClusterPki(join(dir, 'pki'), { hosts: ['127.0.0.1', 'localhost'] });
  if (!pki.ok) throw new Error(`PKI failed: ${JSON.stringify(pki.error)}`);
  const { caPem, caKeyPath, serverCertPem, serverKeyPem } = pki.value;
  const server = createServer({ cert: serverCertPem, key: serverKeyPem, ca: caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  const wss = new WebSocketServer({ server, maxPayload: 4 * 1024 * 1024 });
  let linked = 0;
  wss.on('connection', (socket) => {
    socket.once('message', (data: Buffer) => {
      const hello = JSON.parse(data.toString('utf8')) as { seq: number };
      socket.send(JSON.stringify({ ack: hello.seq }));
      linked += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    url: `wss://127.0.0.1:${address.port}`,
    caPem,
    caKeyPath,
    connections: () => wss.clients.size,
    linked: () => linked,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Full collections until the heap stops shrinking, then a short settle, so both measures see a quiet heap. */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage();
}

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

const listener = mode === 'stream' ? await startStream() : await startRaw();
process.on('message', (message: ParentMessage) => {
  if (message.kind === 'stop') {
    void listener.close().then(() => process.exit(0));
    return;
  }
  void settledMemory().then((memory) =>
    send({ kind: 'measured', label: message.label, rss: memory.rss, heapUsed: memory.heapUsed, connections: listener.connections(), linked: listener.linked() }),
  );
});
process.on('disconnect', () => process.exit(0));
send({ kind: 'listening', url: listener.url, caPem: listener.caPem, caKeyPath: listener.caKeyPath });
