// The cloud addresses an edge knows, parsed from `--cloud` and `--bootstrap` (each one URL or a
// comma-separated list, one per cloud process), and the pure decisions about moving between them:
// which stream URL the next connect goes to, and which bootstrap URLs a join or renewal tries. By
// default a bootstrap endpoint sits on its stream's host two ports up (KubeEdge's 10000/10002
// layout, which `edgehive cloud` follows).
import { type Result, err, invariant, ok } from '../../kernel/index.js';

/** Where `edgehive cloud` puts its bootstrap server relative to the stream port. */
export const BOOTSTRAP_PORT_OFFSET = 2;
/** Cloud processes one edge may list; a fleet's cloud is a handful of processes, not a directory. */
export const CLOUD_URLS_MAX = 16;
const PORT_MAX = 65535;
const WSS_DEFAULT_PORT = 443;

export interface EdgeUrls {
  /** `wss://<host>:<port>`, what connectMtlsStream takes. */
  readonly streamUrl: string;
  /** `https://<host>:<port>`, what joinCluster and renewNodeCertificate take. */
  readonly bootstrapUrl: string;
}

/**
 * Checks `--cloud` (the `Stream:` line of each `edgehive cloud`, comma-separated) and `--bootstrap`
 * (their `Join:` lines: one for all, or one per stream URL in the same order), defaulting each
 * stream URL's bootstrap URL to its host at port + 2. The list keeps the order given: the edge
 * starts with the first.
 * @example parseEdgeUrls('wss://10.0.0.1:10000', undefined) // ok([{ streamUrl: 'wss://10.0.0.1:10000', bootstrapUrl: 'https://10.0.0.1:10002' }])
 * @example parseEdgeUrls('wss://h1:10000,wss://h2:10000', undefined) // two pairs, bootstraps https://h1:10002 and https://h2:10002
 */
export function parseEdgeUrls(cloud: string, bootstrap: string | undefined): Result<readonly EdgeUrls[], string> {
  const streams = parseList('--cloud', cloud, 'wss:', 'the "Stream:" line of edgehive cloud');
  if (!streams.ok) return streams;
  if (bootstrap === undefined) {
    const pairs: EdgeUrls[] = [];
    for (const stream of streams.value) {
      const join = defaultBootstrapUrl(stream);
      if (!join.ok) return join;
      pairs.push({ streamUrl: stream.origin, bootstrapUrl: join.value });
    }
    return ok(pairs);
  }
  const joins = parseList('--bootstrap', bootstrap, 'https:', 'the "Join:" line of edgehive cloud');
  if (!joins.ok) return joins;
  if (joins.value.length !== 1 && joins.value.length !== streams.value.length) {
    return err(`--bootstrap lists ${joins.value.length} URLs for ${streams.value.length} --cloud URLs: give one for all, or one per --cloud URL in the same order`);
  }
  return ok(streams.value.map((stream, i) => ({ streamUrl: stream.origin, bootstrapUrl: (joins.value[i] ?? joins.value[0]!).origin })));
}

/** A comma-separated list of base URLs, each checked, none twice, at most CLOUD_URLS_MAX. */
function parseList(flag: string, text: string, protocol: 'wss:' | 'https:', what: string): Result<readonly URL[], string> {
  const items = text.split(',').map((item) => item.trim());
  if (items.length > CLOUD_URLS_MAX) return err(`${flag} lists ${items.length} URLs; at most ${CLOUD_URLS_MAX}`);
  const urls: URL[] = [];
  for (const item of items) {
    const url = baseUrl(flag, item, protocol, what);
    if (!url.ok) return url;
    if (urls.some((seen) => seen.origin === url.value.origin)) return err(`${flag} lists ${url.value.origin} twice`);
    urls.push(url.value);
  }
  return ok(urls);
}

