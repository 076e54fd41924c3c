// The cloud end of the service bus, kubectl-native: the API server hands it the node proxy path
// `/api/v1/nodes/<node>:<port>/proxy/<path>`; this reads the caller's request within the body
// limit, asks that node's edge over its own stream, and writes the app's answer back, or a
// Kubernetes Status saying what failed (the node is not connected, the app timed out, …).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNever, err, invariant, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { Groups, Modules } from '../frames/frame.js';
import { isObjectName, parseWireResource, type ServiceBusResource } from '../frames/resource.js';
import type { QueryError, QueryRequest } from '../stream/requests.js';
import {
  SERVICE_BUS_BODY_BYTES_CEILING,
  SERVICE_BUS_BODY_BYTES_MAX_DEFAULT,
  SERVICE_BUS_QUERY_TIMEOUT_MS_DEFAULT,
  SERVICE_BUS_URL_CHARS_MAX,
  answerOf,
  bodyTooLargeMessage,
  callContent,
  failureOfText,
  forwardedHeaders,
  httpStatusOf,
  isCallQuery,
  isForwardedHeaderName,
  type ServiceBusAnswer,
} from './service-bus.protocol.js';

/** What can ask a node over its stream: CloudHub. */
export interface ServiceBusHub {
  request(node: string, request: QueryRequest, timeoutMs?: number): Promise<Result<JsonValue, QueryError>>;
  /** Whether the node's stream is up now; when given, a call to an unlinked node is refused at once instead of waiting for the link. */
  isLinked?(node: string): boolean;
}

/** The node proxy path, parsed by the API server: `/api/v1/nodes/<node>:<port>/proxy<path>?<query>`. */
export interface NodeProxyTarget {
  readonly node: string;
  readonly port: number;
  /** The path after `/proxy`, as the caller wrote it (percent-encoded); `/` when none. */
  readonly path: string;
  /** The query string without its `?`; empty when none. */
  readonly query: string;
}

/** The API server's `nodeProxy` option. */
export type NodeProxyHandler = (target: NodeProxyTarget, request: IncomingMessage, response: ServerResponse) => void;

export interface NodeProxyOptions {
  /** Request and response bodies, each (default 2 MiB). */
  readonly bodyBytesMax?: number;
  /** How long to wait for the edge's answer over the stream (default 15 s; the edge gives its app 10 s). */
  readonly timeoutMs?: number;
}

type Limits = { readonly bodyBytesMax: number; readonly timeoutMs: number };
type StatusReply = { readonly kind: 'status'; readonly code: number; readonly reason: string; readonly message: string };
type Outcome = { readonly kind: 'answer'; readonly answer: ServiceBusAnswer } | StatusReply;

/**
 * The node proxy handler: any method, the query string passed on, to the app on the edge's
 * 127.0.0.1:<port>.
 *
 * ```ts
 * await startEmbeddedApiServer({ dataDir, nodeProxy: nodeProxyHandler(hub) });
 * // kubectl get --raw /api/v1/nodes/edge-1:8080/proxy/temperature
 * ```
 */
export function nodeProxyHandler(hub: ServiceBusHub, options: NodeProxyOptions = {}): NodeProxyHandler {
  const limits: Limits = { bodyBytesMax: options.bodyBytesMax ?? SERVICE_BUS_BODY_BYTES_MAX_DEFAULT, timeoutMs: options.timeoutMs ?? SERVICE_BUS_QUERY_TIMEOUT_MS_DEFAULT };
  invariant(Number.isSafeInteger(limits.bodyBytesMax) && limits.bodyBytesMax >= 0, 'the body limit is a byte count');
  invariant(limits.bodyBytesMax <= SERVICE_BUS_BODY_BYTES_CEILING, 'a body at the limit still fits one stream frame');
  invariant(Number.isSafeInteger(limits.timeoutMs) && limits.timeoutMs >= 1, 'the stream timeout is a positive number of milliseconds');
  return (target, request, response) => {
    proxyCall(hub, limits, target, request, response).catch((error: unknown) => {
      writeStatus(response, { kind: 'status', code: 500, reason: 'InternalError', message: `service bus: ${(error as Error).message}` });
    });
  };
}

async function proxyCall(hub: ServiceBusHub, limits: Limits, target: NodeProxyTarget, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const resource = resourceOf(target);
  if (!resource.ok) return refuseEarly(request, response, resource.error);
  if (hub.isLinked?.(target.node) === false) return refuseEarly(request, response, notConnected(target.node, 'its stream is down'));
  const body = await readBody(request, limits.bodyBytesMax);
  if (!body.ok) {
    if (body.error === 'aborted') return;
    response.setHeader('Connection', 'close');
    return writeStatus(response, { kind: 'status', code: 413, reason: 'RequestEntityTooLarge', message: bodyTooLargeMessage('request', limits.bodyBytesMax) });
  }
  const url = target.query === '' ? target.path : `${target.path}?${target.query}`;
  const call = { method: request.method ?? 'GET', url, header: forwardedHeaders(request.rawHeaders), body: body.value };
  const query: QueryRequest = { source: Modules.routerServiceBus, group: Groups.user, resource: resource.value, content: callContent(call) };
  const answered = await hub.request(target.node, query, limits.timeoutMs);
  const outcome = outcomeOf(target.node, answered, limits);
  if (outcome.kind === 'status') return writeStatus(response, outcome);
  writeAnswer(response, outcome.answer);
}

