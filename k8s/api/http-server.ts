// The transport of the embedded API server: HTTPS (plain HTTP only when asked), bearer-token
// authentication, request body and watch limits, and chunked watch streams.
import { timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JsonValue } from '../../kernel/index.js';
import type { ApiReply, ApiRequest, KubeApi } from './kube-api.js';
import { nodeProxyTargetOf, serviceBusUnavailable, type NodeProxyHandler } from './node-proxy.js';
import { statusBody, tooLarge, tooManyRequests, unauthorized, type ApiError } from './status.js';

/** How long an idle kept-alive connection stays open (kube-apiserver's clients idle out at 90 s). */
const IDLE_CONNECTION_MS = 90_000;

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** PEM server certificate and key; without them the server speaks plain HTTP (`--insecure`). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Accepted bearer tokens. */
  readonly tokens: () => readonly string[];
  /**
   * Only with plain HTTP (`--insecure`): serve requests without credentials, because kubectl
   * (client-go) never sends a bearer token over plain HTTP. Refused together with TLS.
   */
  readonly anonymous?: boolean;
  /**
   * Only with plain HTTP: serve every request, whatever bearer token it carries, unchecked. For a
   * loopback read-only API (the edge's MetaServer), where in-cluster clients send their service
   * account token and nothing they can do there needs an identity. Refused together with TLS.
   */
  readonly tokensIgnored?: boolean;
  readonly bodyBytesMax: number;
  /** Open watches one client (token + address) may hold. */
  readonly watchesPerClientMax: number;
  /** Serves the pod subresources the edge fills in (log, exec, attach, portforward). */
  readonly podStreams?: (request: IncomingMessage, response: ServerResponse, subresource: string) => void;
  /** Serves the pod subresources that upgrade the connection (exec/attach over WebSocket, or SPDY). */
  readonly podUpgrades?: (request: IncomingMessage, socket: Duplex, head: Buffer, subresource: string) => void;
  /** Serves `/api/v1/nodes/<node>:<port>/proxy/…` (the service bus), body unread; without it those answer 503. */
  readonly nodeProxy?: NodeProxyHandler;
  readonly log?: (line: string) => void;
}

export interface RunningHttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const tokenMatches = (given: string, accepted: readonly string[]): boolean => {
  const g = Buffer.from(given);
  return accepted.some((t) => {
    const a = Buffer.from(t);
    return a.length === g.length && timingSafeEqual(a, g);
  });
};

