// The cloud Router's rest→EventBus half: KubeEdge's router URL `POST /<nodeName>/<namespace>/<path>`
// finds the rest-source Rule of that namespace and path, and its body is published on the edge's
// broker on the Rule's eventbus target topic, through a query the edge answers once its broker took
// the message (QoS 1). The answer says which Rule carried it; every refusal is a JSON Status-like
// body with a reason. Outcomes are counted in the Rule's status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonObject, type JsonValue, type Result } from '../../kernel/index.js';
import { ROUTER_PAYLOAD_BYTES_MAX, eventBusPublishRequest, type QueryError, type QueryRequest } from '../../transport/index.js';
import { parseRouterAddress, restRoute, type RouterTable, type RuleRef } from './router-rules.js';
import type { DeliveryOutcome } from './rule-status.js';

/** How long a publish may wait for the edge (reconnects included); KubeEdge's restTimeout is 60 s. */
export const ROUTER_REST_TIMEOUT_MS_DEFAULT = 30_000;

/** What the REST entry needs from the cloud. */
export interface RouterRestOptions {
  readonly table: () => RouterTable;
  readonly request: (node: string, request: QueryRequest, timeoutMs: number) => Promise<Result<JsonValue, QueryError>>;
  /** Whether the node's edge is connected now: a publish for an edge away fails at once (503), as the service bus does. */
  readonly isLinked: (node: string) => boolean;
  readonly count: (rule: RuleRef, outcome: DeliveryOutcome) => void;
  /** Whether the caller may publish (bearer token); the body is not read otherwise. */
  readonly authorized: (request: IncomingMessage) => boolean;
  readonly bodyBytesMax?: number;
  readonly timeoutMs?: number;
}

type Answer = { readonly status: number; readonly body: JsonValue };

const refusal = (status: number, reason: string, message: string): Answer => ({ status, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code: status } });

/**
 * An HTTP handler for KubeEdge's router URL.
 * @example
 * createServer(routerRestHandler({ table: () => rules.table(), request: (n, r, t) => hub.request(n, r, t), isLinked: (n) => hub.isLinked(n), count, authorized }))
 */
export function routerRestHandler(options: RouterRestOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const bodyBytesMax = options.bodyBytesMax ?? ROUTER_PAYLOAD_BYTES_MAX;
  const timeoutMs = options.timeoutMs ?? ROUTER_REST_TIMEOUT_MS_DEFAULT;
  return (request, response) => {
    const send = (answer: Answer): void => {
      const text = JSON.stringify(answer.body);
      response.writeHead(answer.status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
      response.end(text);
    };
    const refuseUnread = (answer: Answer): void => {
      request.resume();
      response.setHeader('Connection', 'close');
      send(answer);
    };
    if (!options.authorized(request)) return refuseUnread(refusal(401, 'Unauthorized', 'the router needs the API bearer token (Authorization: Bearer …)'));
    if (request.method !== 'POST' && request.method !== 'PUT') return refuseUnread(refusal(405, 'MethodNotAllowed', 'the router publishes a POST or PUT body'));
    const address = parseRouterAddress(new URL(request.url ?? '/', 'http://router').pathname);
    if (!address.ok) return refuseUnread(refusal(404, 'NotFound', address.error));
    const route = restRoute(options.table(), address.value.namespace, address.value.path);
    if (route === undefined) return refuseUnread(refusal(404, 'NotFound', `no rest→eventbus Rule in namespace ${address.value.namespace} has the path ${address.value.path}`));
    if (Number(request.headers['content-length'] ?? '0') > bodyBytesMax) return refuseUnread(refusal(413, 'RequestEntityTooLarge', `the body exceeds the router's limit of ${bodyBytesMax} bytes`));
    void readBody(request, bodyBytesMax).then(async (body) => {
      if (body === undefined) return refuseUnread(refusal(413, 'RequestEntityTooLarge', `the body exceeds the router's limit of ${bodyBytesMax} bytes`));
      const answer = await publish(options, address.value.node, route.topic, body, timeoutMs);
      options.count(route.rule, answer.status === 200 ? { ok: true } : { ok: false, error: `publish on ${address.value.node} ${route.topic}: ${messageOf(answer)}` });
      send(answer.status === 200 ? { status: 200, body: { rule: `${route.rule.namespace}/${route.rule.name}`, node: address.value.node, topic: route.topic, published: true } } : answer);
    });
  };
}

async function publish(options: RouterRestOptions, node: string, topic: string, body: Buffer, timeoutMs: number): Promise<Answer> {
  const query = eventBusPublishRequest(topic, body);
  if (!query.ok) return refusal(400, 'BadRequest', query.error);
  if (!options.isLinked(node)) return refusal(503, 'ServiceUnavailable', `node ${node} is not connected to this cloud`);
  const answer = await options.request(node, query.value, timeoutMs);
  if (answer.ok) return { status: 200, body: answer.value };
  switch (answer.error.kind) {
    case 'QueryTimedOut':
      return refusal(504, 'Timeout', answer.error.message);
    case 'QueryRefused':
      return refusal(502, 'BadGateway', answer.error.message);
    case 'QueriesPendingMax':
    case 'StreamStopped':
      return refusal(503, 'ServiceUnavailable', answer.error.message);
  }
}

const messageOf = (answer: Answer): string => {
  const message = isJsonObject(answer.body) ? answer.body['message'] : undefined;
  return typeof message === 'string' ? message : `answered ${answer.status}`;
};

/** The body, or undefined once it passes `bytesMax` (the rest is not read). */
function readBody(request: IncomingMessage, bytesMax: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > bytesMax) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(size > bytesMax ? undefined : Buffer.concat(chunks)));
    request.on('error', () => resolve(undefined));
  });
}
