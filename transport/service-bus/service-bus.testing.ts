// A service bus end to end in one process, for specs: a real CloudHub behind the mTLS stream server,
// edges linked to it with the service-bus responder, the embedded API server with the node proxy
// handler, and a real HTTP app on 127.0.0.1 that echoes what it was asked.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServerFixture } from '../../k8s/api/api-server.testing.js';
import type { EmbeddedApiServer } from '../../k8s/index.js';
import type { EdgeHub } from '../stream/edge-hub.js';
import { MemoryEdgeJournal, openTestEdge, startStreamCloud, until, type StreamCloud } from '../stream/stream.testing.js';
import { nodeProxyHandler, type NodeProxyOptions } from './service-bus.cloud.js';
import { serviceBusResponder, type ServiceBusResponderOptions } from './service-bus.edge.js';

/** What the echo app saw of a request. */
export interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body as text, when it is at most ECHOED_BODY_BYTES_MAX bytes (so an echo of a large body stays within the limit). */
  readonly body: string;
  readonly bodyBytes: number;
}

const ECHOED_BODY_BYTES_MAX = 1024;

/**
 * The HTTP app at the edge: `/missing` answers 404, `/slow` never answers, `/big?bytes=N` answers N
 * bytes, anything else echoes method, url, headers and body as JSON with status 200 (201 for POST).
 */
export interface EchoApp {
  readonly port: number;
  close(): Promise<void>;
}

export async function startEchoApp(): Promise<EchoApp> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => answerEcho(request, response));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function answerEcho(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://app');
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (url.pathname === '/slow') return;
    if (url.pathname === '/missing') {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      return void response.end('no such sensor');
    }
    if (url.pathname === '/big') {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return void response.end(Buffer.alloc(Number(url.searchParams.get('bytes') ?? '0'), 0x61));
    }
    const body = Buffer.concat(chunks);
    const echo: Echo = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: body.length <= ECHOED_BODY_BYTES_MAX ? body.toString('utf8') : '', bodyBytes: body.length };
    response.writeHead(request.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json', 'X-App': 'thermo', 'Keep-Alive': 'timeout=5', Connection: 'keep-alive' });
    response.end(JSON.stringify(echo));
  });
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServiceBusRig {
  readonly cloud: StreamCloud;
  readonly api: EmbeddedApiServer;
  readonly app: EchoApp;
  /** Links an edge named `nodeName` answering service-bus calls with `options`. */
  linkEdge(nodeName: string, options?: ServiceBusResponderOptions): Promise<EdgeHub>;
  isLinked(nodeName: string): boolean;
  close(): Promise<void>;
}

/** Starts the cloud, the API server with the node proxy (asking the hub, and its link state), and the app. */
export async function startServiceBusRig(proxy: NodeProxyOptions = {}): Promise<ServiceBusRig> {
  const cleanups: Array<() => Promise<void>> = [];
  const cloud = await startStreamCloud();
  cleanups.push(() => cloud.close());
  const isLinked = (nodeName: string): boolean => cloud.hub.status().some((s) => s.nodeName === nodeName && s.linked);
  const fixture = new ApiServerFixture();
  cleanups.push(() => fixture.teardown());
  const api = await fixture.start({ nodeProxy: nodeProxyHandler({ request: (node, request, timeoutMs) => cloud.hub.request(node, request, timeoutMs), isLinked }, proxy) });
  const app = await startEchoApp();
  cleanups.push(() => app.close());
  return {
    cloud,
    api,
    app,
    isLinked,
    linkEdge: async (nodeName, options = {}) => {
      const dir = await mkdtemp(join(tmpdir(), 'edgehive-servicebus-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const edge = await openTestEdge(cloud.server.url, await cloud.join(nodeName, dir), new MemoryEdgeJournal(`journal-${nodeName}`), { respond: serviceBusResponder(options) });
      cleanups.push(() => edge.stop());
      edge.start();
      await until(() => isLinked(nodeName), `${nodeName} linked`);
      return edge;
    },
    close: async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}