function defaultBootstrapUrl(stream: URL): Result<string, string> {
  // The URL parser drops a default port: wss://host:443 and wss://host both arrive as ''.
  const port = (stream.port === '' ? WSS_DEFAULT_PORT : Number(stream.port)) + BOOTSTRAP_PORT_OFFSET;
  if (port > PORT_MAX) return err(`the bootstrap port would be ${port} (stream port + ${BOOTSTRAP_PORT_OFFSET}); pass --bootstrap https://<host>:<port>`);
  return ok(`https://${stream.hostname}:${port}`);
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

/** RFC 6455 1001 "going away": the cloud stopping, or this edge dropping a silent cloud (CLOSE_DEAD_PEER). */
const CLOSE_GOING_AWAY = 1001;
/** 1002 "protocol error": closed locally before the link, the cloud never completed the hello. */
const CLOSE_PROTOCOL_ERROR = 1002;
/** 1012 "service restart": the cloud process does not own this node, or lost its Lease (DESIGN.md, scaling). */
const CLOSE_SERVICE_RESTART = 1012;

/** How the last attempt on the current cloud ended, as the edge saw it. */
export type CloudAttemptEnd =
  | { readonly kind: 'connectFailed' }
  | {
      readonly kind: 'sessionEnded';
      readonly code: number;
      readonly reason: string;
      /** True when the edge closed it (a silent cloud, a broken hello), false when the cloud did. */
      readonly local: boolean;
      /** Whether the session got past the hello. */
      readonly linked: boolean;
    };

/** Where the next connect goes: `reason` says why the edge moves on, undefined when it stays. */
export interface NextCloud {
  readonly index: number;
  readonly reason: string | undefined;
}

/**
 * Picks the stream URL for the next attempt: the one that last worked, unless this attempt says
 * this cloud process will not serve the node (no connection, 1012, going away, silent, no hello);
 * then the next in the list, round robin. Other ends (a network drop, a resume, a refusal every
 * process would repeat) stay, since reconnecting to the same process is what resumes cheapest.
 * @example nextCloud(2, 0, { kind: 'connectFailed' }) // { index: 1, reason: 'connection failed' }
 */
export function nextCloud(count: number, current: number, end: CloudAttemptEnd): NextCloud {
  invariant(Number.isInteger(count) && count >= 1 && count <= CLOUD_URLS_MAX, 'the cloud list is non-empty and bounded');
  invariant(Number.isInteger(current) && current >= 0 && current < count, 'the current cloud is in the list');
  const reason = reasonToMoveOn(end);
  if (reason === undefined || count === 1) return { index: current, reason: undefined };
  return { index: (current + 1) % count, reason };
}

function reasonToMoveOn(end: CloudAttemptEnd): string | undefined {
  if (end.kind === 'connectFailed') return 'connection failed';
  const said = end.reason === '' ? 'no reason given' : end.reason;
  if (end.code === CLOSE_SERVICE_RESTART) return `closed ${end.code} (service restart): ${said}`;
  if (end.code === CLOSE_GOING_AWAY) return end.local ? `no answer: ${said}` : `closed ${end.code} (going away): ${said}`;
  if (end.code === CLOSE_PROTOCOL_ERROR && end.local && !end.linked) return `hello failed: ${said}`;
  return undefined;
}

/**
 * The distinct bootstrap URLs in the order a join or renewal tries them: from the pair at `start`
 * (the cloud that last worked) round the list.
 * @example bootstrapOrder([{ streamUrl: 'wss://a:1', bootstrapUrl: 'https://a:3' }, { streamUrl: 'wss://b:1', bootstrapUrl: 'https://b:3' }], 1) // ['https://b:3', 'https://a:3']
 */
export function bootstrapOrder(urls: readonly EdgeUrls[], start: number): readonly string[] {
  invariant(urls.length >= 1 && Number.isInteger(start) && start >= 0 && start < urls.length, 'start names a pair of the list');
  const order: string[] = [];
  for (let i = 0; i < urls.length; i++) {
    const url = urls[(start + i) % urls.length]!.bootstrapUrl;
    if (!order.includes(url)) order.push(url);
  }
  return order;
}

/**
 * Whether a failed join or renewal should try the next bootstrap URL: yes when that address did not
 * answer as this cluster's cloud (unreachable, another CA, a garbled answer, a 5xx); no when the
 * cloud answered with a refusal every process would give (4xx), or the problem is on this side.
 */
export function triesNextBootstrap(error: { readonly kind: string; readonly status?: number }): boolean {
  switch (error.kind) {
    case 'CloudUnreachable':
    case 'CaHashMismatch':
    case 'ResponseMalformed':
      return true;
    case 'Refused':
      return (error.status ?? 0) >= 500;
    default:
      return false;
  }
}
