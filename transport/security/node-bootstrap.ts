// The cloud side of an edge's first join and of its certificate rotation (kubeedge-reference §2.4):
// an HTTPS handler that hands out the CA, trades a join token plus a CSR for a node certificate,
// and renews a certificate for whoever proves they hold the current one.
//
// Wire contract (JSON bodies, UTF-8):
//   GET  /edgehive/v1/ca.crt  → 200 the CA certificate, PEM. Public: the edge checks it against the
//                               hash in its token before it sends the token anywhere.
//   POST /edgehive/v1/join    { token, nodeName, csrPem } → 200 NodeCertificateResponse
//   POST /edgehive/v1/renew   { csrPem, nodeName? } over TLS with the current node certificate
//                               → 200 NodeCertificateResponse
//   Refusals: `{ "error": { "kind": "...", "message": "..." } }` with
//     400 RequestMalformed | NodeNameInvalid | CsrMalformed | CsrSignatureInvalid | CsrKeyUnsupported
//     401 TokenMalformed | TokenUnknown | TokenExpired (join); ClientCertificateMissing |
//         ClientCertificateUntrusted | NotANodeCertificate (renew)
//     403 NodeNameMismatch | CsrOrganizationRefused
//     404 NotFound, 405 MethodNotAllowed, 413 RequestTooLarge, 500 ServerFailed
//
// The stream server requires a client certificate at the TLS handshake, so an edge without one
// cannot reach it: these routes live on their own HTTPS listener (KubeEdge uses port 10002 beside
// 10000 for the same reason) that asks for a certificate but does not require one.
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { type Clock, type Result, err, isJsonObject, ok, systemClock } from '../../kernel/index.js';
import type { JoinTokenAuthority, JoinTokenError } from './join-token.js';
import { type CsrRefusal, type NodeCertificateSigner, type SignedNodeCertificate, checkNodeCsr } from './node-certificate.signer.js';
import { type ListenError, closeHttps, listenHttps, urlHost } from './https-listener.js';
import { type IdentityRefusal, nodeIdentityOf } from './node-identity.js';

/** The bootstrap routes. */
export const BOOTSTRAP_PATHS = {
  ca: '/edgehive/v1/ca.crt',
  join: '/edgehive/v1/join',
  renew: '/edgehive/v1/renew',
} as const;

/** A join body is a token and a CSR, under 2 KiB; KubeEdge learnt to cap this read (CVE-2022-31075). */
export const BOOTSTRAP_REQUEST_BYTES_MAX = 64 * 1024;
/** A slow client holds a socket at most this long per request or handshake. */
export const BOOTSTRAP_REQUEST_TIMEOUT_MS = 30_000;

/** What a successful join or renewal returns. Times are RFC 3339 (ISO 8601, UTC). */
export interface NodeCertificateResponse {
  readonly certPem: string;
  readonly caPem: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Rotating earlier is wasteful; pick a jittered moment between this and `rotateBefore`. */
  readonly rotateAfter: string;
  /** Rotate before this; it leaves a tenth of the certificate's life for retries. */
  readonly rotateBefore: string;
}

/** Every refusal the endpoint answers with, and its status. */
export type BootstrapRefusal =
  | { readonly status: 400; readonly kind: 'RequestMalformed'; readonly message: string }
  | { readonly status: 401; readonly kind: Exclude<JoinTokenError['kind'], 'TokenStoreFailed'>; readonly message: string }
  | { readonly status: 401; readonly kind: IdentityRefusal['kind']; readonly message: string }
  | { readonly status: 403; readonly kind: 'NodeNameMismatch'; readonly message: string }
  | CsrRefusal
  | { readonly status: 404; readonly kind: 'NotFound'; readonly message: string }
  | { readonly status: 405; readonly kind: 'MethodNotAllowed'; readonly message: string }
  | { readonly status: 413; readonly kind: 'RequestTooLarge'; readonly message: string }
  | { readonly status: 500; readonly kind: 'ServerFailed'; readonly message: string };

/** One line for the cloud's log: who got a certificate, or who was refused and why. */
export type BootstrapAuditEntry =
  | { readonly outcome: 'issued'; readonly route: 'join' | 'renew'; readonly nodeName: string; readonly tokenId?: string; readonly notAfterMs: number }
  | { readonly outcome: 'refused'; readonly route: string; readonly status: number; readonly kind: string; readonly message: string; readonly detail?: string };

export interface NodeBootstrapOptions {
  readonly tokens: Pick<JoinTokenAuthority, 'verifyJoinToken'>;
  readonly signer: NodeCertificateSigner;
  /** Wall time for token expiry; the default is the system clock. */
  readonly clock?: Pick<Clock, 'nowMs'>;
  /** Called once per answered request; the default drops the entry. */
  readonly audit?: (entry: BootstrapAuditEntry) => void;
}

