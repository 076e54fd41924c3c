// What a service-bus call carries over the stream (kubeedge-reference §6): KubeEdge's HTTPRequest
// `{header, body (base64), method, url}` down and HTTPResponse `{header, status_code, body}` up,
// with the limits both ends enforce, the headers that never cross a proxy, and the one-line error
// texts the edge answers with, which the cloud maps back to HTTP statuses.
import { assertNever, err, isJsonObject, ok, type JsonObject, type JsonValue, type Result } from '../../kernel/index.js';

/** Request and response bodies, each: 2 MiB is 2.7 MiB as base64, well inside the stream's 4 MiB frameBytesMax. */
export const SERVICE_BUS_BODY_BYTES_MAX_DEFAULT = 2 * 1024 * 1024;
/**
 * The largest body limit either end accepts: its base64 (4/3), the headers (escaped, at most twice
 * their bytes), the url and the envelope stay below the default 4 MiB frameBytesMax, so an answer
 * is never a frame the session refuses to send.
 */
export const SERVICE_BUS_BODY_BYTES_CEILING = 2.5 * 1024 * 1024;
/** All header names and values of one request or response together (Node's own parser stops at 16 KiB). */
export const SERVICE_BUS_HEADER_BYTES_MAX = 64 * 1024;
/** Header lines of one request or response. */
export const SERVICE_BUS_HEADER_LINES_MAX = 256;
/** Path and query string together. */
export const SERVICE_BUS_URL_CHARS_MAX = 8 * 1024;
/** How long the edge waits for its app, connect to last byte (KubeEdge's servicebus client: 10 s). */
export const EDGE_APP_TIMEOUT_MS_DEFAULT = 10_000;
/** How long the cloud waits for the edge's answer over the stream: the app's 10 s and room for the link. */
export const SERVICE_BUS_QUERY_TIMEOUT_MS_DEFAULT = 15_000;

/** Header values by canonical name (Go's http.Header, as KubeEdge marshals it). */
export type HttpHeader = { readonly [name: string]: readonly string[] };

/** A call the cloud asks an edge app: the method, the path with its query, headers and body. */
export interface ServiceBusCall {
  readonly method: string;
  /** `/path?query`, sent to the app as it is. */
  readonly url: string;
  readonly header: HttpHeader;
  readonly body: Buffer;
}

/** What the app answered. */
export interface ServiceBusAnswer {
  readonly statusCode: number;
  readonly header: HttpHeader;
  readonly body: Buffer;
}

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus what the proxy
 * sets itself: the length (recomputed), the host (the edge's loopback), and the caller's
 * credentials for the API server (kube-apiserver strips Authorization after authenticating too).
 */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'authorization',
]);

