// The edge end of the service bus (KubeEdge's edge ServiceBus): answers the cloud's service-bus
// queries by calling the HTTP app on 127.0.0.1:<port>, within a time and a body-size limit, and
// replies with its status, headers and body; every failure is an error answer naming its cause.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { err, invariant, ok, type Result } from '../../kernel/index.js';
import type { QueryResponder } from '../stream/requests.js';
import {
  EDGE_APP_TIMEOUT_MS_DEFAULT,
  SERVICE_BUS_BODY_BYTES_CEILING,
  SERVICE_BUS_BODY_BYTES_MAX_DEFAULT,
  answerContent,
  bodyTooLargeMessage,
  callOf,
  failureText,
  forwardedHeaders,
  type ServiceBusAnswer,
  type ServiceBusCall,
  type ServiceBusFailure,
} from './service-bus.protocol.js';

/** The only host the service bus calls: apps on the edge itself, never the network beyond it. */
export const EDGE_APP_HOST = '127.0.0.1';

export interface ServiceBusResponderOptions {
  /** Request and response bodies, each (default 2 MiB). */
  readonly bodyBytesMax?: number;
  /** Connect to last byte of the app's answer (default 10 s, as KubeEdge's client). */
  readonly timeoutMs?: number;
  /** Which ports the cloud may call; every port when absent. */
  readonly allowedPorts?: (port: number) => boolean;
}

/**
 * An EdgeHub `respond` that answers service-bus queries; any other query gets the error
 * `edge answers no <resource> queries`.
 *
 * ```ts
 * const edge = await EdgeHub.open({ ...options, respond: serviceBusResponder({ allowedPorts: (p) => p >= 1024 }) });
 * ```
 */
export function serviceBusResponder(options: ServiceBusResponderOptions = {}): QueryResponder {
  const limits = { bodyBytesMax: options.bodyBytesMax ?? SERVICE_BUS_BODY_BYTES_MAX_DEFAULT, timeoutMs: options.timeoutMs ?? EDGE_APP_TIMEOUT_MS_DEFAULT };
  invariant(Number.isSafeInteger(limits.bodyBytesMax) && limits.bodyBytesMax >= 0, 'the body limit is a byte count');
  invariant(limits.bodyBytesMax <= SERVICE_BUS_BODY_BYTES_CEILING, 'a body at the limit still fits one stream frame');
  invariant(Number.isSafeInteger(limits.timeoutMs) && limits.timeoutMs >= 1, 'the app timeout is a positive number of milliseconds');
  return async (query) => {
    const target = query.target;
    if (target.kind !== 'serviceBus' || query.route.group !== 'user') return err(`edge answers no ${query.route.resource} queries`);
    if (options.allowedPorts !== undefined && !options.allowedPorts(target.port)) {
      return err(failureText({ kind: 'PortNotAllowed', message: `port ${target.port} is not open to the service bus on this edge` }));
    }
    const call = callOf(query.content, target.path, limits.bodyBytesMax);
    if (!call.ok) return err(failureText(call.error));
    const answer = await callEdgeApp(target.port, call.value, limits);
    return answer.ok ? ok(answerContent(answer.value)) : err(failureText(answer.error));
  };
}

/** Calls the app on 127.0.0.1:`port`: one connection of its own, abandoned at the deadline or at the body limit. */
export function callEdgeApp(port: number, call: ServiceBusCall, limits: { readonly bodyBytesMax: number; readonly timeoutMs: number }): Promise<Result<ServiceBusAnswer, ServiceBusFailure>> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Result<ServiceBusAnswer, ServiceBusFailure>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
      if (!result.ok) request.destroy();
    };
    const request = httpRequest({ host: EDGE_APP_HOST, port, method: call.method, path: call.url, headers: outgoingHeaders(call), agent: false });
    const timer = setTimeout(() => {
      done(err({ kind: 'AppTimedOut', message: `the app on ${EDGE_APP_HOST}:${port} gave no complete answer to ${call.method} ${pathOf(call.url)} within ${limits.timeoutMs} ms` }));
    }, limits.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => done(err(connectionFailure(port, error))));
    request.on('response', (response) => readAnswer(port, response, limits.bodyBytesMax, done));
    request.end(call.body);
  });
}

function readAnswer(port: number, response: IncomingMessage, bodyBytesMax: number, done: (result: Result<ServiceBusAnswer, ServiceBusFailure>) => void): void {
  const statusCode = response.statusCode ?? 0;
  if (statusCode < 200 || statusCode > 599) return done(err({ kind: 'AppFailed', message: `the app on ${EDGE_APP_HOST}:${port} answered with status ${statusCode}` }));
  const tooLarge = err({ kind: 'ResponseTooLarge', message: bodyTooLargeMessage('response', bodyBytesMax) } as const);
  if (Number(response.headers['content-length'] ?? '0') > bodyBytesMax) return done(tooLarge);
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > bodyBytesMax) return done(tooLarge);
    chunks.push(chunk);
  });
  response.on('error', (error) => done(err({ kind: 'AppFailed', message: `the app on ${EDGE_APP_HOST}:${port} broke off its answer: ${error.message}` })));
  response.on('end', () => done(ok({ statusCode, header: forwardedHeaders(response.rawHeaders), body: Buffer.concat(chunks) })));
}

/** The call's headers for Node, with the body's length (always given for methods that carry a body). */
function outgoingHeaders(call: ServiceBusCall): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(call.header)) headers[name] = values.length === 1 ? values[0] : [...values];
  if (call.body.length > 0 || !BODILESS_METHODS.has(call.method.toUpperCase())) headers['Content-Length'] = String(call.body.length);
  return headers;
}

const BODILESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

const pathOf = (url: string): string => url.split('?', 1)[0] ?? url;

function connectionFailure(port: number, error: NodeJS.ErrnoException): ServiceBusFailure {
  switch (error.code) {
    case 'ECONNREFUSED':
      return { kind: 'AppUnreachable', message: `connection refused: nothing listens on ${EDGE_APP_HOST}:${port} at the edge` };
    case 'ECONNRESET':
    case 'EPIPE':
      return { kind: 'AppUnreachable', message: `the app on ${EDGE_APP_HOST}:${port} closed the connection without an answer` };
    default:
      return { kind: 'AppFailed', message: `calling the app on ${EDGE_APP_HOST}:${port} failed: ${error.message}` };
  }
}