export type BootstrapHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The request handler the cloud mounts on its bootstrap HTTPS server.
 * @example
 * const handler = createNodeBootstrapHandler({ tokens, signer, audit: (e) => log(JSON.stringify(e)) });
 * const server = await startNodeBootstrapServer({ host, port: 0, servingCertPem, servingKeyPem, caPem, handler });
 */
export function createNodeBootstrapHandler(options: NodeBootstrapOptions): BootstrapHandler {
  const clock = options.clock ?? systemClock;
  const audit = options.audit ?? (() => undefined);
  return (request, response) => {
    void route(request, options, clock).then(
      (answer) => answerWith(response, request, answer, audit),
      (error: unknown) => {
        // A bug in this file must not take the cloud down with it: the edge gets a 500, the log the cause.
        const refusal: BootstrapRefusal = { status: 500, kind: 'ServerFailed', message: 'the cloud failed to handle the request' };
        answerWith(response, request, { route: request.url ?? '', result: err({ refusal, detail: describe(error) }) }, audit);
      },
    );
  };
}

type Answer = {
  readonly route: string;
  readonly result: Result<
    { readonly body: string; readonly contentType: string; readonly audit?: BootstrapAuditEntry },
    { readonly refusal: BootstrapRefusal; readonly detail?: string }
  >;
};

async function route(request: IncomingMessage, options: NodeBootstrapOptions, clock: Pick<Clock, 'nowMs'>): Promise<Answer> {
  const path = (request.url ?? '').split('?')[0] ?? '';
  const method = request.method ?? '';
  const expected = path === BOOTSTRAP_PATHS.ca ? 'GET' : path === BOOTSTRAP_PATHS.join || path === BOOTSTRAP_PATHS.renew ? 'POST' : undefined;
  if (expected === undefined) return refused(path, { status: 404, kind: 'NotFound', message: `no bootstrap route ${truncate(path)}` });
  if (method !== expected) return refused(path, { status: 405, kind: 'MethodNotAllowed', message: `${path} takes ${expected}` });
  if (path === BOOTSTRAP_PATHS.ca) {
    return { route: 'ca', result: ok({ body: options.signer.caPem, contentType: 'application/x-pem-file' }) };
  }
  const body = await readJsonBody(request);
  if (!body.ok) return refused(path, body.error);
  if (path === BOOTSTRAP_PATHS.join) return join(body.value, options, clock);
  return renew(body.value, request, options);
}

async function join(body: Record<string, unknown>, options: NodeBootstrapOptions, clock: Pick<Clock, 'nowMs'>): Promise<Answer> {
  // The token comes first: someone without one learns nothing about what else would be accepted.
  const token = await options.tokens.verifyJoinToken(typeof body['token'] === 'string' ? body['token'] : '', clock.nowMs());
  if (!token.ok) {
    if (token.error.kind === 'TokenStoreFailed') {
      return refused('join', { status: 500, kind: 'ServerFailed', message: 'the cloud cannot read its join tokens' }, token.error.message);
    }
    return refused('join', { status: 401, kind: token.error.kind, message: token.error.message });
  }
  const fields = requestFields(body, true);
  if (!fields.ok) return refused('join', fields.error);
  const csr = await checkNodeCsr(fields.value.csrPem, fields.value.nodeName);
  if (!csr.ok) return refused('join', csr.error);
  const signed = await options.signer.sign(csr.value);
  return issued('join', csr.value.nodeName, signed, options.signer.caPem, token.value.id);
}

async function renew(body: Record<string, unknown>, request: IncomingMessage, options: NodeBootstrapOptions): Promise<Answer> {
  if (!(request.socket instanceof TLSSocket)) {
    return refused('renew', { status: 401, kind: 'ClientCertificateMissing', message: 'renewal needs TLS with the node certificate' });
  }
  const identity = nodeIdentityOf(request.socket);
  if (!identity.ok) return refused('renew', { status: 401, ...identity.error });
  const nodeName = identity.value.nodeName;
  const fields = requestFields({ ...body, nodeName: body['nodeName'] ?? nodeName }, false);
  if (!fields.ok) return refused('renew', fields.error);
  if (fields.value.nodeName !== nodeName) {
    const message = `the client certificate is for node "${nodeName}"; it cannot renew for another node`;
    return refused('renew', { status: 403, kind: 'NodeNameMismatch', message });
  }
  const csr = await checkNodeCsr(fields.value.csrPem, nodeName);
  if (!csr.ok) return refused('renew', csr.error);
  const signed = await options.signer.sign(csr.value);
  return issued('renew', nodeName, signed, options.signer.caPem);
}

function requestFields(body: Record<string, unknown>, joining: boolean): Result<{ nodeName: string; csrPem: string }, BootstrapRefusal> {
  const { nodeName, csrPem } = body;
  const shape = joining ? '{ token, nodeName, csrPem }' : '{ csrPem, nodeName? }';
  if (typeof nodeName !== 'string' || typeof csrPem !== 'string') {
    return err({ status: 400, kind: 'RequestMalformed', message: `the body must be JSON ${shape} with string fields` });
  }
  return ok({ nodeName, csrPem });
}

