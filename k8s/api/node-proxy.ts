// The Kubernetes node proxy path, `/api/v1/nodes/<node>:<port>/proxy/<path>`, recognised before
// the API reads a body: it reaches an HTTP app on an edge (the service bus), which the server
// hands to its `nodeProxy` option with the request unread, so that option applies its own limits.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from './status.js';

/** Where a node proxy request goes: the node, the app's port, the path after `/proxy` and the query. */
export interface NodeProxyTarget {
  readonly node: string;
  readonly port: number;
  /** As the caller wrote it (still percent-encoded); `/` when the path ends at `/proxy`. */
  readonly path: string;
  /** Without its `?`; empty when none. */
  readonly query: string;
}

/** Serves a node proxy request; the request body is still unread. */
export type NodeProxyHandler = (target: NodeProxyTarget, request: IncomingMessage, response: ServerResponse) => void;

/** A node proxy path the server refuses itself, with the Status it answers. */
export type NodeProxyRefusal = Pick<ApiError, 'code' | 'reason' | 'message'>;

const proxyPathPattern = /^\/api\/v1\/nodes\/([^/]+)\/proxy(\/.*)?$/s;
const portPattern = /^[1-9][0-9]{0,4}$/;

/**
 * Reads a request target (`request.url`) as the node proxy path; undefined when it is another path.
 * The node segment is `[http:]<node>:<port>`, as Kubernetes' SplitSchemeNamePort reads it; a
 * missing port or https are refused, since edge apps answer plain HTTP on their own port.
 *
 * ```ts
 * nodeProxyTargetOf('/api/v1/nodes/edge-1:8080/proxy/temp?unit=c'); // { ok: true, value: { node: 'edge-1', port: 8080, path: '/temp', query: 'unit=c' } }
 * ```
 */
export function nodeProxyTargetOf(url: string): { readonly ok: true; readonly value: NodeProxyTarget } | { readonly ok: false; readonly error: NodeProxyRefusal } | undefined {
  const queryAt = url.indexOf('?');
  const pathname = queryAt < 0 ? url : url.slice(0, queryAt);
  const match = proxyPathPattern.exec(pathname);
  if (match === null) return undefined;
  let segment: string;
  try {
    segment = decodeURIComponent(match[1]!);
  } catch {
    return refuse('the node name is not valid percent-encoding');
  }
  const parts = segment.split(':');
  if (parts.length === 3 && parts[0] === 'https') return refuse('edge apps are reached over plain http on 127.0.0.1; name the node as <node>:<port> or http:<node>:<port>');
  if (parts.length === 3 && parts[0] === 'http') parts.shift();
  if (parts.length !== 2 || !portPattern.test(parts[1]!) || Number(parts[1]) > 65_535) {
    return refuse(`name the app's port: /api/v1/nodes/<node>:<port>/proxy/<path>, port 1-65535 (got ${JSON.stringify(segment.slice(0, 80))})`);
  }
  const query = queryAt < 0 ? '' : url.slice(queryAt + 1);
  return { ok: true, value: { node: parts[0]!, port: Number(parts[1]), path: match[2] ?? '/', query } };
}

const refuse = (message: string): { readonly ok: false; readonly error: NodeProxyRefusal } => ({ ok: false, error: { code: 400, reason: 'BadRequest', message } });

/** What the server answers when no service bus was given to it. */
export const serviceBusUnavailable = (node: string): NodeProxyRefusal => ({
  code: 503,
  reason: 'ServiceUnavailable',
  message: `the service bus is not available: this API server has no edge stream to reach node ${node} through`,
});
