// The cloud's stream listener: a `ws` server on HTTPS that admits only clients whose certificate
// the cluster CA signed, and whose certificate, URL path and `node_id` header all name the same
// node. Identity comes from the certificate; the path and headers (KubeEdge's EdgeHub sends both,
// kubeedge-reference §2.1) must agree with it or the connection is closed with 4403.
//
// What a client sees:
// - no certificate, or one another CA signed: the TLS handshake fails (a TLS alert; `ws` emits
//   'error', no 'open');
// - a path that is not `/<projectID>/<nodeName>/events`: HTTP 404 at the upgrade ('unexpected-response');
// - a node certificate whose node differs from the path's or the `node_id` header's, a missing
//   `node_id`/`project_id` header, a `project_id` that differs from the path's, or a CA-signed
//   certificate that is not a node certificate: the upgrade succeeds and the server closes at once
//   with 4403 and a reason saying which (PROTOCOL.md: "close 4403, reason says why"; a close code
//   reaches the edge's reconnect logic, an HTTP status would only say "unexpected response");
// - `connectionsMax` connections already open: opened, then closed with 1013 "try again later".
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { type Result, err, invariant, ok } from '../../kernel/index.js';
import { Close, closeReason } from '../frames/frame.js';
import { type ListenError, closeHttps, listenHttps, urlHost } from './https-listener.js';
import { nodeIdentityOf } from './node-identity.js';

/** KubeEdge's default project id, which EdgeHub puts in the URL and the `project_id` header. */
export const DEFAULT_PROJECT_ID = 'e632aba927ea4ac2b575ec1603d56f10';
/** PROTOCOL.md: at most this many streams per cloud process by default. */
export const CONNECTIONS_MAX_DEFAULT = 5000;
/** PROTOCOL.md `frameBytesMax`: ws closes a bigger frame with 1009. */
export const FRAME_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/** KubeEdge's handshake limit; a client stuck in TLS or the upgrade holds a socket no longer. */
export const STREAM_HANDSHAKE_TIMEOUT_MS = 30_000;
/** RFC 6455 "Try Again Later": the server is full, a retry after back-off may succeed. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

const streamPath = /^\/([^/?#]{1,128})\/([^/?#]{1,253})\/events$/;

/** Why a stream connection was refused after TLS. */
export type StreamRefusal =
  | { readonly kind: 'PathInvalid'; readonly status: 404; readonly message: string }
  | { readonly kind: 'Forbidden'; readonly code: 4403; readonly message: string }
  | { readonly kind: 'ConnectionsMaxReached'; readonly code: 1013; readonly message: string };

/** What the stream knows about an admitted connection. */
export interface StreamConnectionInfo {
  readonly nodeName: string;
  readonly projectId: string;
  /** The client certificate's end: the stream can drop the connection when it lapses. */
  readonly certificateNotAfterMs: number;
  readonly remoteAddress: string;
  /**
   * KubeEdge's `ConnectionUse` header: `msg` for the message stream (the default), `str` for a byte
   * stream (kubectl logs/exec) on its own connection, named by its `stream_session` header.
   */
  readonly connectionUse: 'msg' | 'str';
  readonly streamSession?: string;
}

export interface MtlsStreamServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The cluster CA (the only issuer of client certificates accepted) and this server's serving pair. */
  readonly tls: { readonly caPem: string; readonly certPem: string; readonly keyPem: string };
  readonly connectionsMax?: number;
  readonly frameBytesMax?: number;
  /** Called once per admitted connection; the stream owns the socket from here. */
  readonly onConnection: (nodeName: string, socket: WebSocket, info: StreamConnectionInfo) => void;
  /** Called once per refused upgrade, for the log and for counters. */
  readonly onRefused?: (refusal: StreamRefusal, remoteAddress: string) => void;
}

export interface MtlsStreamServer {
  /** `wss://<host>:<port>`; an edge connects to `${url}/<projectID>/<nodeName>/events`. */
  readonly url: string;
  readonly port: number;
  /** Connections admitted and not yet closed. */
  connectionCount(): number;
  /** Stops listening and terminates every connection. */
  close(): Promise<void>;
}

/**
 * Starts the stream listener.
 * @example
 * const server = await startMtlsStreamServer({ host: '0.0.0.0', port: 10000,
 *   tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
 *   onConnection: (nodeName, socket) => stream.attach(nodeName, socket) });
 */
