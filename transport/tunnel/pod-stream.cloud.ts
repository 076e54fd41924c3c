// The cloud end of kubectl logs/exec (KubeEdge's CloudStream): the API server hands it the pod
// subresource requests it cannot answer itself; this finds the pod's node, opens a byte stream to
// that edge over the stream's own `str` connection, and relays: a log as a chunked text/plain
// response, an exec as kubectl's v5 WebSocket whose messages pass through unchanged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { JsonObject, Result } from '../../kernel/index.js';
import type { QueryError, QueryRequest } from '../stream/requests.js';
import { sendPaced } from './socket-backpressure.js';
import { Channel, EXEC_SUBPROTOCOL, LOG_OPENED, LogClose, execFailure, framed, podStreamContent, podStreamRequestOf, type PodStreamRequest } from './pod-stream.protocol.js';

export interface CloudPodStreamDeps {
  /** The node a pod is bound to, as the cloud's view knows it. */
  podNode(namespace: string, name: string): string | undefined;
  /** Opens a byte stream to the node, within the caller's timeout (CloudHub.openByteStream). */
  openByteStream(nodeName: string, request: QueryRequest): Promise<Result<WebSocket, QueryError>>;
}

/** Bytes kubectl's exec socket may hold before the edge's stream is paused, and the other way. */
const RELAY_BUFFERED_BYTES_MAX = 1024 * 1024;

const status = (code: number, reason: string, message: string): JsonObject => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

function sendStatus(response: ServerResponse, code: number, reason: string, message: string): void {
  const body = JSON.stringify(status(code, reason, message));
  response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
  response.end(body);
}

function refuseUpgrade(socket: Duplex, code: number, reason: string, message: string): void {
  const body = JSON.stringify(status(code, reason, message));
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** `/api/v1/namespaces/<ns>/pods/<name>/<sub>` → its parts. */
function podPath(url: URL): { namespace: string; name: string } | undefined {
  const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/[^/]+$/.exec(url.pathname);
  return match === null ? undefined : { namespace: decodeURIComponent(match[1]!), name: decodeURIComponent(match[2]!) };
}

interface Opened {
  readonly socket: WebSocket;
}

async function openToEdge(deps: CloudPodStreamDeps, url: URL, subresource: string): Promise<Result<Opened & { readonly request: PodStreamRequest }, { code: number; reason: string; message: string }>> {
  const pod = podPath(url);
  if (pod === undefined) return { ok: false, error: { code: 404, reason: 'NotFound', message: `no pod at ${url.pathname}` } };
  const request = podStreamRequestOf(subresource, url.searchParams);
  if (!request.ok) return { ok: false, error: { code: 400, reason: 'BadRequest', message: request.error } };
  const node = deps.podNode(pod.namespace, pod.name);
  if (node === undefined) return { ok: false, error: { code: 400, reason: 'BadRequest', message: `pod ${pod.namespace}/${pod.name} is not bound to an edge node` } };
  const opened = await deps.openByteStream(node, { source: 'cloudhub', group: 'resource', resource: { kind: 'object', namespace: pod.namespace, type: 'pod', name: pod.name }, content: podStreamContent(request.value) });
  if (!opened.ok) return { ok: false, error: { code: 503, reason: 'ServiceUnavailable', message: `edge ${node}: ${opened.error.message}` } };
  return { ok: true, value: { socket: opened.value, request: request.value } };
}

/** The API server's `podStreams` option: pod logs (exec without an upgrade is answered with advice). */
export function podLogHandler(deps: CloudPodStreamDeps) {
  return (request: IncomingMessage, response: ServerResponse, subresource: string): void => {
    if (subresource !== 'log') return sendStatus(response, 400, 'BadRequest', `pods/${subresource} needs a WebSocket upgrade (${EXEC_SUBPROTOCOL}, kubectl >= 1.30)`);
    void openToEdge(deps, new URL(request.url ?? '/', 'http://local'), 'log').then((opened) => {
      if (!opened.ok) return sendStatus(response, opened.error.code, opened.error.reason, opened.error.message);
      relayLog(opened.value.socket, response);
    });
  };
}

function relayLog(edge: WebSocket, response: ServerResponse): void {
  let started = false;
  edge.on('error', () => undefined);
  edge.on('message', (data: Buffer, isBinary: boolean) => {
    if (!started) {
      // The edge's first message says the log opened; from then on every message is log bytes.
      if (isBinary || data.toString() !== LOG_OPENED) return edge.close(1002, 'expected the log to open first');
      started = true;
      response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
      response.flushHeaders();
      return;
    }
    if (!response.write(data)) edge.pause();
  });
  response.on('drain', () => edge.resume());
  edge.on('close', (code: number, reason: Buffer) => {
    if (started) return void response.end();
    const notFound = code === LogClose.notFound;
    sendStatus(response, notFound ? 404 : 400, notFound ? 'NotFound' : 'BadRequest', reason.toString() || `the edge closed the log (${code})`);
  });
  // kubectl went away (Ctrl-C on logs -f): stop the edge reading.
  response.on('close', () => edge.close(1000));
}

/** The API server's `podUpgrades` option: exec over kubectl's WebSocket; SPDY is refused with advice. */
export function podUpgradeHandler(deps: CloudPodStreamDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024, handleProtocols: (protocols) => (protocols.has(EXEC_SUBPROTOCOL) ? EXEC_SUBPROTOCOL : false) });
  return (request: IncomingMessage, socket: Duplex, head: Buffer, subresource: string): void => {
    socket.on('error', () => undefined);
    const upgrade = (request.headers.upgrade ?? '').toLowerCase();
    if (upgrade !== 'websocket') {
      return refuseUpgrade(socket, 400, 'BadRequest', `${upgrade === '' ? 'this' : upgrade.toUpperCase()} upgrade is not served: kubectl exec needs kubectl >= 1.30 (WebSocket ${EXEC_SUBPROTOCOL}); kubectl 1.29 works with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true`);
    }
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(EXEC_SUBPROTOCOL)) return refuseUpgrade(socket, 400, 'BadRequest', `exec speaks ${EXEC_SUBPROTOCOL} (kubectl >= 1.30)`);
    wss.handleUpgrade(request, socket, head, (kubectl) => {
      kubectl.on('error', () => undefined);
      // kubectl sends stdin (and its end) at once; nothing it sends before the edge answers is lost.
      const early: Buffer[] = [];
      const hold = (data: Buffer): void => void early.push(data);
      kubectl.on('message', hold);
      void openToEdge(deps, new URL(request.url ?? '/', 'http://local'), subresource).then((opened) => {
        kubectl.off('message', hold);
        if (!opened.ok) {
          kubectl.send(framed(Channel.error, JSON.stringify(execFailure(opened.error.message))));
          return kubectl.close(1000);
        }
        for (const data of early.splice(0)) opened.value.socket.send(data, { binary: true });
        relayExec(kubectl, opened.value.socket);
      });
    });
  };
}

/** Both ways, message for message; either side closing closes the other. */
function relayExec(kubectl: WebSocket, edge: WebSocket): void {
  edge.on('error', () => undefined);
  const pipe = (from: WebSocket, to: WebSocket): void => {
    from.on('message', (data: Buffer) => {
      if (to.readyState === to.OPEN) sendPaced(to, from, data, RELAY_BUFFERED_BYTES_MAX);
    });
    from.on('close', () => to.close(1000));
  };
  pipe(kubectl, edge);
  pipe(edge, kubectl);
}