/** False for a header a proxy never passes on (`name` in lower case). */
export const isForwardedHeaderName = (name: string): boolean => !NOT_FORWARDED.has(name);

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Node accepts in a header value (its checkInvalidHeaderChar): no CR, LF or NUL. */
const headerValuePattern = /^[\t\x20-\x7e\x80-\xff]*$/;
const METHOD_CHARS_MAX = 32;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
/** A URL's query part as the edge passes it on: printable ASCII without a fragment. */
const queryPattern = /^[!-"$-~]*$/;
/** True for the query string of a call (without its `?`): printable ASCII, no spaces, no fragment. */
export const isCallQuery = (query: string): boolean => queryPattern.test(query);

/** `content-type` → `Content-Type`, as Go's CanonicalMIMEHeaderKey writes header names. */
export const canonicalHeaderName = (name: string): string => name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`);

/**
 * The headers of a message as a proxy passes them on: hop-by-hop ones (and those the `Connection`
 * header names) dropped, names canonical, values in arrival order. `rawHeaders` is Node's flat
 * name/value list.
 */
export function forwardedHeaders(rawHeaders: readonly string[]): HttpHeader {
  const named = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
  }
  const header: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (NOT_FORWARDED.has(lower) || named.has(lower)) continue;
    (header[canonicalHeaderName(lower)] ??= []).push(rawHeaders[i + 1]!);
  }
  return header;
}

/** The call as query content: KubeEdge's HTTPRequest. */
export const callContent = (call: ServiceBusCall): JsonObject => ({ header: headerJson(call.header), body: call.body.toString('base64'), method: call.method, url: call.url });

/** The answer as response content: KubeEdge's HTTPResponse. */
export const answerContent = (answer: ServiceBusAnswer): JsonObject => ({ header: headerJson(answer.header), status_code: answer.statusCode, body: answer.body.toString('base64') });

const headerJson = (header: HttpHeader): JsonObject => Object.fromEntries(Object.entries(header).map(([name, values]) => [name, [...values]]));

/**
 * Reads a call from query content, for the app at `path`: the url must be that path, optionally
 * with a query string. `bodyBytesMax` bounds the decoded body; a longer one is refused naming it.
 */
export function callOf(content: JsonValue, path: string, bodyBytesMax: number): Result<ServiceBusCall, ServiceBusFailure> {
  if (!isJsonObject(content)) return failure('BadRequest', 'the request content must be an object {header, body, method, url}');
  const method = content['method'];
  if (typeof method !== 'string' || method.length > METHOD_CHARS_MAX || !tokenPattern.test(method)) return failure('BadRequest', 'method must be an HTTP method token');
  if (method.toUpperCase() === 'CONNECT') return failure('BadRequest', 'CONNECT is not served through the service bus');
  const url = content['url'];
  if (typeof url !== 'string' || !urlOfPath(url, path)) return failure('BadRequest', `url must be ${path}, optionally followed by ?query, at most ${SERVICE_BUS_URL_CHARS_MAX} characters`);
  const header = headerOf(content['header']);
  if (!header.ok) return header;
  const body = bodyOf(content['body'], bodyBytesMax, 'RequestTooLarge', 'request');
  if (!body.ok) return body;
  return ok({ method, url, header: header.value, body: body.value });
}

/** Reads an answer from response content; `bodyBytesMax` bounds its decoded body. */
export function answerOf(content: JsonValue, bodyBytesMax: number): Result<ServiceBusAnswer, ServiceBusFailure> {
  if (!isJsonObject(content)) return failure('AppFailed', 'the edge answered with something other than {header, status_code, body}');
  const statusCode = content['status_code'];
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) return failure('AppFailed', 'the edge answered with a status_code outside 200-599');
  const header = headerOf(content['header']);
  if (!header.ok) return header;
  const body = bodyOf(content['body'], bodyBytesMax, 'ResponseTooLarge', 'response');
  if (!body.ok) return body;
  return ok({ statusCode, header: header.value, body: body.value });
}

function urlOfPath(url: string, path: string): boolean {
  if (url.length > SERVICE_BUS_URL_CHARS_MAX || !url.startsWith(path)) return false;
  const rest = url.slice(path.length);
  return rest === '' || (rest.startsWith('?') && queryPattern.test(rest.slice(1)));
}

/** Header content: names are tokens, values strings Node will send, within the line and byte bounds. */
function headerOf(value: JsonValue | undefined): Result<HttpHeader, ServiceBusFailure> {
  if (value === undefined || value === null) return ok({});
  if (!isJsonObject(value)) return failure('BadRequest', 'header must be an object of string arrays');
  const header: Record<string, string[]> = {};
  let lines = 0;
  let bytes = 0;
  for (const [name, values] of Object.entries(value)) {
    if (!tokenPattern.test(name)) return failure('BadRequest', 'a header name is not an HTTP token');
    if (!Array.isArray(values) || !values.every((v): v is string => typeof v === 'string' && headerValuePattern.test(v))) {
      return failure('BadRequest', `header ${name.slice(0, 64)} must be an array of strings without CR, LF or NUL`);
    }
    lines += values.length;
    bytes += values.reduce((sum, v) => sum + name.length + v.length, 0);
    if (lines > SERVICE_BUS_HEADER_LINES_MAX || bytes > SERVICE_BUS_HEADER_BYTES_MAX) {
      return failure('BadRequest', `headers exceed ${SERVICE_BUS_HEADER_LINES_MAX} lines or ${SERVICE_BUS_HEADER_BYTES_MAX} bytes`);
    }
    header[canonicalHeaderName(name)] = [...(header[canonicalHeaderName(name)] ?? []), ...values];
  }
  return ok(header);
}

/** A base64 body, its decoded size checked before it is decoded. */
function bodyOf(value: JsonValue | undefined, bodyBytesMax: number, tooLarge: 'RequestTooLarge' | 'ResponseTooLarge', what: string): Result<Buffer, ServiceBusFailure> {
  if (value === undefined || value === null || value === '') return ok(Buffer.alloc(0));
  if (typeof value !== 'string' || value.length % 4 !== 0 || !base64Pattern.test(value)) return failure('BadRequest', `the ${what} body must be base64`);
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const bytes = (value.length / 4) * 3 - padding;
  if (bytes > bodyBytesMax) return failure(tooLarge, bodyTooLargeMessage(what, bodyBytesMax));
  return ok(Buffer.from(value, 'base64'));
}

/** The one sentence both ends use for a body over the limit. */
export const bodyTooLargeMessage = (what: string, bodyBytesMax: number): string => `the ${what} body exceeds the service bus limit of ${bodyBytesMax} bytes`;

/** Why a call failed, in words the cloud turns into an HTTP status. */
export type ServiceBusFailureKind = 'BadRequest' | 'PortNotAllowed' | 'RequestTooLarge' | 'ResponseTooLarge' | 'AppTimedOut' | 'AppUnreachable' | 'AppFailed';
export type ServiceBusFailure = { readonly kind: ServiceBusFailureKind; readonly message: string };

const FAILURE_KINDS: readonly ServiceBusFailureKind[] = ['BadRequest', 'PortNotAllowed', 'RequestTooLarge', 'ResponseTooLarge', 'AppTimedOut', 'AppUnreachable', 'AppFailed'];

const failure = (kind: ServiceBusFailureKind, message: string): Result<never, ServiceBusFailure> => err({ kind, message });

/** The error answer's text: `servicebus <Kind>: <message>` (an error frame carries only text). */
export const failureText = (f: ServiceBusFailure): string => `servicebus ${f.kind}: ${f.message}`;

/** Reads an error answer's text back; undefined for a text the service bus did not write (a refusal by the hub, say). */
export function failureOfText(text: string): ServiceBusFailure | undefined {
  const match = /^servicebus ([A-Za-z]+): (.*)$/s.exec(text);
  if (match === null || !(FAILURE_KINDS as readonly string[]).includes(match[1]!)) return undefined;
  return { kind: match[1] as ServiceBusFailureKind, message: match[2]! };
}

/** The HTTP status and Kubernetes Status reason a failure answers with at the cloud. */
export function httpStatusOf(kind: ServiceBusFailureKind): { readonly code: number; readonly reason: string } {
  switch (kind) {
    case 'BadRequest':
      return { code: 400, reason: 'BadRequest' };
    case 'PortNotAllowed':
      return { code: 403, reason: 'Forbidden' };
    case 'RequestTooLarge':
    case 'ResponseTooLarge':
      return { code: 413, reason: 'RequestEntityTooLarge' };
    case 'AppTimedOut':
      return { code: 504, reason: 'Timeout' };
    case 'AppUnreachable':
    case 'AppFailed':
      return { code: 502, reason: 'BadGateway' };
    default:
      return assertNever(kind);
  }
}