function sendJson(response: ServerResponse, status: number, body: JsonValue, contentType = 'application/json', warnings: readonly string[] = []): void {
  const text = typeof body === 'string' && contentType.startsWith('text/') ? body : JSON.stringify(body);
  const headers: Record<string, string | string[]> = { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private', 'Content-Length': String(Buffer.byteLength(text)) };
  Object.assign(headers, warningHeader(warnings));
  response.writeHead(status, headers);
  response.end(text);
}

/** RFC 7234 warnings as kube-apiserver sends them (kubectl prints them as `Warning: …`). */
const warningHeader = (warnings: readonly string[]): Record<string, string[]> => (warnings.length === 0 ? {} : { Warning: warnings.map((w) => `299 - "${w.replace(/"/g, '\\"')}"`) });

const sendStatus = (response: ServerResponse, error: ApiError): void => sendJson(response, error.code, statusBody(error));

/** A JSON answer on a raw socket (an upgrade request has no ServerResponse), then the socket closes. */
function endWithJson(socket: Duplex, code: number, body: string): void {
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const endWithStatus = (socket: Duplex, error: ApiError): void => endWithJson(socket, error.code, JSON.stringify(statusBody(error)));

export function startHttpServer(api: KubeApi, options: HttpServerOptions): Promise<RunningHttpServer> {
  const watches = new Map<string, number>();
  const openResponses = new Set<ServerResponse>();

  const authenticated = (request: IncomingMessage): { readonly ok: boolean; readonly token: string } => {
    const authorization = request.headers.authorization ?? '';
    const token = authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : '';
    const anonymousOk = options.tls === undefined && ((options.anonymous === true && token === '') || options.tokensIgnored === true);
    return { ok: anonymousOk || (token !== '' && tokenMatches(token, options.tokens())), token };
  };

  /** exec/attach/portforward upgrade the connection: authenticated and routed like any request, then handed over. */
  const upgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    if (!authenticated(request).ok) return endWithStatus(socket, unauthorized());
    const url = new URL(request.url ?? '/', 'http://local');
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    const reply = api.handle({ method: request.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: Buffer.alloc(0), userAgent: request.headers['user-agent'] ?? '' });
    if (reply.kind === 'delegate' && options.podUpgrades !== undefined) return options.podUpgrades(request, socket, head, reply.handle);
    if (reply.kind === 'delegate') return endWithStatus(socket, { code: 503, reason: 'ServiceUnavailable', message: `pod ${reply.handle} is served by the pod's edge node, and no edge node is connected to this server` });
    // A refusal (no such pod, a bad path) goes back as the API wrote it; anything else does not upgrade.
    if (reply.kind === 'json' && reply.status >= 400) return endWithJson(socket, reply.status, JSON.stringify(reply.body));
    endWithStatus(socket, { code: 400, reason: 'BadRequest', message: `${url.pathname} does not upgrade` });
  };

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const { ok: allowed, token } = authenticated(request);
    if (!allowed) {
      request.resume();
      sendStatus(response, unauthorized());
      return;
    }
    // The node proxy reads its own body, within its own limit (the service bus's, not the API's).
    const proxied = nodeProxyTargetOf(request.url ?? '/');
    if (proxied !== undefined) return serveNodeProxy(proxied, request, response);
    const declared = Number(request.headers['content-length'] ?? '0');
    if (declared > options.bodyBytesMax) {
      request.resume();
      response.setHeader('Connection', 'close');
      sendStatus(response, tooLarge(options.bodyBytesMax));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.bodyBytesMax && !refused) {
        refused = true;
        response.setHeader('Connection', 'close');
        sendStatus(response, tooLarge(options.bodyBytesMax));
        request.destroy();
        return;
      }
      if (!refused) chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      const url = new URL(request.url ?? '/', 'http://local');
      const apiRequest: ApiRequest = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
        body: Buffer.concat(chunks),
        userAgent: request.headers['user-agent'] ?? '',
      };
      const reply = api.handle(apiRequest);
      respond(request, response, reply, `${token}@${request.socket.remoteAddress ?? ''}`);
    });
  };

  const serveNodeProxy = (proxied: NonNullable<ReturnType<typeof nodeProxyTargetOf>>, request: IncomingMessage, response: ServerResponse): void => {
    if (proxied.ok && options.nodeProxy !== undefined) return options.nodeProxy(proxied.value, request, response);
    request.resume();
    sendStatus(response, proxied.ok ? serviceBusUnavailable(proxied.value.node) : proxied.error);
  };

  const respond = (request: IncomingMessage, response: ServerResponse, reply: ApiReply, client: string): void => {
    if (reply.kind === 'json') {
      sendJson(response, reply.status, reply.body, reply.contentType, reply.warnings);
      return;
    }
    if (reply.kind === 'raw') {
      response.writeHead(reply.status, {
        'Content-Type': reply.contentType,
        'Cache-Control': 'no-cache, private',
        'Content-Length': String(typeof reply.text === 'string' ? Buffer.byteLength(reply.text) : reply.text.byteLength),
        ...warningHeader(reply.warnings ?? []),
      });
      response.end(reply.text);
      return;
    }
    if (reply.kind === 'delegate') {
      if (options.podStreams !== undefined) options.podStreams(request, response, reply.handle);
      else sendStatus(response, { code: 503, reason: 'ServiceUnavailable', message: `pod ${reply.handle} is served by the pod's edge node, and no edge node is connected to this server` });
      return;
    }
    const open = watches.get(client) ?? 0;
    if (open >= options.watchesPerClientMax) {
      sendStatus(response, tooManyRequests(`too many open watches for this client (limit ${options.watchesPerClientMax}); close some before opening more`));
      return;
    }
    watches.set(client, open + 1);
    openResponses.add(response);
    // Headers go out at once: client-node's Watch waits for them before it reports the watch open.
    response.writeHead(200, { 'Content-Type': reply.contentType, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    response.flushHeaders();
    let ended = false;
    // The watch may end while it starts (an expired resourceVersion): `stop` is not known yet then.
    let stop: (() => void) | undefined;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      stop?.();
      openResponses.delete(response);
      const left = (watches.get(client) ?? 1) - 1;
      if (left <= 0) watches.delete(client);
      else watches.set(client, left);
    };
    stop = reply.start(
      (line) => {
        if (!ended) response.write(`${line}\n`);
      },
      () => {
        finish();
        response.end();
      },
    );
    if (ended) stop();
    response.on('close', finish);
    request.socket.on('close', finish);
  };

  const server: Server = options.tls === undefined ? createHttpServer(handler) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  // Clients keep connections alive (Go's transport for 90 s, the cloud's own agent for less): a
  // server that closed an idle one first (Node's default is 5 s) races the client's next request on
  // it, which then fails with ECONNRESET.
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  server.headersTimeout = IDLE_CONNECTION_MS + 1_000;
  // Every socket, even one still in its TLS handshake, so close() can end them all.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', upgradeHandler);
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `${options.tls === undefined ? 'http' : 'https'}://${options.host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const response of openResponses) response.end();
            server.close(() => done());
            server.closeAllConnections();
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
