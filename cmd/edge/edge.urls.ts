// The two cloud addresses an edge needs, parsed from `--cloud` and `--bootstrap`: the stream's base
// URL and the bootstrap endpoint, which by default sits on the same host two ports up (KubeEdge's
// 10000/10002 layout, which `edgehive cloud` follows).
import { type Result, err, ok } from '../../kernel/index.js';

/** Where `edgehive cloud` puts its bootstrap server relative to the stream port. */
export const BOOTSTRAP_PORT_OFFSET = 2;
const PORT_MAX = 65535;
const WSS_DEFAULT_PORT = 443;

export interface EdgeUrls {
  /** `wss://<host>:<port>`, what connectMtlsStream takes. */
  readonly streamUrl: string;
  /** `https://<host>:<port>`, what joinCluster and renewNodeCertificate take. */
  readonly bootstrapUrl: string;
}

/**
 * Checks `--cloud` (the `Stream:` line `edgehive cloud` prints) and `--bootstrap` (its `Join:` line),
 * defaulting the latter to the stream's host at port + 2.
 * @example parseEdgeUrls('wss://10.0.0.1:10000', undefined) // ok({ streamUrl: 'wss://10.0.0.1:10000', bootstrapUrl: 'https://10.0.0.1:10002' })
 */
export function parseEdgeUrls(cloud: string, bootstrap: string | undefined): Result<EdgeUrls, string> {
  const stream = baseUrl('--cloud', cloud, 'wss:', 'the "Stream:" line of edgehive cloud');
  if (!stream.ok) return stream;
  if (bootstrap !== undefined) {
    const join = baseUrl('--bootstrap', bootstrap, 'https:', 'the "Join:" line of edgehive cloud');
    if (!join.ok) return join;
    return ok({ streamUrl: stream.value.origin, bootstrapUrl: join.value.origin });
  }
  // The URL parser drops a default port: wss://host:443 and wss://host both arrive as ''.
  const port = (stream.value.port === '' ? WSS_DEFAULT_PORT : Number(stream.value.port)) + BOOTSTRAP_PORT_OFFSET;
  if (port > PORT_MAX) return err(`the bootstrap port would be ${port} (stream port + ${BOOTSTRAP_PORT_OFFSET}); pass --bootstrap https://<host>:<port>`);
  return ok({ streamUrl: stream.value.origin, bootstrapUrl: `https://${stream.value.hostname}:${port}` });
}

function baseUrl(flag: string, text: string, protocol: 'wss:' | 'https:', what: string): Result<URL, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err(`${flag} takes ${protocol}//<host>:<port> (${what}); '${text}' is not a URL`);
  }
  if (url.protocol !== protocol) return err(`${flag} takes ${protocol}//<host>:<port> (${what}), not ${url.protocol}//`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return err(`${flag} takes the base URL ${protocol}//<host>:<port> (${what}), without a path, query or credentials; got '${text}'`);
  }
  return ok(url);
}