/** The wire resource for a target, or the status refusing it (a bad node name, port or path). */
export function resourceOf(target: NodeProxyTarget): Result<ServiceBusResource, StatusReply> {
  const bad = (message: string): Result<never, StatusReply> => err({ kind: 'status', code: 400, reason: 'BadRequest', message });
  if (!isObjectName(target.node)) return bad(`node name ${JSON.stringify(target.node.slice(0, 64))} is not a DNS-1123 subdomain`);
  const url = target.query === '' ? target.path : `${target.path}?${target.query}`;
  if (url.length > SERVICE_BUS_URL_CHARS_MAX) return err({ kind: 'status', code: 414, reason: 'RequestURITooLong', message: `path and query exceed ${SERVICE_BUS_URL_CHARS_MAX} characters` });
  if (!isCallQuery(target.query)) return bad('the query string must be printable ASCII');
  const parsed = parseWireResource(`${target.port}:${target.path}`);
  if (parsed.ok && parsed.value.kind === 'serviceBus') return ok(parsed.value);
  const reason = parsed.ok ? 'not a service-bus target' : parsed.error.reason;
  if (reason.startsWith('longer than')) return err({ kind: 'status', code: 414, reason: 'RequestURITooLong', message: `the path is ${reason}` });
  return bad(`cannot call port ${target.port} path ${JSON.stringify(target.path.slice(0, 64))}: ${reason}`);
}

/** What the caller gets for the stream's answer: the app's response, or a Status naming the failure. */
export function outcomeOf(node: string, answered: Result<JsonValue, QueryError>, limits: Limits): Outcome {
  if (answered.ok) {
    const answer = answerOf(answered.value, limits.bodyBytesMax);
    if (answer.ok) return { kind: 'answer', answer: answer.value };
    const { code, reason } = httpStatusOf(answer.error.kind);
    return { kind: 'status', code, reason, message: `node ${node}: ${answer.error.message}` };
  }
  const error = answered.error;
  switch (error.kind) {
    case 'QueryRefused': {
      const failure = failureOfText(error.message);
      if (failure !== undefined) return { kind: 'status', ...httpStatusOf(failure.kind), message: `node ${node}: ${failure.message}` };
      // CloudHub's words for a node that has no stream here at all.
      if (/never connected/.test(error.message)) return notConnected(node, 'it never connected to this cloud');
      return { kind: 'status', code: 502, reason: 'BadGateway', message: `node ${node} refused the call: ${error.message}` };
    }
    case 'QueryTimedOut':
      return { kind: 'status', code: 504, reason: 'Timeout', message: `node ${node} gave no answer over its stream within ${error.timeoutMs} ms (its link may be down)` };
    case 'QueriesPendingMax':
      return { kind: 'status', code: 429, reason: 'TooManyRequests', message: `node ${node}: ${error.message}; retry later` };
    case 'StreamStopped':
      return notConnected(node, error.message);
    default:
      return assertNever(error);
  }
}

const notConnected = (node: string, why: string): StatusReply => ({ kind: 'status', code: 503, reason: 'ServiceUnavailable', message: `node ${node} is not connected: ${why}` });

/** Refuses before the body is read: the rest of it is drained, and the connection closed after the answer. */
function refuseEarly(request: IncomingMessage, response: ServerResponse, status: StatusReply): void {
  request.resume();
  writeStatus(response, status);
}

/** The request body, at most `bodyBytesMax` bytes; past that the rest is drained and dropped. */
function readBody(request: IncomingMessage, bodyBytesMax: number): Promise<Result<Buffer, 'tooLarge' | 'aborted'>> {
  if (Number(request.headers['content-length'] ?? '0') > bodyBytesMax) {
    request.resume();
    return Promise.resolve(err('tooLarge'));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > bodyBytesMax) return resolve(err('tooLarge'));
      chunks.push(chunk);
    });
    request.on('end', () => resolve(size > bodyBytesMax ? err('tooLarge') : ok(Buffer.concat(chunks))));
    request.on('close', () => resolve(err('aborted')));
  });
}

function writeAnswer(response: ServerResponse, answer: ServiceBusAnswer): void {
  for (const [name, values] of Object.entries(answer.header)) {
    if (isForwardedHeaderName(name.toLowerCase())) response.setHeader(name, [...values]);
  }
  response.setHeader('Content-Length', String(answer.body.length));
  response.writeHead(answer.statusCode);
  response.end(answer.body);
}

const statusBody = (status: StatusReply): JsonObject => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: status.message, reason: status.reason, code: status.code });

function writeStatus(response: ServerResponse, status: StatusReply): void {
  if (response.headersSent) return void response.destroy();
  const body = JSON.stringify(statusBody(status));
  response.writeHead(status.code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': String(Buffer.byteLength(body)) });
  response.end(body);
}