function issued(routeName: 'join' | 'renew', nodeName: string, signed: SignedNodeCertificate, caPem: string, tokenId?: string): Answer {
  const response: NodeCertificateResponse = {
    certPem: signed.certPem,
    caPem,
    notBefore: new Date(signed.notBeforeMs).toISOString(),
    notAfter: new Date(signed.notAfterMs).toISOString(),
    rotateAfter: new Date(signed.rotateAfterMs).toISOString(),
    rotateBefore: new Date(signed.rotateBeforeMs).toISOString(),
  };
  const entry: BootstrapAuditEntry = {
    outcome: 'issued',
    route: routeName,
    nodeName,
    ...(tokenId === undefined ? {} : { tokenId }),
    notAfterMs: signed.notAfterMs,
  };
  return { route: routeName, result: ok({ body: JSON.stringify(response), contentType: 'application/json', audit: entry }) };
}

function refused(routeName: string, refusal: BootstrapRefusal, detail?: string): Answer {
  return { route: routeName, result: err(detail === undefined ? { refusal } : { refusal, detail }) };
}

function answerWith(response: ServerResponse, request: IncomingMessage, answer: Answer, audit: (entry: BootstrapAuditEntry) => void): void {
  if (answer.result.ok) {
    const { body, contentType } = answer.result.value;
    if (answer.result.value.audit !== undefined) audit(answer.result.value.audit);
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
    return;
  }
  const { refusal, detail } = answer.result.error;
  audit({
    outcome: 'refused',
    route: answer.route,
    status: refusal.status,
    kind: refusal.kind,
    message: refusal.message,
    ...(detail === undefined ? {} : { detail }),
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (refusal.status === 405) headers['allow'] = request.url?.startsWith(BOOTSTRAP_PATHS.ca) === true ? 'GET' : 'POST';
  // An oversized body is left unread; closing is the only way to stop the client sending it.
  if (refusal.status === 413) headers['connection'] = 'close';
  response.writeHead(refusal.status, headers).end(JSON.stringify({ error: { kind: refusal.kind, message: refusal.message } }));
}

async function readJsonBody(request: IncomingMessage): Promise<Result<Record<string, unknown>, BootstrapRefusal>> {
  const tooLarge: BootstrapRefusal = { status: 413, kind: 'RequestTooLarge', message: `the body is larger than ${BOOTSTRAP_REQUEST_BYTES_MAX} bytes` };
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > BOOTSTRAP_REQUEST_BYTES_MAX) return err(tooLarge);
  const body = await new Promise<Buffer | undefined>((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes <= BOOTSTRAP_REQUEST_BYTES_MAX) {
        chunks.push(chunk);
        return;
      }
      // Stop reading without destroying the socket, so the 413 still reaches the client; the
      // response's `connection: close` then ends the connection.
      request.off('data', onData);
      request.pause();
      resolve(undefined);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', () => resolve(undefined));
  });
  if (body === undefined) return err(tooLarge);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return err({ status: 400, kind: 'RequestMalformed', message: 'the body is not UTF-8 JSON' });
  }
  if (!isJsonObject(json)) return err({ status: 400, kind: 'RequestMalformed', message: 'the body must be a JSON object' });
  return ok(json);
}

export interface BootstrapServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly servingCertPem: string;
  readonly servingKeyPem: string;
  /** The cluster CA, against which renewal requests' client certificates are verified. */
  readonly caPem: string;
  readonly handler: BootstrapHandler;
}

export interface BootstrapServer {
  /** `https://<host>:<port>`, what an edge passes to `joinCluster` as `cloudUrl`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens for bootstrap requests. The server asks every client for a certificate but lets those
 * without one in (`rejectUnauthorized: false`): joining edges have none yet. Renewal then checks
 * `socket.authorized` itself, through `nodeIdentityOf`.
 */
export async function startNodeBootstrapServer(options: BootstrapServerOptions): Promise<Result<BootstrapServer, ListenError>> {
  const server: Server = createHttpsServer(
    {
      cert: options.servingCertPem,
      key: options.servingKeyPem,
      ca: options.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: BOOTSTRAP_REQUEST_TIMEOUT_MS,
      requestTimeout: BOOTSTRAP_REQUEST_TIMEOUT_MS,
      headersTimeout: BOOTSTRAP_REQUEST_TIMEOUT_MS,
    },
    options.handler,
  );
  const listening = await listenHttps(server, options.host, options.port);
  if (!listening.ok) return listening;
  const port = listening.value;
  return ok({
    url: `https://${urlHost(options.host)}:${port}`,
    port,
    close: () => closeHttps(server),
  });
}


function truncate(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length <= 80 ? clean : `${clean.slice(0, 77)}...`;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