export async function startMtlsStreamServer(options: MtlsStreamServerOptions): Promise<Result<MtlsStreamServer, ListenError>> {
  const connectionsMax = options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
  invariant(Number.isSafeInteger(connectionsMax) && connectionsMax >= 1, 'connectionsMax is a positive integer');
  const server: Server = createHttpsServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: options.tls.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: STREAM_HANDSHAKE_TIMEOUT_MS,
      requestTimeout: STREAM_HANDSHAKE_TIMEOUT_MS,
      headersTimeout: STREAM_HANDSHAKE_TIMEOUT_MS,
    },
    (request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('the edgehive stream is a websocket: wss://<host>/<projectID>/<nodeName>/events\n');
    },
  );
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT });
  let open = 0;
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const remoteAddress = socket.remoteAddress ?? 'unknown';
    const admission = admit(request, open >= connectionsMax, connectionsMax);
    if (!admission.ok) {
      refuse(admission.error, request, socket, head);
      return;
    }
    // The slot is taken before the upgrade completes and released when the TCP socket closes, so
    // a burst of upgrades cannot overshoot the limit and a failed upgrade does not leak a slot.
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
    wss.handleUpgrade(request, socket, head, (ws) => {
      options.onConnection(admission.value.nodeName, ws, { ...admission.value, remoteAddress: socket.remoteAddress ?? 'unknown' });
    });
  });
  const refuse = (refusal: StreamRefusal, request: IncomingMessage, socket: Socket, head: Buffer): void => {
    options.onRefused?.(refusal, socket.remoteAddress ?? 'unknown');
    if (refusal.kind === 'PathInvalid') {
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refusal.message}\n`);
      return;
    }
    // Upgrading only to close at once is what lets the edge read a close code and a reason.
    const { code, message } = refusal;
    wss.handleUpgrade(request, socket, head, (ws) => ws.close(code, closeReason(message)));
  };
  const listening = await listenHttps(server, options.host, options.port);
  if (!listening.ok) return listening;
  const port = listening.value;
  return ok({
    url: `wss://${urlHost(options.host)}:${port}`,
    port,
    connectionCount: () => open,
    close: () => {
      // Upgraded sockets left the HTTP server's bookkeeping; ws tracks them, so end them there.
      for (const client of wss.clients) client.terminate();
      wss.close();
      return closeHttps(server);
    },
  });
}

/**
 * Decides, from the request alone, whether an upgrade may become a stream: path shape, the
 * certificate's node, path and headers agreeing with it, then room under `connectionsMax`.
 */
function admit(request: IncomingMessage, full: boolean, connectionsMax: number): Result<Omit<StreamConnectionInfo, 'remoteAddress'>, StreamRefusal> {
  const match = streamPath.exec((request.url ?? '').split('?')[0] ?? '');
  if (match === null) return err({ kind: 'PathInvalid', status: 404, message: 'not a stream URL; expected /<projectID>/<nodeName>/events' });
  const [, pathProject = '', pathNode = ''] = match;
  const forbidden = (message: string): Result<never, StreamRefusal> => err({ kind: 'Forbidden', code: Close.forbidden.code, message });
  if (!(request.socket instanceof TLSSocket)) return forbidden('the stream requires TLS with a node certificate');
  const identity = nodeIdentityOf(request.socket);
  if (!identity.ok) return forbidden(identity.error.message);
  const certNode = identity.value.nodeName;
  const headerNode = request.headers['node_id'];
  const headerProject = request.headers['project_id'];
  if (pathNode !== certNode) return forbidden(`path names node "${pathNode}" but the certificate is for "${certNode}"`);
  if (headerNode === undefined) return forbidden('node_id header missing (send node_id and project_id, as EdgeHub does)');
  if (headerNode !== certNode) return forbidden(`node_id header names "${String(headerNode)}" but the certificate is for "${certNode}"`);
  if (headerProject === undefined) return forbidden('project_id header missing (send node_id and project_id, as EdgeHub does)');
  if (headerProject !== pathProject) return forbidden(`project_id header "${String(headerProject)}" differs from the path's "${pathProject}"`);
  const use = request.headers['connectionuse'] ?? 'msg';
  if (use !== 'msg' && use !== 'str') return forbidden(`ConnectionUse header "${String(use)}" is neither msg nor str`);
  const session = request.headers['stream_session'];
  if (use === 'str' && (typeof session !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(session))) return forbidden('a str connection names its stream_session (1-64 letters, digits, dashes)');
  if (full) {
    return err({ kind: 'ConnectionsMaxReached', code: CLOSE_TRY_AGAIN_LATER, message: `cloud at connectionsMax (${connectionsMax}); retry later` });
  }
  const streamSession = use === 'str' ? { streamSession: session as string } : {};
  return ok({ nodeName: certNode, projectId: pathProject, certificateNotAfterMs: identity.value.notAfterMs, connectionUse: use, ...streamSession });
}

